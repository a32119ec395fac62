//! One HTTP attempt: build the request, send it, read at most 1 MiB of body, all under
//! one deadline (connect to last byte, so a server dripping bytes still times out).
//! hyper directly (hyper-util's pooled client, rustls through hyper-rustls): reqwest's
//! layers cost a quarter of the CPU of a token request (URL re-parsing, redirect and
//! retry machinery we do not use). Pools are shared by every Client with the same
//! transport settings. Redirects are never followed. Loopback requests never go through
//! a proxy (a proxy would see the client secret); others use the configured proxy, else
//! the system's, tunneled with CONNECT (every non-loopback endpoint is https).

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use once_cell::sync::Lazy;
use sha2::{Digest, Sha256};
use tower_service::Service;
use url::Url;
use zeroize::Zeroizing;

use crate::error::{Error, Status};
use crate::secret::{Secret, wiping_bytes};

pub const MAX_BODY_BYTES: usize = 1 << 20;

const USER_AGENT_VALUE: &str = concat!("webex-auth/", env!("CARGO_PKG_VERSION"));

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

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects to the request's host, or tunnels to it through the proxy the settings
/// choose for it (never for loopback).
#[derive(Clone)]
struct ProxyConnector {
    direct: HttpConnector,
    /// `None`: always direct.
    proxies: Option<Arc<Matcher>>,
}

impl Service<http::Uri> for ProxyConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let loopback =
            dst.host().and_then(|h| Url::parse(&format!("http://{h}/")).ok()).is_some_and(|u| is_loopback(&u));
        let intercept = if loopback { None } else { self.proxies.as_ref().and_then(|m| m.intercept(&dst)) };
        let mut direct = self.direct.clone();
        match intercept {
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), direct);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.call(dst).await.map_err(|e| Box::new(e) as BoxError) })
            }
            None => Box::pin(async move { direct.call(dst).await.map_err(|e| Box::new(e) as BoxError) }),
        }
    }
}

type PlainClient = HyperClient<HttpConnector, Full<Bytes>>;
type TlsClient = HyperClient<hyper_rustls::HttpsConnector<ProxyConnector>, Full<Bytes>>;

/// The clients of one transport setting. Loading the OS trust store costs milliseconds
/// (it reads and parses every certificate file), so plain-http loopback requests (the
/// emulator, tests) use a client without TLS, and the TLS client is built on first use —
/// warmed up on a background thread as soon as the setting is first used.
pub struct Http {
    plain: PlainClient,
    tls: OnceLock<TlsClient>,
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    proxies: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http")
    }
}

fn http_connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.enforce_http(false);
    c.set_nodelay(true);
    c
}

fn builder() -> hyper_util::client::legacy::Builder {
    let mut b = HyperClient::builder(TokioExecutor::new());
    b.pool_idle_timeout(Duration::from_secs(60));
    b
}

impl Http {
    fn tls(&self) -> &TlsClient {
        self.tls.get_or_init(|| {
            // Trusted: the bundled Mozilla roots, the OS store, and `ca_file`.
            let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            for cert in &self.extra_roots {
                let _ = roots.add(cert.clone());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| {
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                });
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .wrap_connector(ProxyConnector { direct: http_connector(), proxies: self.proxies.clone() });
            builder().build(connector)
        })
    }

    async fn send(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, AttemptError> {
        let plain = req.uri().scheme_str() == Some("http");
        let sent = if plain { self.plain.request(req).await } else { self.tls().request(req).await };
        sent.map_err(|e| {
            let message = describe(&e);
            if e.is_connect() { AttemptError::Connect(message) } else { AttemptError::Io(message) }
        })
    }
}

type Key = (ProxySetting, Option<[u8; 32]>);

/// Live pools by settings; a pool no client uses any more is dropped.
static POOLS: Lazy<Mutex<HashMap<Key, Weak<Http>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn pem_certificates(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem).filter_map(Result::ok).collect()
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
    let extra_roots = match &settings.extra_roots_pem {
        Some(pem) => Some(pem_certificates(pem))
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid("config `ca_file` holds no usable PEM certificate"))?,
        None => Vec::new(),
    };
    let proxies = match &settings.proxy {
        ProxySetting::System => Some(Arc::new(Matcher::from_env())),
        ProxySetting::Direct => None,
        ProxySetting::Url(u) => {
            let parsed: http::Uri =
                u.expose().parse().map_err(|_| Error::invalid("config `proxy` is not a proxy URL"))?;
            Some(Arc::new(Matcher::builder().all(parsed.to_string()).build()))
        }
    };
    let http = Arc::new(Http { plain: builder().build(http_connector()), tls: OnceLock::new(), extra_roots, proxies });
    // Warm the TLS client up off the caller's path (the OS trust store).
    let warm = Arc::downgrade(&http);
    let _ = std::thread::Builder::new().name("webex-auth-tls-roots".into()).spawn(move || {
        if let Some(h) = warm.upgrade() {
            h.tls();
        }
    });
    pools.retain(|_, w| w.strong_count() > 0);
    pools.insert(key, Arc::downgrade(&http));
    Ok(http)
}

/// How a request authenticates the client (docs/PROTOCOL.md `client_auth`). Made once
/// per client (the Basic header included) and shared by its requests.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// Public client: `client_id` in the form, no Authorization header.
    Public { client_id: Arc<str> },
    /// HTTP Basic with the RFC 6749 §2.3.1 form-encoded id and secret: `header` is the
    /// whole `Basic ...` value.
    Basic { client_id: Arc<str>, header: Arc<Secret> },
    /// `client_id` and `client_secret` in the form body.
    Body { client_id: Arc<str>, secret: Arc<Secret> },
    /// Nothing added (guest JWT login, logout).
    None,
}

impl ClientAuth {
    /// HTTP Basic for `client_id` and `secret` (RFC 6749 §2.3.1: both form-encoded).
    pub fn basic(client_id: &str, secret: &Secret) -> ClientAuth {
        use base64::Engine as _;
        let mut pair = Zeroizing::new(String::with_capacity(client_id.len() + secret.expose().len() * 3 + 1));
        pair.extend(url::form_urlencoded::byte_serialize(client_id.as_bytes()));
        pair.push(':');
        pair.extend(url::form_urlencoded::byte_serialize(secret.expose().as_bytes()));
        let mut header = String::from("Basic ");
        base64::engine::general_purpose::STANDARD.encode_string(pair.as_bytes(), &mut header);
        ClientAuth::Basic { client_id: client_id.into(), header: Arc::new(Secret::new(header)) }
    }
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

/// A sensitive header value over a buffer that is wiped once the request is gone.
fn secret_header(value: Vec<u8>) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_maybe_shared(wiping_bytes(value)).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn build(req: &Request) -> Result<http::Request<Full<Bytes>>, AttemptError> {
    let uri: http::Uri =
        req.url.as_str().parse().map_err(|_| AttemptError::Connect(format!("{}: not a valid URI", req.endpoint)))?;
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
        ClientAuth::Basic { header, .. } => authorization = Some(header.expose().as_bytes().to_vec()),
        ClientAuth::None => {}
    }
    let (content_type, body) = match &req.body {
        RequestBody::Json(v) => {
            let text = Zeroizing::new(v.to_string());
            (Some("application/json"), wiping_bytes(text.as_bytes().to_vec()))
        }
        RequestBody::Form(_) | RequestBody::Empty if !form.is_empty() => {
            (Some("application/x-www-form-urlencoded"), wiping_bytes(form_body(&form)))
        }
        _ => (None, Bytes::new()),
    };
    let method = match req.method {
        Method::Post => http::Method::POST,
        Method::Get => http::Method::GET,
    };
    let mut out = http::Request::new(Full::new(body));
    *out.method_mut() = method;
    *out.uri_mut() = uri;
    let headers = out.headers_mut();
    // Webex may answer any content type; the body is parsed as JSON regardless.
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if let Some(v) = authorization.and_then(secret_header) {
        headers.insert(AUTHORIZATION, v);
    }
    Ok(out)
}

async fn send_and_read(http: &Http, req: &Request) -> Result<RawResponse, AttemptError> {
    let resp = http.send(build(req)?).await?;
    let status = resp.status().as_u16();
    let (parts, mut incoming) = resp.into_parts();
    let length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(AttemptError::TooLarge);
    }
    let mut body = Zeroizing::new(Vec::with_capacity(length.unwrap_or(0) as usize));
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| AttemptError::Io(describe(&e)))?;
        if let Ok(chunk) = frame.into_data() {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(RawResponse { status, headers: parts.headers, body })
}

/// An error's chain of causes, for messages: hyper's errors carry no URL.
fn describe(e: &dyn std::error::Error) -> String {
    let mut m = e.to_string();
    let mut src = e.source();
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
