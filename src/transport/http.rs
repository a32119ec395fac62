//! One HTTP attempt: build the request, send it, read at most 1 MiB of body, all under
//! one deadline (connect to last byte, so a server dripping bytes still times out).
//! Connection pools are shared by every Client with the same transport settings.
//! Loopback requests never go through a proxy (a proxy would see the client secret).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use once_cell::sync::Lazy;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use url::Url;
use zeroize::Zeroizing;

use crate::error::{Error, Status};
use crate::secret::{Secret, wiping_bytes};

pub const MAX_BODY_BYTES: usize = 1 << 20;

pub use crate::protocol::uri::is_loopback;

/// How non-loopback requests reach the network (config keys `proxy`, `ca_file`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum ProxySetting {
    /// The system's settings (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`).
    #[default]
    System,
    /// Always connect directly.
    Direct,
    /// This proxy URL. Kept as given: it may hold credentials, so it is never shown.
    Url(Secret),
}

#[derive(Clone, Debug, Default)]
pub struct TransportSettings {
    pub proxy: ProxySetting,
    /// Extra trusted roots (PEM), added to the bundled and OS roots.
    pub extra_roots_pem: Option<Arc<Vec<u8>>>,
}

/// The reqwest clients of one transport setting. Loopback requests never go through a
/// proxy. Loading the OS trust store costs milliseconds (it reads and parses every
/// certificate file), so only clients that may need it load it, and not on the path of a
/// plain-http loopback request: the remote client is built in the background as soon as
/// the setting is first used, and on demand if a request comes first.
pub struct Http {
    /// Plain http to loopback (the emulator, tests): no trust store at all.
    loopback_plain: reqwest::Client,
    /// https to loopback: built on first use.
    loopback_tls: OnceLock<reqwest::Client>,
    remote: OnceLock<reqwest::Client>,
    roots: Vec<reqwest::Certificate>,
    proxy: Option<reqwest::Proxy>,
    direct: bool,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http")
    }
}

impl Http {
    fn for_url(&self, url: &Url) -> &reqwest::Client {
        match (is_loopback(url), url.scheme() == "https") {
            (true, false) => &self.loopback_plain,
            (true, true) => self.loopback_tls.get_or_init(|| self.build(builder(&self.roots).no_proxy())),
            (false, _) => self.remote(),
        }
    }

    fn remote(&self) -> &reqwest::Client {
        self.remote.get_or_init(|| {
            let b = builder(&self.roots);
            let b = match (&self.proxy, self.direct) {
                (Some(p), _) => b.proxy(p.clone()),
                (None, true) => b.no_proxy(),
                (None, false) => b,
            };
            self.build(b)
        })
    }

    /// Settings were checked when the pools were made; a build that still fails (no TLS
    /// backend) falls back to reqwest's defaults rather than panicking on a request path.
    fn build(&self, b: reqwest::ClientBuilder) -> reqwest::Client {
        b.build().unwrap_or_default()
    }
}

type Key = (ProxySetting, Option<[u8; 32]>);

/// Live pools by settings; a pool no client uses any more is dropped.
static POOLS: Lazy<Mutex<HashMap<Key, Weak<Http>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn builder(roots: &[reqwest::Certificate]) -> reqwest::ClientBuilder {
    let mut b = reqwest::Client::builder()
        // A redirect would carry a code, verifier or secret to another host.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("webex-auth/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60));
    for r in roots {
        b = b.add_root_certificate(r.clone());
    }
    b
}

/// The shared pools for `settings`, made on first use. Errors name the setting, never
/// its value (a proxy URL may carry a password).
pub fn pools(settings: &TransportSettings) -> Result<Arc<Http>, Error> {
    let roots_hash = settings.extra_roots_pem.as_ref().map(|p| Sha256::digest(p.as_slice()).into());
    let key: Key = (settings.proxy.clone(), roots_hash);
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = pools.get(&key).and_then(Weak::upgrade) {
        return Ok(h);
    }
    let roots = match &settings.extra_roots_pem {
        Some(pem) => reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid("config `ca_file` holds no usable PEM certificate"))?,
        None => Vec::new(),
    };
    let proxy = match &settings.proxy {
        ProxySetting::Url(u) => {
            Some(reqwest::Proxy::all(u.expose()).map_err(|_| Error::invalid("config `proxy` is not a proxy URL"))?)
        }
        _ => None,
    };
    let loopback_plain = builder(&roots)
        .no_proxy()
        .tls_built_in_native_certs(false)
        .build()
        .map_err(|_| Error::invalid("config `ca_file`: the HTTP client cannot be built with it"))?;
    let http = Arc::new(Http {
        loopback_plain,
        loopback_tls: OnceLock::new(),
        remote: OnceLock::new(),
        roots,
        proxy,
        direct: settings.proxy == ProxySetting::Direct,
    });
    // Warm the remote client up off the caller's path (the OS trust store).
    let warm = Arc::downgrade(&http);
    let _ = std::thread::Builder::new().name("webex-auth-tls-roots".into()).spawn(move || {
        if let Some(h) = warm.upgrade() {
            h.remote();
        }
    });
    pools.retain(|_, w| w.strong_count() > 0);
    pools.insert(key, Arc::downgrade(&http));
    Ok(http)
}

/// How a request authenticates the client (docs/PROTOCOL.md `client_auth`).
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// Public client: `client_id` in the form, no Authorization header.
    Public { client_id: String },
    /// HTTP Basic with the RFC 6749 §2.3.1 form-encoded id and secret.
    Basic { client_id: String, secret: Secret },
    /// `client_id` and `client_secret` in the form body.
    Body { client_id: String, secret: Secret },
    /// Nothing added (guest JWT login, logout).
    None,
}

/// A form value: public protocol words (`grant_type=refresh_token`) stay plain; codes,
/// tokens and verifiers are secrets, wiped when the request is dropped.
#[derive(Debug)]
pub enum FormValue {
    Plain(Cow<'static, str>),
    Secret(Secret),
}

impl FormValue {
    fn as_str(&self) -> &str {
        match self {
            FormValue::Plain(s) => s,
            FormValue::Secret(s) => s.expose(),
        }
    }
}

#[derive(Debug)]
pub enum RequestBody {
    Form(Vec<(&'static str, FormValue)>),
    Json(serde_json::Value),
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

#[derive(Debug)]
pub struct Request {
    /// A name for messages ("token endpoint"); never the URL, which may hold secrets.
    pub endpoint: &'static str,
    pub url: Url,
    pub method: Method,
    pub body: RequestBody,
    pub auth: ClientAuth,
    /// Sent as is, marked sensitive (guest JWT login, bearer tokens).
    pub authorization: Option<Secret>,
    /// May be sent again after the server could have processed it. False for requests
    /// that spend a single-use code or refresh token.
    pub replay_safe: bool,
}

impl Request {
    fn new(method: Method, endpoint: &'static str, url: &Url) -> Request {
        Request {
            endpoint,
            url: url.clone(),
            method,
            body: RequestBody::Empty,
            auth: ClientAuth::None,
            authorization: None,
            replay_safe: true,
        }
    }

    /// A POST to `endpoint` (a name for messages) at `url`; replay-safe, no client auth.
    pub fn post(endpoint: &'static str, url: &Url) -> Request {
        Request::new(Method::Post, endpoint, url)
    }

    pub fn get(endpoint: &'static str, url: &Url) -> Request {
        Request::new(Method::Get, endpoint, url)
    }

    fn form_mut(&mut self) -> &mut Vec<(&'static str, FormValue)> {
        if !matches!(self.body, RequestBody::Form(_)) {
            self.body = RequestBody::Form(Vec::new());
        }
        match &mut self.body {
            RequestBody::Form(f) => f,
            _ => unreachable!("just set"),
        }
    }

    /// A form parameter whose value is a public protocol word or a config value.
    pub fn param(mut self, key: &'static str, value: impl Into<Cow<'static, str>>) -> Request {
        self.form_mut().push((key, FormValue::Plain(value.into())));
        self
    }

    /// A form parameter whose value is a credential (code, token, verifier).
    pub fn secret(mut self, key: &'static str, value: Secret) -> Request {
        self.form_mut().push((key, FormValue::Secret(value)));
        self
    }

    pub fn json(mut self, body: serde_json::Value) -> Request {
        self.body = RequestBody::Json(body);
        self
    }

    pub fn client_auth(mut self, auth: ClientAuth) -> Request {
        self.auth = auth;
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &Secret) -> Request {
        self.authorization = Some(Secret::new(format!("Bearer {}", token.expose())));
        self
    }

    /// `Authorization: <value>` as is (the guest JWT login sends the bare JWT).
    pub fn authorization(mut self, value: Secret) -> Request {
        self.authorization = Some(value);
        self
    }

    /// This request spends a single-use credential (a code, a refresh token): it is not
    /// sent again once the server may have processed it.
    pub fn spends_credential(mut self) -> Request {
        self.replay_safe = false;
        self
    }
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// Wiped when dropped: it may hold a token.
    pub body: Zeroizing<Vec<u8>>,
}

/// How one attempt failed before a complete response arrived.
#[derive(Debug)]
pub enum AttemptError {
    /// No connection was made: nothing was sent, always safe to retry.
    Connect(String),
    /// The deadline passed; the server may have processed the request.
    Timeout,
    /// The connection broke after sending; the server may have processed the request.
    Io(String),
    /// The body passed the cap.
    TooLarge,
}

impl AttemptError {
    pub fn into_error(self, endpoint: &str, timeout: Duration) -> Error {
        match self {
            AttemptError::Connect(m) => Error::new(Status::Network, format!("{endpoint}: cannot connect: {m}")),
            AttemptError::Timeout => {
                Error::new(Status::Timeout, format!("{endpoint}: no complete answer within {} ms", timeout.as_millis()))
            }
            AttemptError::Io(m) => Error::new(Status::Network, format!("{endpoint}: connection failed: {m}")),
            AttemptError::TooLarge => {
                Error::new(Status::Http, format!("{endpoint}: response body over {MAX_BODY_BYTES} bytes, not read"))
            }
        }
    }
}

/// `application/x-www-form-urlencoded` into a buffer that is wiped after sending.
fn form_body(pairs: &[(&str, &str)]) -> Vec<u8> {
    let len: usize = pairs.iter().map(|(k, v)| k.len() + v.len() * 3 + 2).sum();
    let mut out = Zeroizing::new(String::with_capacity(len));
    {
        let mut ser = url::form_urlencoded::Serializer::new(&mut *out);
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        ser.finish();
    }
    std::mem::take(&mut *out).into_bytes()
}

fn form_encode(s: &str) -> Zeroizing<String> {
    Zeroizing::new(url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
}

/// A sensitive header value over a buffer that is wiped once the request is gone.
fn secret_header(value: Vec<u8>) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_maybe_shared(wiping_bytes(value)).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn build(http: &Http, req: &Request) -> reqwest::RequestBuilder {
    let client = http.for_url(&req.url);
    let mut b = match req.method {
        Method::Post => client.post(req.url.clone()),
        Method::Get => client.get(req.url.clone()),
    };
    // Webex may answer any content type; the body is parsed as JSON regardless.
    b = b.header(ACCEPT, "application/json").header(ACCEPT_ENCODING, "identity");
    let mut form: Vec<(&str, &str)> = Vec::new();
    if let RequestBody::Form(f) = &req.body {
        form.extend(f.iter().map(|(k, v)| (*k, v.as_str())));
    }
    let mut authorization = req.authorization.as_ref().map(|a| a.expose().as_bytes().to_vec());
    match &req.auth {
        ClientAuth::Public { client_id } => form.push(("client_id", client_id)),
        ClientAuth::Body { client_id, secret } => {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret.expose()));
        }
        ClientAuth::Basic { client_id, secret } => {
            let mut pair = Zeroizing::new(Vec::with_capacity(client_id.len() + secret.expose().len() * 3 + 1));
            pair.extend_from_slice(form_encode(client_id).as_bytes());
            pair.push(b':');
            pair.extend_from_slice(form_encode(secret.expose()).as_bytes());
            let mut value = Vec::with_capacity(6 + pair.len() * 4 / 3 + 4);
            value.extend_from_slice(b"Basic ");
            let mut enc = Zeroizing::new(String::new());
            STANDARD.encode_string(&*pair, &mut enc);
            value.extend_from_slice(enc.as_bytes());
            authorization = Some(value);
        }
        ClientAuth::None => {}
    }
    if let Some(v) = authorization.and_then(secret_header) {
        b = b.header(AUTHORIZATION, v);
    }
    match &req.body {
        RequestBody::Json(v) => {
            let text = Zeroizing::new(v.to_string());
            b.header(CONTENT_TYPE, "application/json").body(wiping_bytes(text.as_bytes().to_vec()))
        }
        RequestBody::Form(_) | RequestBody::Empty if !form.is_empty() => {
            b.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(wiping_bytes(form_body(&form)))
        }
        _ if req.method == Method::Get => b,
        _ => b.header(reqwest::header::CONTENT_LENGTH, "0"),
    }
}

async fn send_and_read(http: &Http, req: &Request) -> Result<RawResponse, AttemptError> {
    let mut resp = build(http, req)
        .send()
        .await
        .map_err(|e| if e.is_connect() { AttemptError::Connect(describe(e)) } else { AttemptError::Io(describe(e)) })?;
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    if resp.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(AttemptError::TooLarge);
    }
    let mut body = Zeroizing::new(Vec::with_capacity(resp.content_length().unwrap_or(0) as usize));
    while let Some(chunk) = resp.chunk().await.map_err(|e| AttemptError::Io(describe(e)))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(AttemptError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse { status, headers, body })
}

/// reqwest's messages can include the URL, and a URL can hold secrets: keep the kind.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut m = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        m.push_str(": ");
        m.push_str(&s.to_string());
        src = s.source();
    }
    m
}

/// One attempt under one deadline.
pub async fn attempt(http: &Http, req: &Request, timeout: Duration) -> Result<RawResponse, AttemptError> {
    match tokio::time::timeout(timeout, send_and_read(http, req)).await {
        Ok(r) => r,
        Err(_) => Err(AttemptError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_encode_like_a_browser() {
        let b = form_body(&[("grant_type", "refresh_token"), ("refresh_token", "a b&c=d+é")]);
        assert_eq!(String::from_utf8(b).unwrap(), "grant_type=refresh_token&refresh_token=a+b%26c%3Dd%2B%C3%A9");
    }

    #[test]
    fn pools_are_shared_per_setting() {
        let a = pools(&TransportSettings::default()).unwrap();
        let b = pools(&TransportSettings::default()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = pools(&TransportSettings { proxy: ProxySetting::Direct, extra_roots_pem: None }).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        let bad = TransportSettings { proxy: ProxySetting::System, extra_roots_pem: Some(Arc::new(b"nope".to_vec())) };
        assert!(pools(&bad).unwrap_err().message().contains("ca_file"));
    }
}
