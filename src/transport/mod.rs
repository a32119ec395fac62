//! HTTP for the engine: one shared reqwest client (one pool), form/JSON POSTs with a
//! per-attempt deadline, bounded retries with backoff and `Retry-After`, a 1 MiB body
//! cap, no redirects, and the classification of every answer into a result or an `Error`.
#![forbid(unsafe_code)]

pub mod classify;
pub mod http;
mod retry;

pub use http::{ClientAuth, Http, ProxySetting, RawResponse, Request, RequestBody, TransportSettings, attempt, pools};
pub use retry::{Policy, execute};
