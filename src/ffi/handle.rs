//! The client handle and the C event callback. A handle is a `Box` owning the engine's
//! `Client`; engine tasks and waiters hold their own references to the client's state,
//! never the raw pointer.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use super::status::wxa_event_type;
use crate::client::{Client, EventSink, EventType};
use crate::error::Error;

/// An operation id: per client, starts at 1, never reused; 0 is never an id.
pub type wxa_op = u64;

/// The event callback: `payload_json` is valid only during the call. Called from a
/// library thread (not always the same one), never two at once for one client, in
/// order. It may call any `wxa_` function except `wxa_wait` on its own client
/// (refused) — `wxa_free` on its own client is allowed and ends all delivery.
pub type wxa_event_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, event_type: wxa_event_type, op: wxa_op, payload_json: *const c_char),
>;

/// An opaque Webex OAuth client. Create with `wxa_init`, destroy with `wxa_free`.
pub struct wxa_client {
    pub(super) client: Client,
}

/// The host's `user_data`, which the host promises may be used from library threads.
struct UserData(*mut c_void);
// SAFETY: docs/C-API.md documents that callbacks run on library threads with this pointer;
// the library only passes it back, never dereferences it.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// The payload C receives when an event's JSON cannot become a C string (it held a NUL
/// byte): the event is still delivered, and says why its payload is missing.
fn unrepresentable(kind: EventType, op: u64) -> CString {
    let text = format!(
        r#"{{"type":"{}","op":{op},"payload_error":"the payload contained a NUL byte and cannot be passed to C"}}"#,
        kind.name()
    );
    CString::new(text).unwrap_or_default()
}

pub(super) fn sink(on_event: wxa_event_fn, user_data: *mut c_void) -> Option<EventSink> {
    let f = on_event?;
    let ud = UserData(user_data);
    Some(Arc::new(move |kind: EventType, op: u64, payload: &str| {
        let c = CString::new(payload).unwrap_or_else(|_| unrepresentable(kind, op));
        let ud = &ud;
        // SAFETY: `f` is the host's callback with the documented signature; `c` lives
        // for the duration of the call as promised.
        unsafe { f(ud.0, kind.code(), op, c.as_ptr()) }
        // The payload may carry a token: wipe this copy once the host is done with it.
        zeroize::Zeroize::zeroize(&mut c.into_bytes_with_nul());
    }))
}

/// The shape of every export that starts an operation: check `out_op` first (a NULL
/// out-parameter is refused whatever else is wrong), borrow the client, start the
/// operation (which checks its own arguments), write its id.
pub(super) fn start_op(
    client: *mut wxa_client,
    out_op: *mut wxa_op,
    start: impl FnOnce(&Client) -> Result<crate::client::OpId, Error>,
) -> super::status::wxa_status {
    super::boundary::run(|| {
        let out_op = super::boundary::out(out_op, "out_op")?;
        *out_op = start(client_ref(client)?)?;
        Ok(())
    })
}

/// Borrows the client behind a handle; NULL is `WXA_ERR_INVALID_ARGUMENT`.
pub(super) fn client<'a>(c: *mut wxa_client) -> Result<&'a Client, Error> {
    client_ref(c)
}

fn client_ref<'a>(c: *mut wxa_client) -> Result<&'a Client, Error> {
    // SAFETY: the caller passes NULL or a handle from `wxa_init` not yet freed (docs/C-API.md).
    unsafe { c.as_ref() }.map(|h| &h.client).ok_or_else(|| Error::invalid("`client` is NULL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_with_a_nul_is_reported_not_dropped() {
        let c = unrepresentable(EventType::Done, 7);
        let v: serde_json::Value = serde_json::from_str(c.to_str().unwrap()).unwrap();
        assert_eq!(v["type"], "done");
        assert_eq!(v["op"], 7);
        assert!(v["payload_error"].as_str().unwrap().contains("NUL"));
    }
}
