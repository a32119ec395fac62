//! What the emulator is configured with: registered clients, lifetimes, guest issuer,
//! and the parsing of the command line's `--client` and `--guest-issuer` values.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::client_auth::decode_base64_lenient;

/// When `authorize` (and the device verification link) ask the person instead of
/// consenting at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Never ask: `authorize` redirects with a code, the verification link approves.
    Auto,
    /// Always show the consent page and the verification form.
    Page,
    /// Show the pages to browsers (`Accept: text/html`), consent at once for API
    /// clients. A person sees the pages; tests that fetch the URL get the redirect.
    #[default]
    Browser,
}

impl Consent {
    pub fn from_name(name: &str) -> Option<Consent> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

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

    /// Whether `given` is one of the registered redirect URIs. RFC 8252 §7.3: a
    /// registered loopback IP redirect (`http://127.0.0.1/...`, `http://[::1]/...`)
    /// matches any port, so a native app can listen on whatever port is free.
    pub fn allows_redirect(&self, given: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == given || loopback_any_port(r, given))
    }
}

fn loopback_any_port(registered: &str, given: &str) -> bool {
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else { return false };
    let loopback_ip = matches!(r.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(r.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    loopback_ip
        && r.scheme() == "http"
        && g.scheme() == "http"
        && r.host() == g.host()
        && r.path() == g.path()
        && r.query() == g.query()
        && g.fragment().is_none()
}

/// A Service App: its tokens come from `applications/{id}/token` (for an org whose
/// admin authorized it) and refresh at the token endpoint with its id and secret.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceApp {
    pub client_id: String,
    pub client_secret: String,
    /// The scopes its tokens carry.
    pub scope: String,
    /// Whether a Full Admin of the emulator's org authorized it (Control Hub).
    pub authorized: bool,
}

impl ServiceApp {
    pub fn new(client_id: &str, client_secret: &str) -> ServiceApp {
        ServiceApp {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            scope: DEFAULT_SERVICE_APP_SCOPE.to_string(),
            authorized: true,
        }
    }
}

pub const DEFAULT_SERVICE_APP_SCOPE: &str = "spark:all spark:people_read guest-issuer:write guest-issuer:read";

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
    /// Third `_`-separated segment of issued authorization codes and tokens (Webex's
    /// preauth hint), `realm` of guest tokens. Never contains `_`: the SDK splits on it.
    pub org_id: String,
    pub consent: Consent,
    pub service_apps: Vec<ServiceApp>,
    /// The id_token `iss`; `None`: `BASE/idb` (`BASE/fedramp/idb` on FedRAMP), shaped
    /// like Webex's `https://idbroker.webex.com/idb`.
    pub oidc_issuer: Option<String>,
    /// Claims laid over every id_token (`null` removes one): bad tokens for tests.
    pub id_token_claims: Option<serde_json::Value>,
    /// `Cache-Control: max-age` of the JWKS.
    pub jwks_max_age_s: u64,
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
            consent: Consent::default(),
            service_apps: vec![ServiceApp::new("service-app", "service-app-secret")],
            oidc_issuer: None,
            id_token_claims: None,
            jwks_max_age_s: crate::oidc::DEFAULT_JWKS_MAX_AGE_S,
        }
    }
}

impl EmulatorConfig {
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientRegistration> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub(crate) fn service_app(&self, client_id: &str) -> Option<&ServiceApp> {
        self.service_apps.iter().find(|a| a.client_id == client_id)
    }

    /// Who may authenticate at the token endpoint: the clients, and the Service Apps
    /// (to refresh their tokens), as confidential clients without redirect URIs.
    pub(crate) fn token_clients(&self) -> Vec<ClientRegistration> {
        let apps = self.service_apps.iter().map(|a| ClientRegistration {
            client_id: a.client_id.clone(),
            client_secret: Some(a.client_secret.clone()),
            redirect_uris: vec![],
        });
        self.clients.iter().cloned().chain(apps).collect()
    }

    /// Adds a Service App, or replaces the one with the same id.
    pub fn register_service_app(&mut self, app: ServiceApp) {
        self.service_apps.retain(|a| a.client_id != app.client_id);
        self.service_apps.push(app);
    }

    /// Adds a registration, or merges it into the one with the same id (one more
    /// redirect URI). Errs when the same id comes with another secret.
    pub fn register_client(&mut self, client: ClientRegistration) -> Result<(), String> {
        match self.clients.iter_mut().find(|c| c.client_id == client.client_id) {
            Some(existing) if existing.client_secret != client.client_secret => {
                Err(format!("client {:?} is registered twice with different secrets", client.client_id))
            }
            Some(existing) => {
                for uri in client.redirect_uris {
                    if !existing.redirect_uris.contains(&uri) {
                        existing.redirect_uris.push(uri);
                    }
                }
                Ok(())
            }
            None => {
                self.clients.push(client);
                Ok(())
            }
        }
    }
}

/// `ID:SECRET:REDIRECT`, split at the first two colons (a redirect URI has colons of
/// its own). An empty SECRET registers a public client, an empty REDIRECT a client
/// without one (client credentials only).
pub fn parse_client_spec(spec: &str) -> Result<ClientRegistration, String> {
    let mut parts = spec.splitn(3, ':');
    let (Some(id), Some(secret), Some(redirect)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("--client {spec:?}: expected ID:SECRET:REDIRECT (SECRET may be empty)"));
    };
    if id.is_empty() {
        return Err(format!("--client {spec:?}: the client id is empty"));
    }
    if !redirect.is_empty() {
        url::Url::parse(redirect).map_err(|e| format!("--client {id}: redirect {redirect:?} is not a URL: {e}"))?;
    }
    Ok(ClientRegistration {
        client_id: id.to_string(),
        client_secret: (!secret.is_empty()).then(|| secret.to_string()),
        redirect_uris: if redirect.is_empty() { vec![] } else { vec![redirect.to_string()] },
    })
}

/// `ID:SECRET` (split at the first colon): a Service App, authorized in the org.
pub fn parse_service_app_spec(spec: &str) -> Result<ServiceApp, String> {
    match spec.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(ServiceApp::new(id, secret)),
        _ => Err(format!("--service-app {spec:?}: expected ID:SECRET")),
    }
}

/// The shortest guest secret the engine accepts: an HS256 key of 256 bits (RFC 7518 §3.2).
pub const MIN_GUEST_SECRET_BYTES: usize = 32;

/// A guest issuer secret must be base64 (either alphabet) of at least 32 bytes.
pub fn check_guest_secret(secret_b64: &str) -> Result<(), String> {
    match decode_base64_lenient(secret_b64) {
        None => Err("the guest secret is not base64".into()),
        Some(key) if key.len() < MIN_GUEST_SECRET_BYTES => Err(format!(
            "the guest secret decodes to {} bytes; HS256 needs at least {MIN_GUEST_SECRET_BYTES}",
            key.len()
        )),
        Some(_) => Ok(()),
    }
}

/// `ID:BASE64SECRET`, split at the first colon.
pub fn parse_guest_issuer_spec(spec: &str) -> Result<(String, String), String> {
    let (id, secret) = spec.split_once(':').ok_or_else(|| "--guest-issuer: expected ID:BASE64SECRET".to_string())?;
    if id.is_empty() {
        return Err("--guest-issuer: the issuer id is empty".into());
    }
    check_guest_secret(secret).map_err(|why| format!("--guest-issuer {id}: {why}"))?;
    Ok((id.to_string(), secret.to_string()))
}

/// Org ids travel as the third `_` segment of codes and tokens.
pub fn check_org_id(org_id: &str) -> Result<(), String> {
    if org_id.is_empty() || org_id.contains('_') {
        Err(format!("org id {org_id:?} must be non-empty and contain no '_' (the SDK splits tokens on it)"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_spec_splits_at_the_first_two_colons() {
        let c = parse_client_spec("app:s3cret:http://127.0.0.1:8080/cb?x=1").unwrap();
        assert_eq!(c.client_id, "app");
        assert_eq!(c.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.redirect_uris, ["http://127.0.0.1:8080/cb?x=1"]);
        let public = parse_client_spec("spa::http://localhost:3000/").unwrap();
        assert!(public.is_public());
        assert!(parse_client_spec("svc:secret:").unwrap().redirect_uris.is_empty());
        assert!(parse_client_spec("only-id").is_err());
        assert!(parse_client_spec(":s:http://x/").is_err());
        assert!(parse_client_spec("a:s:not a url").is_err());
    }

    #[test]
    fn register_merges_redirects() {
        let mut config = EmulatorConfig::default();
        config.register_client(parse_client_spec("test-client:test-secret:http://127.0.0.1:9/cb").unwrap()).unwrap();
        let client = config.client("test-client").unwrap();
        assert_eq!(client.redirect_uris.len(), 3);
        assert!(config.register_client(parse_client_spec("test-client:other:http://x/").unwrap()).is_err());
    }

    #[test]
    fn guest_secrets_need_32_bytes() {
        let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
        assert!(parse_guest_issuer_spec(&format!("iss:{}", b64(32))).is_ok());
        assert!(parse_guest_issuer_spec(&format!("iss:{}", b64(31))).unwrap_err().contains("31 bytes"));
        assert!(parse_guest_issuer_spec("iss:!!!").is_err());
        assert!(parse_guest_issuer_spec("no-colon").is_err());
        let default = EmulatorConfig::default().guest_secret_b64;
        assert!(check_guest_secret(&default).is_ok());
    }

    #[test]
    fn org_ids_have_no_underscore() {
        assert!(check_org_id("emulator-org-0001").is_ok());
        assert!(check_org_id("a_b").is_err());
        assert!(check_org_id("").is_err());
    }
}
