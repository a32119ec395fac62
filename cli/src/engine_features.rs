//! The engine calls the CLI needs that the engine does not have yet, each behind one
//! small function: when the engine gains it, only the body here changes. Until then
//! each says plainly that this build cannot do it (exit code 1).
//!
//! - `whoami`: `Client::whoami()` (GET people/me).
//! - The token store is the engine's `token_store` config key (see `session`).

use serde_json::Value;
use webex_auth::{Client, OpId};

use crate::exit::CliError;
use crate::session::Session;

/// Starts the browser (loopback) login: the authorize URL and the operation that ends
/// with the token.
pub fn start_loopback_login(client: &Client, options: &Value) -> Result<(String, OpId), CliError> {
    Ok(client.start_loopback_login(&options.to_string())?)
}

/// Who the token belongs to: `{"id","emails","display_name","org_id","type"}`.
pub fn whoami(_session: &Session) -> Result<Value, CliError> {
    Err(CliError::other("whoami needs the engine's people/me call, which this build does not have yet"))
}
