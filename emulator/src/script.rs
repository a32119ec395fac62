//! The scripting vocabulary: which endpoint, what to answer instead, what was received.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Authorize,
    Token,
    DeviceAuthorize,
    DeviceToken,
    JwtLogin,
    Logout,
    Revoke,
    PeopleMe,
    /// The U2C service catalog (`limited/catalog`, `catalog`, `signin/catalog`).
    Catalog,
    /// `POST /v1/applications/{applicationId}/token` (Service App tokens).
    ApplicationToken,
    /// `POST /v1/guests/token` (guests of a Service App).
    GuestsToken,
    /// The OpenID Connect signing keys (`/v1/verification`, `/idb/oauth2/v2/keys/verificationjwk`).
    Jwks,
    /// `GET /v1/userinfo`.
    Userinfo,
    /// `/.well-known/openid-configuration`.
    OpenidConfiguration,
}

impl Endpoint {
    pub const ALL: [Endpoint; 14] = [
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::DeviceAuthorize,
        Endpoint::DeviceToken,
        Endpoint::JwtLogin,
        Endpoint::Logout,
        Endpoint::Revoke,
        Endpoint::PeopleMe,
        Endpoint::Catalog,
        Endpoint::ApplicationToken,
        Endpoint::GuestsToken,
        Endpoint::Jwks,
        Endpoint::Userinfo,
        Endpoint::OpenidConfiguration,
    ];

    /// Parses the snake_case name used by the admin endpoints (`"device_token"`).
    pub fn from_name(name: &str) -> Option<Endpoint> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

/// One canned answer. Deserializes from the admin JSON, where `headers` may be
/// `[["k","v"]]` or `{"k":"v"}` and `body` may be a string (sent verbatim) or any
/// other JSON value (sent serialized).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Scripted {
    #[serde(default)]
    pub status: u16,
    #[serde(default, deserialize_with = "headers_any")]
    pub headers: Vec<(String, String)>,
    #[serde(default, deserialize_with = "body_any")]
    pub body: Option<String>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub drip: bool,
    #[serde(default)]
    pub passthrough: bool,
}

impl Scripted {
    pub fn status(status: u16) -> Self {
        Scripted { status, ..Default::default() }
    }

    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Scripted {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body.to_string()),
            ..Default::default()
        }
    }

    /// A raw body, e.g. deliberately malformed JSON.
    pub fn with_body(mut self, body: &str) -> Self {
        self.body = Some(body.to_string());
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, ms: u64) -> Self {
        self.delay_ms = ms;
        self
    }

    pub fn dripped(mut self) -> Self {
        self.drip = true;
        self
    }

    pub fn passthrough() -> Self {
        Scripted { passthrough: true, ..Default::default() }
    }

    /// Builds the HTTP answer. Invalid status codes or header pairs cannot come from
    /// the admin endpoint (it validates), only from library callers; they become a 500
    /// / are skipped rather than panicking the server.
    pub(crate) fn render(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body_text = self.body.clone().unwrap_or_default();
        let body =
            if self.drip && !body_text.is_empty() { drip_body(body_text.into_bytes()) } else { Body::from(body_text) };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                headers.append(name, value);
            }
        }
        if self.body.is_some() && !headers.contains_key("content-type") {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        response
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.passthrough && StatusCode::from_u16(self.status).is_err() {
            return Err(format!("invalid status {}", self.status));
        }
        for (name, value) in &self.headers {
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))?;
            HeaderValue::from_str(value).map_err(|_| format!("invalid header value {value:?}"))?;
        }
        Ok(())
    }
}

const DRIP_EVERY: Duration = Duration::from_millis(100);

/// One byte per tick, so a client's whole-request deadline fires mid-body.
fn drip_body(bytes: Vec<u8>) -> Body {
    let stream = futures_util::stream::unfold((bytes, 0usize), |(bytes, next)| async move {
        if next >= bytes.len() {
            return None;
        }
        if next > 0 {
            tokio::time::sleep(DRIP_EVERY).await;
        }
        let chunk = Bytes::copy_from_slice(&bytes[next..next + 1]);
        Some((Ok::<_, Infallible>(chunk), (bytes, next + 1)))
    });
    Body::from_stream(stream)
}

fn headers_any<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Headers {
        Pairs(Vec<(String, String)>),
        Map(serde_json::Map<String, serde_json::Value>),
    }
    Ok(match Option::<Headers>::deserialize(d)? {
        None => Vec::new(),
        Some(Headers::Pairs(pairs)) => pairs,
        Some(Headers::Map(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
    })
}

fn body_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// A request as received at a scripted endpoint, and the status it was answered.
#[derive(Clone, Debug, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body parsed as `application/x-www-form-urlencoded`; empty for other bodies.
    pub form: Vec<(String, String)>,
    /// Milliseconds since the emulator started (monotonic clock).
    pub at_ms: u64,
    pub status: u16,
}

impl Recorded {
    pub fn form_value(&self, key: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn query_value(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }

    /// A browser navigating: its `Accept` names `text/html` (API clients send `*/*` or
    /// `application/json`).
    pub(crate) fn wants_html(&self) -> bool {
        self.header("accept").is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
    }

    /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    pub(crate) fn from_parts(parts: &axum::http::request::Parts, body: &[u8], at_ms: u64) -> Recorded {
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = String::from_utf8_lossy(body).into_owned();
        let content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
        let form = if is_form(content_type, &body) {
            url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
        } else {
            Vec::new()
        };
        Recorded {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            headers,
            body,
            form,
            at_ms,
            status: 0,
        }
    }
}

/// Clients that forget the Content-Type still get their form read; JSON never is.
fn is_form(content_type: Option<&str>, body: &str) -> bool {
    match content_type {
        Some(ct) => ct.to_ascii_lowercase().contains("application/x-www-form-urlencoded"),
        None => !body.is_empty() && !body.trim_start().starts_with(['{', '[']),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_json_shapes() {
        let pairs: Scripted =
            serde_json::from_str(r#"{"status":428,"headers":[["Retry-After","1"]],"body":"{\"message\":\"x\"}"}"#)
                .unwrap();
        assert_eq!(pairs.headers, vec![("Retry-After".to_string(), "1".to_string())]);
        assert_eq!(pairs.body.as_deref(), Some(r#"{"message":"x"}"#));
        let map: Scripted =
            serde_json::from_str(r#"{"status":400,"headers":{"Retry-After":2},"body":{"a":1}}"#).unwrap();
        assert_eq!(map.headers, vec![("Retry-After".to_string(), "2".to_string())]);
        assert_eq!(map.body.as_deref(), Some(r#"{"a":1}"#));
        let pass: Scripted = serde_json::from_str(r#"{"passthrough":true}"#).unwrap();
        assert!(pass.passthrough && pass.validate().is_ok());
        assert!(Scripted::status(42).validate().is_err());
        assert!(Scripted::status(200).with_header("bad name", "v").validate().is_err());
    }

    #[test]
    fn endpoint_names() {
        assert_eq!(Endpoint::from_name("device_token"), Some(Endpoint::DeviceToken));
        assert_eq!(Endpoint::from_name("people_me"), Some(Endpoint::PeopleMe));
        assert_eq!(Endpoint::from_name("application_token"), Some(Endpoint::ApplicationToken));
        assert_eq!(Endpoint::from_name("jwks"), Some(Endpoint::Jwks));
        assert_eq!(Endpoint::from_name("nope"), None);
    }
}
