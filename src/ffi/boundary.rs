//! The edge every `extern "C"` function goes through: catch panics, turn `Err` into a
//! status plus the thread's last-error message, check out-parameters. Functions that
//! return a status use `run`; the others (`wxa_free`, `wxa_version`, names, ...) use
//! `run_or` with the value C gets if a panic is caught (rustls-ffi's PanicOrDefault).

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::status::wxa_status;
use crate::error::{Error, Status};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

const PANIC_MESSAGE: &str = "internal error: a panic was caught at the C boundary (a bug in webex-auth)";

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

pub fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

#[cfg(test)]
thread_local! {
    /// Tests set this to make the next boundary crossing on this thread panic inside.
    pub static PANIC_INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn test_hook() {
    #[cfg(test)]
    if PANIC_INSIDE.with(|p| p.replace(false)) {
        panic!("test hook: a panic inside an export");
    }
}

/// Runs `f`, mapping its outcome to a status. A panic is `WXA_ERR_INTERNAL`.
pub fn run(f: impl FnOnce() -> Result<(), Error>) -> wxa_status {
    match catch_unwind(AssertUnwindSafe(|| {
        test_hook();
        f()
    })) {
        Ok(Ok(())) => Status::Ok.code(),
        Ok(Err(e)) => {
            set_last_error(e.message());
            e.status().code()
        }
        Err(_) => {
            set_last_error(PANIC_MESSAGE);
            Status::Internal.code()
        }
    }
}

/// Runs `f` for an export that returns no status; a caught panic returns `default`
/// (and leaves the panic message in `wxa_last_error`).
pub fn run_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| {
        test_hook();
        f()
    })) {
        Ok(v) => v,
        Err(_) => {
            set_last_error(PANIC_MESSAGE);
            default
        }
    }
}

/// An out-parameter, checked for NULL before anything else happens.
pub fn out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller passes NULL or a pointer to writable storage for a T (docs/C-API.md).
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid(format!("`{name}` is NULL")))
}

/// An optional out-parameter: NULL means "not wanted".
pub fn opt_out<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: the caller passes NULL or a pointer to writable storage for a T (docs/C-API.md).
    unsafe { p.as_mut() }
}
