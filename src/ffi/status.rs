//! `wxa_status`, the names of statuses and events, versions and the last error. Plain
//! integers with named constants: any number a C caller passes in is safe to look at,
//! which an enum would not be. The constants come from the tables in `codes`.

use std::ffi::c_char;

use super::boundary;
use crate::codes::{EventType, Status};

/// A status code (docs/C-API.md); numbers never change once released.
pub type wxa_status = i32;

/// An event type (docs/C-API.md); numbers never change once released.
pub type wxa_event_type = i32;

pub use crate::codes::event_consts::*;
pub use crate::codes::status_consts::*;

/// The constant's name for `status`, e.g. `"WXA_ERR_OAUTH"`; `"WXA_UNKNOWN_STATUS"` for
/// a number this version does not know. Static storage: never free it. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_status_name(status: wxa_status) -> *const c_char {
    boundary::run_or(c"WXA_UNKNOWN_STATUS".as_ptr(), || match Status::from_code(status) {
        Some(s) => s.name_cstr().as_ptr(),
        None => c"WXA_UNKNOWN_STATUS".as_ptr(),
    })
}

/// The payload `"type"` of an event number, e.g. `"token:refresh"` for
/// `WXA_EVENT_TOKEN_REFRESH`; `"unknown"` for a number this version does not know.
/// Static storage: never free it. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_event_name(event_type: wxa_event_type) -> *const c_char {
    boundary::run_or(c"unknown".as_ptr(), || match EventType::from_code(event_type) {
        Some(e) => e.name_cstr().as_ptr(),
        None => c"unknown".as_ptr(),
    })
}

/// The library version, e.g. `"1.0.0"` (the header's is `WXA_VERSION_STRING`). Static
/// storage: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_version() -> *const c_char {
    const VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the version has a NUL byte"),
        };
    boundary::run_or(VERSION.as_ptr(), || VERSION.as_ptr())
}

/// The ABI version of this library (the header's is `WXA_ABI_VERSION`). Bindings that
/// load the library by name check it before anything else.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_abi_version() -> u32 {
    boundary::run_or(crate::ABI_VERSION, || crate::ABI_VERSION)
}

/// The message of the last failure on the calling thread (like `errno`: meaningful only
/// right after a call returned something other than `WXA_OK`). Valid until the next
/// `wxa_` call on this thread. Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_last_error() -> *const c_char {
    boundary::run_or(c"".as_ptr(), boundary::last_error_ptr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn s(p: *const c_char) -> &'static str {
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    #[test]
    fn names_match_the_rust_side() {
        for st in Status::ALL {
            assert_eq!(s(wxa_status_name(st.code())), st.name());
        }
        assert_eq!(s(wxa_status_name(999)), "WXA_UNKNOWN_STATUS");
        assert_eq!(s(wxa_status_name(-1)), "WXA_UNKNOWN_STATUS");
        for e in EventType::ALL {
            assert_eq!(s(wxa_event_name(e.code())), e.name());
        }
        for bad in [0, 13, -1] {
            assert_eq!(s(wxa_event_name(bad)), "unknown");
        }
        assert_eq!(s(wxa_version()), env!("CARGO_PKG_VERSION"));
        assert_eq!(wxa_abi_version().to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
    }
}
