//! webex-auth: the Webex OAuth 2.0 authorization engine with a C ABI.
//!
//! Layers, each calling only the one below: `ffi` (the C ABI, the only `unsafe`) ->
//! `client` (the engine) -> `transport` (HTTP) -> `protocol` (pure decisions).
//! Rust users take the `Client` API directly; C, Python and Node go through `ffi`.

#![deny(unsafe_code)]

pub mod client;
mod codes;
mod error;
// The C ABI: the only module allowed raw pointers and `unsafe` (each use says why).
#[allow(unsafe_code)]
pub mod ffi;
pub mod protocol;
mod qr;
mod secret;
pub mod store;
mod transport;

pub use client::{Client, EventSink, EventType, OpId};
pub use codes::Status;
pub use error::{Error, ServerError};
pub use qr::qr_code;
pub use secret::Secret;

/// The library version, e.g. `"1.0.0"`.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The C ABI version: the major version (a new major is the only release that may break
/// the ABI). The header's `WXA_ABI_VERSION` is generated from the same number.
pub const ABI_VERSION: u32 = parse_u32(env!("CARGO_PKG_VERSION_MAJOR"));

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// Creates a guest-issuer JWT (HS256) from `wxa_create_jwt` options. No network.
pub fn create_jwt(options_json: &str) -> Result<String, Error> {
    let now_s =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    protocol::jwt::create(options_json, now_s, || uuid::Uuid::new_v4().to_string())
}
