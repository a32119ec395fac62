//! The client handle and the C event callback. A handle is a `Box` owning the engine's
//! `Client`; engine tasks hold their own references, never the raw pointer.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use crate::client::{Client, EventSink, EventType};
use crate::error::Error;

/// An operation id: per client, starts at 1, never reused; 0 is never an id.
pub type wxa_op = u64;

/// An event type (C-API.md); numbers never change once released.
pub type wxa_event_type = i32;

pub const WXA_EVENT_DONE: wxa_event_type = 1;
pub const WXA_EVENT_TOKEN_REFRESH: wxa_event_type = 2;
pub const WXA_EVENT_UNAUTHORIZED: wxa_event_type = 3;
pub const WXA_EVENT_AUTH_ERROR: wxa_event_type = 4;
pub const WXA_EVENT_USER_CODE: wxa_event_type = 5;
pub const WXA_EVENT_USER_CODE_FAILURE: wxa_event_type = 6;
pub const WXA_EVENT_AUTHORIZATION_PENDING: wxa_event_type = 7;
pub const WXA_EVENT_AUTHORIZATION_SUCCESS: wxa_event_type = 8;
pub const WXA_EVENT_AUTHORIZATION_FAILURE: wxa_event_type = 9;
pub const WXA_EVENT_POLLING_CANCELED: wxa_event_type = 10;
pub const WXA_EVENT_LOGOUT: wxa_event_type = 11;
pub const WXA_EVENT_JWT_REFRESH: wxa_event_type = 12;

/// The event callback: `payload_json` is valid only during the call. Called from a
/// library thread (not always the same one), never two at once for one client, in
/// order. It may call any `wxa_` function except `wxa_wait` on its own client
/// (refused) — `wxa_free` on its own client is allowed and ends all delivery.
pub type wxa_event_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, event_type: wxa_event_type, op: wxa_op, payload_json: *const c_char),
>;

/// The payload `"type"` of an event number, e.g. `"token:refresh"` for
/// `WXA_EVENT_TOKEN_REFRESH`; `"unknown"` for a number this version does not know.
/// Static storage: never free it. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_event_name(event_type: wxa_event_type) -> *const c_char {
    // Names are static ASCII without NUL; the table is built once.
    static NAMES: std::sync::OnceLock<Vec<CString>> = std::sync::OnceLock::new();
    let names =
        NAMES.get_or_init(|| EventType::ALL.iter().map(|e| CString::new(e.name()).unwrap_or_default()).collect());
    match EventType::from_code(event_type) {
        Some(e) => names[e as usize - 1].as_ptr(),
        None => c"unknown".as_ptr(),
    }
}

/// An opaque Webex OAuth client. Create with `wxa_init`, destroy with `wxa_free`.
pub struct wxa_client {
    pub(super) client: Client,
}

/// The host's `user_data`, which the host promises may be used from library threads.
struct UserData(*mut c_void);
// SAFETY: C-API.md documents that callbacks run on library threads with this pointer;
// the library only passes it back, never dereferences it.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

pub(super) fn sink(on_event: wxa_event_fn, user_data: *mut c_void) -> Option<EventSink> {
    let f = on_event?;
    let ud = UserData(user_data);
    Some(Arc::new(move |kind: EventType, op: u64, payload: &str| {
        let Ok(c) = CString::new(payload) else { return };
        let ud = &ud;
        // SAFETY: `f` is the host's callback with the documented signature; `c` lives
        // for the duration of the call as promised.
        unsafe { f(ud.0, kind as wxa_event_type, op, c.as_ptr()) }
        // The payload may carry a token: wipe this copy once the host is done with it.
        zeroize::Zeroize::zeroize(&mut c.into_bytes_with_nul());
    }))
}

/// Borrows the client behind a handle; NULL is `WXA_ERR_INVALID_ARGUMENT`.
pub(super) fn client<'a>(c: *mut wxa_client) -> Result<&'a Client, Error> {
    // SAFETY: the caller passes NULL or a handle from `wxa_init` not yet freed (C-API.md).
    unsafe { c.as_ref() }.map(|h| &h.client).ok_or_else(|| Error::invalid("`client` is NULL"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn event_names_match_the_payload_types() {
        for e in EventType::ALL {
            let p = wxa_event_name(e as wxa_event_type);
            assert_eq!(unsafe { CStr::from_ptr(p) }.to_str().unwrap(), e.name());
        }
        for bad in [0, 13, -1] {
            assert_eq!(unsafe { CStr::from_ptr(wxa_event_name(bad)) }.to_str().unwrap(), "unknown");
        }
    }
}
