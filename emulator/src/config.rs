//! What the emulator is configured with: registered clients, lifetimes, guest issuer.

use base64::Engine as _;
use serde::Serialize;

/// A registered integration. `client_secret: None` makes it a public client (PKCE required).
#[derive(Clone, Debug, Serialize)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl ClientRegistration {
    pub fn is_public(&self) -> bool {
        self.client_secret.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub clients: Vec<ClientRegistration>,
    pub access_token_ttl_s: u64,
    pub refresh_token_ttl_s: u64,
    pub device_expires_in_s: u64,
    /// `None` omits `interval` from the device-authorize answer, as standard servers may.
    pub device_interval_s: Option<u64>,
    pub guest_issuer: String,
    pub guest_secret_b64: String,
    pub guest_token_ttl_s: u64,
    /// Third `_`-separated segment of issued authorization codes (Webex's preauth hint).
    pub org_id: String,
}

pub const DEFAULT_GUEST_SECRET: &[u8] = b"emulator-guest-secret-0123456789";

pub fn default_redirect_uris() -> Vec<String> {
    vec!["http://127.0.0.1/callback".into(), "http://localhost/callback".into()]
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            clients: vec![
                ClientRegistration {
                    client_id: "test-client".into(),
                    client_secret: Some("test-secret".into()),
                    redirect_uris: default_redirect_uris(),
                },
                ClientRegistration {
                    client_id: "public-client".into(),
                    client_secret: None,
                    redirect_uris: default_redirect_uris(),
                },
            ],
            access_token_ttl_s: 3600,
            refresh_token_ttl_s: 5_184_000,
            device_expires_in_s: 300,
            device_interval_s: Some(5),
            guest_issuer: "guest-issuer-id".into(),
            guest_secret_b64: base64::engine::general_purpose::STANDARD.encode(DEFAULT_GUEST_SECRET),
            guest_token_ttl_s: 3600,
            org_id: "emulator-org-0001".into(),
        }
    }
}

impl EmulatorConfig {
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientRegistration> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}
