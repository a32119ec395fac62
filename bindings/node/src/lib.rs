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
//! Errors: an engine error is thrown as a JS `Error` made here, carrying the fields
//! every binding's errors have (`status`, `code`, `error`, `errorDescription`,
//! `httpStatus`, `trackingId`); `index.js` gives it its `WebexAuthError` subclass.
//! Status and event names are the engine's (`Status::ALL`, `EventType::ALL`).

use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use webex_auth::{EventSink, EventType, Status as WxaStatus};

/// `(payload JSON)` -> JS, not callee-handled (no error-first argument), weak (created
/// unref'd: an idle client never keeps the event loop alive).
type EventFn = ThreadsafeFunction<String, Unknown<'static>, String, napi::Status, false, true>;

/// The JS `Error` for an engine error: the message, and the fields as properties
/// (`null` when the server did not tell them). Thrown as it is by napi.
fn wxa_err(env: &Env, e: webex_auth::Error) -> napi::Error {
    let build = || -> Result<napi::Error> {
        let mut obj = env.create_error(napi::Error::from_reason(e.message()))?;
        let server = e.server();
        obj.set("status", e.status().name())?;
        obj.set("code", e.status().code())?;
        obj.set("error", server.error.as_deref())?;
        obj.set("errorDescription", server.error_description.as_deref())?;
        obj.set("httpStatus", server.http_status.map(u32::from))?;
        obj.set("trackingId", server.tracking_id.as_deref())?;
        Ok(napi::Error::from(obj.to_unknown()))
    };
    // Building the object fails only when the JS engine is failing itself.
    build().unwrap_or_else(|fail| fail)
}

/// `.or_throw(&env)`: an engine result as a napi result that throws the engine's error.
trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> Result<T>;
}

impl<T> OrThrow<T> for std::result::Result<T, webex_auth::Error> {
    fn or_throw(self, env: &Env) -> Result<T> {
        self.map_err(|e| wxa_err(env, e))
    }
}

fn to_js_op(op: u64) -> i64 {
    // Operation ids count up from 1 per client; they stay far below 2^53.
    op as i64
}

fn from_js_op(env: &Env, op: i64) -> Result<u64> {
    if op <= 0 {
        let e = webex_auth::Error::new(WxaStatus::UnknownOperation, format!("operation {op} is not an id"));
        return Err(wxa_err(env, e));
    }
    Ok(op as u64)
}

/// A number of the C API and its name.
#[napi(object)]
pub struct Named {
    pub code: i32,
    pub name: String,
}

/// What `handleRedirect` starts: the operation and the sanitized URL.
#[napi(object)]
pub struct RedirectStart {
    pub op: i64,
    pub clean_url: String,
}

/// What `startLoopbackLogin` starts: the authorize URL to open and the operation.
#[napi(object)]
pub struct LoopbackStart {
    pub op: i64,
    pub url: String,
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
    pub fn new(env: Env, config_json: String, on_event: EventFn) -> Result<Self> {
        let events = Arc::new(Mutex::new(Events { tsfn: Some(on_event), referred: false }));
        let slot = Arc::clone(&events);
        let sink: EventSink = Arc::new(move |_kind: EventType, _op: u64, payload: &str| {
            let ev = lock(&slot);
            if let Some(f) = ev.tsfn.as_ref() {
                // Non-blocking on an unbounded queue: never waits for the JS thread.
                let _ = f.call(payload.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        let client = webex_auth::Client::new(&config_json, Some(sink)).or_throw(&env)?;
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

    /// `options_json`: the login options, or none (`{}`: JSON is strict, one value).
    #[napi]
    pub fn initiate_login(&self, env: Env, options_json: Option<String>) -> Result<String> {
        self.client.initiate_login(options_json.as_deref().unwrap_or("{}")).or_throw(&env)
    }

    #[napi]
    pub fn handle_redirect(&self, env: Env, url: String) -> Result<RedirectStart> {
        let (op, clean_url) = self.client.handle_redirect(&url).or_throw(&env)?;
        Ok(RedirectStart { op: to_js_op(op), clean_url })
    }

    #[napi]
    pub fn exchange_code(&self, env: Env, code: String, code_verifier: Option<String>) -> Result<i64> {
        self.client.exchange_code(&code, code_verifier.as_deref()).map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn refresh(&self, env: Env) -> Result<i64> {
        self.client.refresh().map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn get_valid_token(&self, env: Env, min_valid_s: u32) -> Result<i64> {
        self.client.get_valid_token(min_valid_s).map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn client_credentials(&self, env: Env) -> Result<i64> {
        self.client.client_credentials().map(to_js_op).or_throw(&env)
    }

    /// The token JSON, or `null` when the client has none.
    #[napi]
    pub fn get_token(&self, env: Env) -> Result<Option<String>> {
        match self.client.get_token() {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.status() == WxaStatus::NotAuthorized => Ok(None),
            Err(e) => Err(wxa_err(&env, e)),
        }
    }

    #[napi]
    pub fn set_token(&self, env: Env, token_json: String) -> Result<()> {
        self.client.set_token(&token_json).or_throw(&env)
    }

    #[napi]
    pub fn logout(&self, env: Env) -> Result<i64> {
        self.client.logout().map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn login_with_jwt(&self, env: Env, jwt: String) -> Result<i64> {
        self.client.login_with_jwt(&jwt).map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn start_device_login(&self, env: Env) -> Result<i64> {
        self.client.start_device_login().map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn token_rejected(&self, env: Env, access_token: String) -> Result<i64> {
        self.client.token_rejected(&access_token).map(to_js_op).or_throw(&env)
    }

    #[napi]
    pub fn whoami(&self, env: Env) -> Result<i64> {
        self.client.whoami().map(to_js_op).or_throw(&env)
    }

    /// `options_json`: `{target_org_id, authorizing_token, application_id?}`, or none
    /// (the engine refuses it, naming what is missing).
    #[napi]
    pub fn service_app_token(&self, env: Env, options_json: Option<String>) -> Result<i64> {
        self.client.service_app_token(options_json.as_deref()).map(to_js_op).or_throw(&env)
    }

    /// `options_json`: `{subject, display_name?}`, or none (refused by the engine).
    #[napi]
    pub fn create_guest(&self, env: Env, options_json: Option<String>) -> Result<i64> {
        self.client.create_guest(options_json.as_deref()).map(to_js_op).or_throw(&env)
    }

    /// `options_json`: `{port, timeout_ms, email, state, scope, prompt, login_hint}`
    /// (all optional), or none.
    #[napi]
    pub fn start_loopback_login(&self, env: Env, options_json: Option<String>) -> Result<LoopbackStart> {
        let (url, op) = self.client.start_loopback_login(options_json.as_deref().unwrap_or("{}")).or_throw(&env)?;
        Ok(LoopbackStart { op: to_js_op(op), url })
    }

    /// The result the engine keeps for an ended operation (what `wxa_wait` returns),
    /// waiting at most `timeout_ms` for it to be published; `null` when it is not kept
    /// (evicted, never issued) or not published in time. For `done` events that cannot
    /// tell the whole result: one whose token was superseded while it was queued, or a
    /// result whose own `type` field the event's `type` hides (`whoami`).
    #[napi]
    pub fn kept_result(&self, op: i64, timeout_ms: u32) -> Option<String> {
        let op = u64::try_from(op).ok().filter(|op| *op > 0)?;
        let wait = std::time::Duration::from_millis(u64::from(timeout_ms));
        match self.client.wait(op, Some(wait)) {
            Ok(Some(text)) => Some(text.as_str().to_owned()),
            _ => None,
        }
    }

    #[napi]
    pub fn cancel(&self, env: Env, op: i64) -> Result<()> {
        self.client.cancel(from_js_op(&env, op)?).or_throw(&env)
    }

    /// Cancels everything and returns once no event callback runs or will run; the
    /// `done` events of the canceled operations are queued to JS before it returns.
    /// Then queues one empty payload, the end marker: the queue is first in, first out,
    /// so when JS receives it every payload of this client has been handed to JS (it is
    /// what "no event after close" can be waited on with). Then releases the
    /// thread-safe function. Idempotent: the marker is sent once.
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
        if let Some(f) = tsfn.as_ref() {
            let _ = f.call(String::new(), ThreadsafeFunctionCallMode::NonBlocking);
        }
        drop(tsfn);
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// `wxa_create_jwt`: options JSON (C names or the Webex SDK's) -> compact HS256 JWS.
#[napi]
pub fn create_jwt(env: Env, options_json: String) -> Result<String> {
    webex_auth::create_jwt(&options_json).or_throw(&env)
}

/// `wxa_qr_code`: `format` is `"utf8"` or `"svg"`.
#[napi]
pub fn qr_code(env: Env, text: String, format: String) -> Result<String> {
    webex_auth::qr_code(&text, &format).or_throw(&env)
}

/// The engine's version, e.g. `"0.1.0"`.
#[napi]
pub fn version() -> String {
    webex_auth::version().to_owned()
}

/// The status names by number (`WXA_OK` = 0, ...): the engine's own table.
#[napi]
pub fn status_names() -> Vec<Named> {
    WxaStatus::ALL.iter().map(|s| Named { code: s.code(), name: s.name().to_owned() }).collect()
}

/// The event names (payload `type`) by number (`done` = 1, ...): the engine's own table.
#[napi]
pub fn event_names() -> Vec<Named> {
    EventType::ALL.iter().map(|e| Named { code: *e as i32, name: e.name().to_owned() }).collect()
}
