//! webex-auth: the Webex OAuth 2.0 authorization engine with a C ABI.
//!
//! Layers, each calling only the one below: `ffi` (the C ABI, the only `unsafe`) ->
//! `client` (the engine) -> `transport` (HTTP) -> `protocol` (pure decisions).
//! Rust users take the `Client` API directly; C, Python and Node go through `ffi`.

pub mod client;
mod error;
pub mod ffi;
pub mod protocol;
mod qr;
mod secret;
pub mod store;
mod transport;

pub use client::{Client, EventSink, EventType, OpId};
pub use error::{Error, ServerError, Status};
pub use qr::qr_code;
pub use secret::Secret;

/// The library version, e.g. `"0.1.0"`.
pub fn version() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), "\0").trim_end_matches('\0')
}

/// Creates a guest-issuer JWT (HS256) from `wxa_create_jwt` options. No network.
pub fn create_jwt(options_json: &str) -> Result<String, Error> {
    let (identity, expires_in) = protocol::jwt::parse_options(options_json)?;
    let now_s =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    identity.sign(now_s, expires_in, &uuid::Uuid::new_v4().to_string())
}
