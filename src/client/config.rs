//! Client configuration: the JSON keys of docs/PROTOCOL.md, validated once at `wxa_init`.
//! Unknown keys are refused by name; `http://` only for loopback hosts.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use std::sync::Arc;

use crate::error::Error;
use crate::protocol::jwt::GuestIdentity;
use crate::protocol::state::DEFAULT_MAX_PENDING_LOGINS;
use crate::protocol::uri;
use crate::secret::Secret;
use crate::transport::{self, ClientAuth, Http, ProxySetting, TransportSettings};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    webex_api_url: Option<String>,
    idbroker_url: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    device_authorize_url: Option<String>,
    device_token_url: Option<String>,
    jwt_login_url: Option<String>,
    logout_url: Option<String>,
    revoke_url: Option<String>,
    client_auth: Option<String>,
    self_contained_token: Option<bool>,
    timeout_ms: Option<u64>,
    max_retries: Option<u32>,
    refresh_before_expiry_s: Option<u64>,
    login_ttl_s: Option<u64>,
    max_pending_logins: Option<u64>,
    token_store: Option<serde_json::Value>,
    proxy: Option<String>,
    ca_file: Option<String>,
    issuer: Option<String>,
    guest_issuer: Option<String>,
    guest_secret: Option<String>,
    guest_subject: Option<String>,
    guest_display_name: Option<String>,
    guest_expires_in: Option<serde_json::Value>,
    environment: Option<String>,
    jwks_url: Option<String>,
    refresh_keepalive_s: Option<u64>,
}

/// Where Webex runs: the commercial cloud, or Webex for Government (FedRAMP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Commercial,
    Fedramp,
}

impl Environment {
    /// The API base (authorize, token, device, people, guests, Service Apps).
    pub fn api_url(self) -> &'static str {
        match self {
            Environment::Commercial => "https://webexapis.com/v1",
            Environment::Fedramp => "https://api-usgov.webex.com/v1",
        }
    }

    /// The identity broker (logout, JWKS, id_token issuer).
    pub fn idbroker_url(self) -> &'static str {
        match self {
            Environment::Commercial => "https://idbroker.webex.com",
            Environment::Fedramp => "https://idbroker-f.webex.com",
        }
    }

    /// The id_token issuers Webex publishes for this environment (its regional identity
    /// brokers); `issuer` in the config replaces the list.
    pub fn issuers(self) -> &'static [&'static str] {
        match self {
            Environment::Commercial => &[
                "https://idbroker.webex.com/idb",
                "https://idbroker-b-us.webex.com/idb",
                "https://idbroker-eu.webex.com/idb",
                "https://idbroker-ca.webex.com/idb",
                "https://idbroker-sg.webex.com/idb",
                "https://idbroker-in.webex.com/idb",
                "https://idbroker-ae.webex.com/idb",
                "https://idbroker-au.webex.com/idb",
            ],
            Environment::Fedramp => &["https://idbroker-f.webex.com/idb"],
        }
    }

    /// Refuses what Webex for Government does not offer.
    pub fn refuse_guests(self, what: &str) -> Result<(), Error> {
        match self {
            Environment::Fedramp => Err(Error::invalid(format!(
                "{what}: Webex for Government (FedRAMP) does not support guests (neither Guest Issuer JWTs nor Service App guests)"
            ))),
            Environment::Commercial => Ok(()),
        }
    }
}

pub const DEFAULT_WEBEX_API_URL: &str = "https://webexapis.com/v1";
pub const DEFAULT_IDBROKER_URL: &str = "https://idbroker.webex.com";
/// Refresh a token whose refresh token expires within this many seconds (7 days), so an
/// app that runs but rarely calls the API keeps its grant: Webex extends it on use.
pub const DEFAULT_REFRESH_KEEPALIVE_S: u64 = 7 * 24 * 3600;

#[derive(Debug)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    pub device_authorize: Url,
    pub device_token: Url,
    pub jwt_login: Url,
    pub logout: Url,
    pub revoke: Option<Url>,
    /// `GET people/me`.
    pub people_me: Url,
    /// `POST guests/token` (guests of a Service App).
    pub guests_token: Url,
    /// The base of `applications/{id}/token` (Service App tokens).
    pub applications: Url,
    /// The JWKS that verifies id_tokens.
    pub jwks: Url,
    /// The identity broker's base (`idbroker_url`), for the default id_token issuer.
    pub idbroker_base: String,
}

/// Clients with the same endpoint settings share one `Endpoints` (a service with one
/// client per user holds 100,000 identical sets otherwise: eleven URLs each).
static ENDPOINTS: once_cell::sync::Lazy<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Weak<Endpoints>>>,
> = once_cell::sync::Lazy::new(Default::default);

fn interned(key: String, make: impl FnOnce() -> Result<Endpoints, Error>) -> Result<Arc<Endpoints>, Error> {
    let mut cache = ENDPOINTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = cache.get(&key).and_then(std::sync::Weak::upgrade) {
        return Ok(e);
    }
    let e = Arc::new(make()?);
    if cache.len() > 64 {
        cache.retain(|_, w| w.strong_count() > 0);
    }
    cache.insert(key, Arc::downgrade(&e));
    Ok(e)
}

#[derive(Debug)]
pub struct Config {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_uri: Option<String>,
    pub scope: String,
    pub endpoints: Arc<Endpoints>,
    pub auth_in_body: bool,
    pub self_contained_token: bool,
    pub timeout: Duration,
    pub max_retries: u32,
    pub refresh_before_expiry_ms: i64,
    pub login_ttl_ms: i64,
    pub max_pending_logins: usize,
    pub environment: Environment,

    /// Refresh when the refresh token expires within this many ms (0: never).
    pub refresh_keepalive_ms: i64,
    /// Where the token lives between processes (`token_store`), if anywhere.
    pub store: Option<crate::store::StoreConfig>,
    /// The connection pools for this client's proxy and CA settings (shared).
    pub http: Arc<Http>,
    /// How requests authenticate the client (the Basic header computed once).
    pub auth: ClientAuth,
    pub issuer: Option<String>,
    /// Set when the app gave a guest issuer and secret: the engine re-signs by itself.
    pub guest: Option<GuestIdentity>,
    pub guest_expires_in_s: i64,
}

/// https, or http to a loopback host (the emulator and tests). Messages name the key,
/// never the value.
pub fn check_url(key: &str, raw: &str) -> Result<Url, Error> {
    let url = Url::parse(raw).map_err(|e| Error::invalid(format!("config `{key}` is not a URL: {e}")))?;
    if uri::is_secure_or_loopback(&url) {
        return Ok(url);
    }
    Err(match url.scheme() {
        "http" => Error::invalid(format!("config `{key}`: http:// is allowed only for loopback hosts; use https")),
        _ => Error::invalid(format!("config `{key}` must be an https:// URL")),
    })
}

/// `proxy`: a URL (http or https scheme) or `"none"`; absent: the system's settings.
fn proxy_setting(raw: Option<String>) -> Result<ProxySetting, Error> {
    let Some(raw) = raw else { return Ok(ProxySetting::System) };
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(ProxySetting::Direct);
    }
    let secret = Secret::new(raw);
    match Url::parse(secret.expose()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(ProxySetting::Url(secret)),
        _ => Err(Error::invalid("config `proxy` must be an http:// or https:// proxy URL, or \"none\"")),
    }
}

fn read_ca_file(path: Option<&str>) -> Result<Option<Arc<Vec<u8>>>, Error> {
    let Some(path) = path else { return Ok(None) };
    std::fs::read(path)
        .map(|b| Some(Arc::new(b)))
        .map_err(|e| Error::invalid(format!("config `ca_file` cannot be read: {}", e.kind())))
}

fn endpoint(key: &str, explicit: Option<&str>, base: &str, path: &str) -> Result<Url, Error> {
    match explicit {
        Some(u) => check_url(key, u),
        None => check_url(key, &format!("{}{}", base.trim_end_matches('/'), path)),
    }
}

impl Config {
    pub fn from_json(json: &str) -> Result<Config, Error> {
        let mut raw: RawConfig = crate::protocol::json::from_str("config", json)?;
        if raw.client_id.trim().is_empty() {
            return Err(Error::invalid("config `client_id` is empty"));
        }
        let environment = match raw.environment.as_deref() {
            None | Some("commercial") => Environment::Commercial,
            Some("fedramp") => Environment::Fedramp,
            Some(_) => return Err(Error::invalid("config `environment` must be \"commercial\" or \"fedramp\"")),
        };
        // Explicit endpoint keys still win over the environment's.
        let api = raw.webex_api_url.as_deref().unwrap_or(environment.api_url());
        let idb = raw.idbroker_url.as_deref().unwrap_or(environment.idbroker_url());
        check_url("webex_api_url", api)?;
        check_url("idbroker_url", idb)?;
        if raw.guest_issuer.is_some() {
            environment.refuse_guests("config `guest_issuer`")?;
        }
        let key = serde_json::json!([
            api,
            idb,
            raw.authorize_url,
            raw.token_url,
            raw.device_authorize_url,
            raw.device_token_url,
            raw.jwt_login_url,
            raw.logout_url,
            raw.revoke_url,
            raw.jwks_url
        ])
        .to_string();
        let endpoints = interned(key, || {
            Ok(Endpoints {
                authorize: endpoint("authorize_url", raw.authorize_url.as_deref(), api, "/authorize")?,
                token: endpoint("token_url", raw.token_url.as_deref(), api, "/access_token")?,
                device_authorize: endpoint(
                    "device_authorize_url",
                    raw.device_authorize_url.as_deref(),
                    api,
                    "/device/authorize",
                )?,
                device_token: endpoint("device_token_url", raw.device_token_url.as_deref(), api, "/device/token")?,
                jwt_login: endpoint("jwt_login_url", raw.jwt_login_url.as_deref(), api, "/jwt/login")?,
                logout: endpoint("logout_url", raw.logout_url.as_deref(), idb, "/idb/oauth2/v1/logout")?,
                revoke: raw.revoke_url.as_deref().map(|u| check_url("revoke_url", u)).transpose()?,
                people_me: endpoint("webex_api_url", None, api, "/people/me")?,
                guests_token: endpoint("webex_api_url", None, api, "/guests/token")?,
                applications: endpoint("webex_api_url", None, api, "/applications")?,
                jwks: endpoint("jwks_url", raw.jwks_url.as_deref(), idb, "/idb/oauth2/v2/keys/verificationjwk")?,
                idbroker_base: idb.to_owned(),
            })
        })?;

        if let Some(r) = &raw.redirect_uri {
            Url::parse(r).map_err(|e| Error::invalid(format!("config `redirect_uri` is not a URL: {e}")))?;
        }
        let auth_in_body = match raw.client_auth.as_deref() {
            None | Some("basic") => false,
            Some("body") => true,
            Some(_) => return Err(Error::invalid("config `client_auth` must be \"basic\" or \"body\"")),
        };
        let timeout_ms = raw.timeout_ms.unwrap_or(30_000);
        if !(1..=600_000).contains(&timeout_ms) {
            return Err(Error::invalid("config `timeout_ms` must be between 1 and 600000"));
        }
        let max_retries = raw.max_retries.unwrap_or(2);
        if max_retries > 10 {
            return Err(Error::invalid("config `max_retries` must be at most 10"));
        }
        let guest_secret = raw.guest_secret.take().map(zeroize::Zeroizing::new);
        let guest = match (&raw.guest_issuer, &guest_secret) {
            (Some(i), Some(s)) => Some(
                // One guest for the client's life: without a configured subject, every
                // re-signed JWT would otherwise name a new random guest.
                {
                    let uuid = uuid::Uuid::new_v4();
                    let subject = raw.guest_subject.clone().unwrap_or_else(|| format!("guest-user-{uuid}"));
                    let name = raw.guest_display_name.clone().unwrap_or_else(|| format!("Guest User - {uuid}"));
                    GuestIdentity::new(i, s, Some(subject), Some(name))
                }
                .map_err(|e| {
                    let m = e.message().replace("`secret`", "`guest_secret`").replace("`issuer`", "`guest_issuer`");
                    Error::invalid(format!("config {m}"))
                })?,
            ),
            (None, None) => None,
            _ => return Err(Error::invalid("config `guest_issuer` and `guest_secret` go together")),
        };
        let guest_expires_in_s = match &raw.guest_expires_in {
            None => 3600,
            Some(v) => crate::protocol::jwt::parse_expires_in(v).map_err(|_| {
                Error::invalid("config `guest_expires_in` must be a positive number of seconds or a string like \"12h\", at most a year")
            })?,
        };
        let max_pending_logins = raw.max_pending_logins.unwrap_or(DEFAULT_MAX_PENDING_LOGINS as u64);
        if !(1..=1_000_000).contains(&max_pending_logins) {
            return Err(Error::invalid("config `max_pending_logins` must be between 1 and 1000000"));
        }
        let store = raw
            .token_store
            .as_ref()
            .map(|v| {
                crate::store::StoreConfig::from_json_value(v).map(|c| c.with_timeout(Duration::from_millis(timeout_ms)))
            })
            .transpose()?;
        let http = transport::pools(&TransportSettings {
            proxy: proxy_setting(raw.proxy)?,
            extra_roots_pem: read_ca_file(raw.ca_file.as_deref())?,
        })?;
        let scope = raw.scope.unwrap_or_else(|| "spark:all".into());
        let client_secret = raw.client_secret.filter(|s| !s.is_empty()).map(Secret::new);
        let auth = match (&client_secret, auth_in_body) {
            (None, _) => ClientAuth::Public { client_id: raw.client_id.as_str().into() },
            (Some(s), false) => ClientAuth::basic(&raw.client_id, s),
            (Some(s), true) => {
                ClientAuth::Body { client_id: raw.client_id.as_str().into(), secret: Arc::new(s.clone()) }
            }
        };
        Ok(Config {
            client_id: raw.client_id,
            client_secret,
            redirect_uri: raw.redirect_uri,
            scope,
            endpoints,
            auth_in_body,
            self_contained_token: raw.self_contained_token.unwrap_or(true),
            timeout: Duration::from_millis(timeout_ms),
            max_retries,
            refresh_before_expiry_ms: raw.refresh_before_expiry_s.unwrap_or(300).min(1 << 30) as i64 * 1000,
            login_ttl_ms: raw.login_ttl_s.unwrap_or(600).clamp(1, 86_400) as i64 * 1000,
            max_pending_logins: max_pending_logins as usize,
            environment,
            refresh_keepalive_ms: raw.refresh_keepalive_s.unwrap_or(DEFAULT_REFRESH_KEEPALIVE_S).min(1 << 30) as i64
                * 1000,
            store,
            http,
            auth,
            issuer: raw.issuer,
            guest,
            guest_expires_in_s,
        })
    }

    /// Client authentication at the token endpoint, per `client_auth` (made once).
    pub fn client_auth(&self) -> ClientAuth {
        self.auth.clone()
    }

    /// The id_token issuers accepted: `issuer` when set, else the environment's and the
    /// configured identity broker's (made when a login needs them, not kept per client).
    pub fn accepted_issuers(&self) -> Vec<String> {
        if let Some(i) = &self.issuer {
            return vec![i.clone()];
        }
        let mut v: Vec<String> = self.environment.issuers().iter().map(|s| s.to_string()).collect();
        let own = format!("{}/idb", self.endpoints.idbroker_base.trim_end_matches('/'));
        if !v.contains(&own) {
            v.push(own);
        }
        v
    }

    pub fn redirect_uri(&self) -> Result<&str, Error> {
        self.redirect_uri
            .as_deref()
            .ok_or_else(|| Error::invalid("config has no `redirect_uri`, which code flows need"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_endpoints() {
        let c = Config::from_json(r#"{"client_id":"c"}"#).unwrap();
        assert_eq!(c.endpoints.token.as_str(), "https://webexapis.com/v1/access_token");
        assert_eq!(c.endpoints.logout.as_str(), "https://idbroker.webex.com/idb/oauth2/v1/logout");
        assert_eq!(c.scope, "spark:all");
        assert!(matches!(c.client_auth(), ClientAuth::Public { .. }));
        assert!(c.endpoints.revoke.is_none());
    }

    #[test]
    fn refuses_unknown_keys_and_plain_http() {
        assert!(Config::from_json(r#"{"client_id":"c","clientid":"x"}"#).unwrap_err().message().contains("clientid"));
        assert!(Config::from_json(r#"{"client_id":"c","webex_api_url":"http://example.com/v1"}"#).is_err());
        assert!(Config::from_json(r#"{"client_id":"c","token_url":"ftp://127.0.0.1/x"}"#).is_err());
        for ok in ["http://127.0.0.1:9/v1", "http://localhost:9/v1", "http://[::1]:9/v1", "http://127.3.4.5/v1"] {
            assert!(Config::from_json(&format!(r#"{{"client_id":"c","webex_api_url":"{ok}"}}"#)).is_ok(), "{ok}");
        }
        assert!(Config::from_json(r#"{"client_id":""}"#).is_err());
        assert!(Config::from_json(r#"{}"#).unwrap_err().message().contains("client_id"));
        assert!(Config::from_json(r#"{"client_id":"c","client_auth":"header"}"#).is_err());
        assert!(Config::from_json(r#"{"client_id":"c","guest_issuer":"i"}"#).is_err());
    }

    #[test]
    fn environments_derive_every_endpoint() {
        let c = Config::from_json(r#"{"client_id":"c","environment":"fedramp"}"#).unwrap();
        assert_eq!(c.endpoints.authorize.as_str(), "https://api-usgov.webex.com/v1/authorize");
        assert_eq!(c.endpoints.token.as_str(), "https://api-usgov.webex.com/v1/access_token");
        assert_eq!(c.endpoints.logout.as_str(), "https://idbroker-f.webex.com/idb/oauth2/v1/logout");
        assert_eq!(c.endpoints.people_me.as_str(), "https://api-usgov.webex.com/v1/people/me");
        assert_eq!(c.accepted_issuers(), vec!["https://idbroker-f.webex.com/idb"]);
        let c = Config::from_json(r#"{"client_id":"c","environment":"fedramp","token_url":"https://t.example/x"}"#)
            .unwrap();
        assert_eq!(c.endpoints.token.as_str(), "https://t.example/x", "explicit keys win");
        let e = Config::from_json(r#"{"client_id":"c","environment":"gov"}"#).unwrap_err();
        assert!(e.message().contains("environment") && !e.message().contains("gov\""));
        let e = Config::from_json(r#"{"client_id":"c","environment":"fedramp","guest_issuer":"i","guest_secret":"x"}"#)
            .unwrap_err();
        assert!(e.message().contains("FedRAMP"), "{}", e.message());
        let c = Config::from_json(r#"{"client_id":"c"}"#).unwrap();
        assert_eq!(c.endpoints.jwks.as_str(), "https://idbroker.webex.com/idb/oauth2/v2/keys/verificationjwk");
        assert_eq!(c.accepted_issuers().len(), 8);
        assert_eq!(c.refresh_keepalive_ms, 7 * 24 * 3600 * 1000);
    }

    #[test]
    fn secret_is_not_in_debug() {
        let c = Config::from_json(r#"{"client_id":"c","client_secret":"s3cr3t-value"}"#).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }
}
