//! The token answer every grant shares (authorization code, refresh, client
//! credentials, device), and the grant type names the handlers dispatch on.

use serde_json::{Value, json};

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The identity broker's own grant that narrows a token's scope (the SDK's `downscope`).
pub(crate) const SCOPE_REDUCTION_GRANT: &str = "urn:cisco:oauth:grant-type:scope-reduction";
pub(crate) const DEFAULT_SCOPE: &str = "spark:all";

/// What a grant handed out, before it becomes JSON.
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh: Option<(String, u64)>,
    pub scope: String,
}

impl Issued {
    /// Webex's token answer: RFC 6749 §5.1 plus `refresh_token_expires_in`.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        });
        if let Some((refresh_token, refresh_expires_in)) = &self.refresh {
            body["refresh_token"] = json!(refresh_token);
            body["refresh_token_expires_in"] = json!(refresh_expires_in);
        }
        body
    }
}
