//! HTTP for the engine: connection pools shared per transport setting (proxy, extra
//! roots; loopback never proxied), requests built from plain values and secrets apart,
//! a per-attempt deadline, bounded retries with backoff and `Retry-After`, a 1 MiB body
//! cap, no redirects, and the classification of every answer into a result or an `Error`.
//! Its modules are private: the engine uses `execute`, `poll_once` and the request builder.
#![forbid(unsafe_code)]

mod classify;
mod http;
mod poll;
mod retry;

pub use http::{ClientAuth, Http, ProxySetting, Request, RequestBody, TransportSettings, pools};
pub use poll::poll_once;
pub use retry::{Policy, execute, execute_cacheable};
