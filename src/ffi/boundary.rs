//! The edge every `extern "C"` function goes through: catch panics, turn `Err` into a
//! status plus the thread's last-error message, check out-parameters.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::status::wxa_status;
use crate::error::{Error, Status};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

pub fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

/// Runs `f`, mapping its outcome to a status. A panic is `WXA_ERR_INTERNAL`.
pub fn run(f: impl FnOnce() -> Result<(), Error>) -> wxa_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Status::Ok.code(),
        Ok(Err(e)) => {
            set_last_error(e.message());
            e.status().code()
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary (a bug in webex-auth)");
            Status::Internal.code()
        }
    }
}

/// An out-parameter, checked for NULL before anything else happens.
pub fn out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller passes NULL or a pointer to writable storage for a T (C-API.md).
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid(format!("`{name}` is NULL")))
}
