//! The Node addon: a thin `#[napi]` class over `webex_auth::Client`. It starts operations
//! and returns their ids; results and flow events reach JS through one thread-safe
//! function per client. Promises, error classes and the EventEmitter live in `index.js`.
//!
//! Threading: the engine calls the event sink on a library thread; the sink queues the
//! payload on the thread-safe function without blocking (the queue is unbounded), so
//! `close()` on the JS thread can wait for the engine's callbacks to drain without ever
//! waiting for the JS thread itself. The thread-safe function is created unref'd (it
//! does not keep the event loop alive); `index.js` refs it while operations are pending.
//!
//! Errors: an engine error is thrown as a JS `Error` whose message is
//! `WXA_ERROR_PREFIX` + the failure JSON of PAYLOADS.md; `index.js` turns it into a
//! `WebexAuthError` subclass.

use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;

use webex_auth::{EventSink, EventType, Status as WxaStatus};

/// Marks a thrown message as the engine's failure JSON (see `index.js`).
const WXA_ERROR_PREFIX: &str = "\u{1}wxa:";

/// `(payload JSON)` -> JS, not callee-handled (no error-first argument), weak (created
/// unref'd: an idle client never keeps the event loop alive).
type EventFn = ThreadsafeFunction<String, Unknown<'static>, String, napi::Status, false, true>;

fn wxa_err(e: webex_auth::Error) -> napi::Error {
    let json = Value::Object(e.to_json_fields()).to_string();
    napi::Error::new(napi::Status::GenericFailure, format!("{WXA_ERROR_PREFIX}{json}"))
}

fn to_js_op(op: u64) -> i64 {
    // Operation ids count up from 1 per client; they stay far below 2^53.
    op as i64
}

fn from_js_op(op: i64) -> Result<u64> {
    if op <= 0 {
        return Err(wxa_err(webex_auth::Error::new(
            WxaStatus::UnknownOperation,
            format!("operation {op} is not an id"),
        )));
    }
    Ok(op as u64)
}

/// What `handleRedirect` starts: the operation and the sanitized URL.
#[napi(object)]
pub struct RedirectStart {
    pub op: i64,
    pub clean_url: String,
}

/// The event channel: `None` once the client is closed (the thread-safe function is
/// released then, so a closed client holds no libuv handle).
#[derive(Default)]
struct Events {
    tsfn: Option<EventFn>,
    /// The handle is currently ref'd (keeps the event loop alive).
    referred: bool,
}

#[napi(js_name = "NativeClient")]
pub struct NativeClient {
    client: webex_auth::Client,
    events: Arc<Mutex<Events>>,
}

fn lock(events: &Mutex<Events>) -> MutexGuard<'_, Events> {
    events.lock().unwrap_or_else(|p| p.into_inner())
}

#[napi]
impl NativeClient {
    /// `config_json`: the engine's JSON config. `on_event(payloadJson)` receives every
    /// event on the JS thread (the payload carries `type` and `op`).
    #[napi(constructor)]
    pub fn new(config_json: String, on_event: EventFn) -> Result<Self> {
        let events = Arc::new(Mutex::new(Events { tsfn: Some(on_event), referred: false }));
        let slot = Arc::clone(&events);
        let sink: EventSink = Arc::new(move |_kind: EventType, _op: u64, payload: &str| {
            let ev = lock(&slot);
            if let Some(f) = ev.tsfn.as_ref() {
                // Non-blocking on an unbounded queue: never waits for the JS thread.
                let _ = f.call(payload.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        let client = webex_auth::Client::new(&config_json, Some(sink)).map_err(wxa_err)?;
        Ok(NativeClient { client, events })
    }

    /// Keeps the event loop alive (`true`, while operations are pending) or not.
    #[napi]
    pub fn set_ref(&self, env: Env, on: bool) -> Result<()> {
        let mut ev = lock(&self.events);
        if ev.referred == on {
            return Ok(());
        }
        if let Some(f) = ev.tsfn.as_mut() {
            // napi's own (deprecated in favour of clone-counting, which cannot express
            // "stop keeping the loop alive") wrappers: no unsafe outside the core's ffi.
            #[allow(deprecated)]
            if on {
                f.refer(&env)?
            } else {
                f.unref(&env)?
            }
            ev.referred = on;
        }
        Ok(())
    }

    #[napi]
    pub fn initiate_login(&self, options_json: Option<String>) -> Result<String> {
        self.client.initiate_login(options_json.as_deref().unwrap_or("")).map_err(wxa_err)
    }

    #[napi]
    pub fn handle_redirect(&self, url: String) -> Result<RedirectStart> {
        let (op, clean_url) = self.client.handle_redirect(&url).map_err(wxa_err)?;
        Ok(RedirectStart { op: to_js_op(op), clean_url })
    }

    #[napi]
    pub fn exchange_code(&self, code: String, verifier: Option<String>) -> Result<i64> {
        self.client.exchange_code(&code, verifier.as_deref()).map(to_js_op).map_err(wxa_err)
    }

    #[napi]
    pub fn refresh(&self) -> Result<i64> {
        self.client.refresh().map(to_js_op).map_err(wxa_err)
    }

    #[napi]
    pub fn get_valid_token(&self, min_valid_s: u32) -> Result<i64> {
        self.client.get_valid_token(min_valid_s).map(to_js_op).map_err(wxa_err)
    }

    #[napi]
    pub fn client_credentials(&self) -> Result<i64> {
        self.client.client_credentials().map(to_js_op).map_err(wxa_err)
    }

    /// The token JSON, or `null` when the client has none.
    #[napi]
    pub fn get_token(&self) -> Result<Option<String>> {
        match self.client.get_token() {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.status() == WxaStatus::NotAuthorized => Ok(None),
            Err(e) => Err(wxa_err(e)),
        }
    }

    #[napi]
    pub fn set_token(&self, token_json: String) -> Result<()> {
        self.client.set_token(&token_json).map_err(wxa_err)
    }

    #[napi]
    pub fn logout(&self) -> Result<i64> {
        self.client.logout().map(to_js_op).map_err(wxa_err)
    }

    #[napi]
    pub fn login_with_jwt(&self, jwt: String) -> Result<i64> {
        self.client.login_with_jwt(&jwt).map(to_js_op).map_err(wxa_err)
    }

    #[napi]
    pub fn start_device_login(&self) -> Result<i64> {
        self.client.start_device_login().map(to_js_op).map_err(wxa_err)
    }

    #[napi]
    pub fn cancel(&self, op: i64) -> Result<()> {
        self.client.cancel(from_js_op(op)?).map_err(wxa_err)
    }

    /// Cancels everything and returns once no event callback runs or will run; the
    /// `done` events of the canceled operations are queued to JS before it returns.
    /// Then releases the thread-safe function. Idempotent.
    #[napi]
    pub fn close(&self) {
        self.client.close();
        let tsfn = {
            let mut ev = lock(&self.events);
            ev.referred = false;
            ev.tsfn.take()
        };
        // Released outside the lock; payloads already queued are still handed to JS,
        // which drops them (its client is closed).
        drop(tsfn);
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// `wxa_create_jwt`: options JSON (C names or the Webex SDK's) -> compact HS256 JWS.
#[napi]
pub fn create_jwt(options_json: String) -> Result<String> {
    webex_auth::create_jwt(&options_json).map_err(wxa_err)
}

/// `wxa_qr_code`: `format` is `"utf8"` or `"svg"`.
#[napi]
pub fn qr_code(text: String, format: String) -> Result<String> {
    webex_auth::qr_code(&text, &format).map_err(wxa_err)
}

/// The engine's version, e.g. `"0.1.0"`.
#[napi]
pub fn version() -> String {
    webex_auth::version().to_owned()
}
