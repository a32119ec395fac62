//! Client configuration: the JSON keys of PROTOCOL.md, validated once at `wxa_init`.
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
}

pub const DEFAULT_WEBEX_API_URL: &str = "https://webexapis.com/v1";
pub const DEFAULT_IDBROKER_URL: &str = "https://idbroker.webex.com";

#[derive(Debug)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    pub device_authorize: Url,
    pub device_token: Url,
    pub jwt_login: Url,
    pub logout: Url,
    pub revoke: Option<Url>,
}

#[derive(Debug)]
pub struct Config {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_uri: Option<String>,
    pub scope: String,
    pub endpoints: Endpoints,
    pub auth_in_body: bool,
    pub self_contained_token: bool,
    pub timeout: Duration,
    pub max_retries: u32,
    pub refresh_before_expiry_ms: i64,
    pub login_ttl_ms: i64,
    pub max_pending_logins: usize,
    /// Where the token lives between processes (`token_store`), if anywhere.
    pub store: Option<crate::store::StoreConfig>,
    /// The connection pools for this client's proxy and CA settings (shared).
    pub http: Arc<Http>,
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
        let api = raw.webex_api_url.as_deref().unwrap_or(DEFAULT_WEBEX_API_URL);
        let idb = raw.idbroker_url.as_deref().unwrap_or(DEFAULT_IDBROKER_URL);
        check_url("webex_api_url", api)?;
        check_url("idbroker_url", idb)?;
        let endpoints = Endpoints {
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
        };
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
                GuestIdentity::new(i, s, raw.guest_subject.clone(), raw.guest_display_name.clone()).map_err(|e| {
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
        Ok(Config {
            client_id: raw.client_id,
            client_secret: raw.client_secret.filter(|s| !s.is_empty()).map(Secret::new),
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
            store,
            http,
            issuer: raw.issuer,
            guest,
            guest_expires_in_s,
        })
    }

    /// Client authentication at the token endpoint, per `client_auth`.
    pub fn client_auth(&self) -> ClientAuth {
        match (&self.client_secret, self.auth_in_body) {
            (None, _) => ClientAuth::Public { client_id: self.client_id.clone() },
            (Some(s), false) => ClientAuth::Basic { client_id: self.client_id.clone(), secret: s.clone() },
            (Some(s), true) => ClientAuth::Body { client_id: self.client_id.clone(), secret: s.clone() },
        }
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
    fn secret_is_not_in_debug() {
        let c = Config::from_json(r#"{"client_id":"c","client_secret":"s3cr3t-value"}"#).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }
}
