//! Pure OAuth decisions: PKCE, state and CSRF, authorize URLs, redirects, token and
//! device responses, server errors, guest JWTs. No I/O and no clock: time and
//! randomness come in as arguments, so every branch is testable exactly.
#![forbid(unsafe_code)]

pub mod authorize;
pub mod device;
pub mod id_token;
pub(crate) mod json;
pub mod jwt;
pub mod oauth_error;
pub mod pkce;
pub mod redirect;
pub mod state;
pub mod token;
pub mod uri;

/// Unix time in milliseconds: the engine's one representation of wall-clock time.
pub type UnixMs = i64;
