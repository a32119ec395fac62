//! `wxa_status` and its names. Plain integers with named constants: any number a C
//! caller passes in is safe to look at, which an enum would not be.

use std::ffi::{CStr, c_char};

use super::boundary;
use crate::error::Status;

/// A status code (C-API.md); numbers never change once released.
pub type wxa_status = i32;

pub const WXA_OK: wxa_status = 0;
pub const WXA_PENDING: wxa_status = 1;
pub const WXA_ERR_INVALID_ARGUMENT: wxa_status = 2;
pub const WXA_ERR_STATE_MISMATCH: wxa_status = 3;
pub const WXA_ERR_OAUTH: wxa_status = 4;
pub const WXA_ERR_HTTP: wxa_status = 5;
pub const WXA_ERR_NETWORK: wxa_status = 6;
pub const WXA_ERR_TIMEOUT: wxa_status = 7;
pub const WXA_ERR_RATE_LIMITED: wxa_status = 8;
pub const WXA_ERR_EXPIRED: wxa_status = 9;
pub const WXA_ERR_CANCELED: wxa_status = 10;
pub const WXA_ERR_NOT_AUTHORIZED: wxa_status = 11;
pub const WXA_ERR_UNKNOWN_OPERATION: wxa_status = 12;
pub const WXA_ERR_INTERNAL: wxa_status = 13;

fn c_name(status: Status) -> &'static CStr {
    match status {
        Status::Ok => c"WXA_OK",
        Status::Pending => c"WXA_PENDING",
        Status::InvalidArgument => c"WXA_ERR_INVALID_ARGUMENT",
        Status::StateMismatch => c"WXA_ERR_STATE_MISMATCH",
        Status::OAuth => c"WXA_ERR_OAUTH",
        Status::Http => c"WXA_ERR_HTTP",
        Status::Network => c"WXA_ERR_NETWORK",
        Status::Timeout => c"WXA_ERR_TIMEOUT",
        Status::RateLimited => c"WXA_ERR_RATE_LIMITED",
        Status::Expired => c"WXA_ERR_EXPIRED",
        Status::Canceled => c"WXA_ERR_CANCELED",
        Status::NotAuthorized => c"WXA_ERR_NOT_AUTHORIZED",
        Status::UnknownOperation => c"WXA_ERR_UNKNOWN_OPERATION",
        Status::Internal => c"WXA_ERR_INTERNAL",
    }
}

/// The constant's name for `status`, e.g. `"WXA_ERR_OAUTH"`; `"WXA_UNKNOWN_STATUS"` for
/// a number this version does not know. Static storage: never free it. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_status_name(status: wxa_status) -> *const c_char {
    match Status::from_code(status) {
        Some(s) => c_name(s).as_ptr(),
        None => c"WXA_UNKNOWN_STATUS".as_ptr(),
    }
}

/// The library version, e.g. `"0.1.0"`. Static storage: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last failure on the calling thread (like `errno`: meaningful only
/// right after a call returned something other than `WXA_OK`). Valid until the next
/// `wxa_` call on this thread. Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_last_error() -> *const c_char {
    boundary::last_error_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_rust_side() {
        for s in Status::ALL {
            let p = wxa_status_name(s.code());
            assert_eq!(unsafe { CStr::from_ptr(p) }.to_str().unwrap(), s.name());
        }
        assert_eq!(unsafe { CStr::from_ptr(wxa_status_name(999)) }.to_str().unwrap(), "WXA_UNKNOWN_STATUS");
        assert_eq!(unsafe { CStr::from_ptr(wxa_status_name(-1)) }.to_str().unwrap(), "WXA_UNKNOWN_STATUS");
    }
}
