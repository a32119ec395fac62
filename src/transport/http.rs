//! One HTTP attempt: build the request, send it, read at most 1 MiB of body, all under
//! one deadline (connect to last byte, so a server dripping bytes still times out).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use once_cell::sync::Lazy;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, HeaderMap, HeaderValue};
use url::Url;

use crate::error::{Error, Status};
use crate::secret::Secret;

pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One pool for every Client: connections to the same host are reused across users.
static HTTP: Lazy<reqwest::Client> = Lazy::new(|| {
    reqwest::Client::builder()
        // A redirect would carry a code, verifier or secret to another host.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("webex-auth/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client with static settings")
});

/// How a request authenticates the client (PROTOCOL.md `client_auth`).
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

#[derive(Debug)]
pub enum RequestBody {
    Form(Vec<(&'static str, Secret)>),
    Json(serde_json::Value),
    Empty,
}

#[derive(Debug)]
pub struct Request {
    /// A name for messages ("token endpoint"); never the URL, which may hold secrets.
    pub endpoint: &'static str,
    pub url: Url,
    pub body: RequestBody,
    pub auth: ClientAuth,
    /// Sent as is, marked sensitive (guest JWT login, bearer tokens).
    pub authorization: Option<Secret>,
    /// May be sent again after the server could have processed it. False for requests
    /// that spend a single-use code or refresh token.
    pub replay_safe: bool,
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
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

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn build(req: &Request) -> reqwest::RequestBuilder {
    let mut b = HTTP.post(req.url.clone());
    // Webex may answer any content type; the body is parsed as JSON regardless.
    b = b.header(ACCEPT, "application/json").header(ACCEPT_ENCODING, "identity");
    let mut form: Vec<(&str, &str)> = Vec::new();
    if let RequestBody::Form(f) = &req.body {
        form.extend(f.iter().map(|(k, v)| (*k, v.expose())));
    }
    let mut authorization = req.authorization.as_ref().map(|a| a.expose().to_owned());
    match &req.auth {
        ClientAuth::Public { client_id } => form.push(("client_id", client_id)),
        ClientAuth::Body { client_id, secret } => {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret.expose()));
        }
        ClientAuth::Basic { client_id, secret } => {
            let pair = format!("{}:{}", form_encode(client_id), form_encode(secret.expose()));
            authorization = Some(format!("Basic {}", STANDARD.encode(pair)));
        }
        ClientAuth::None => {}
    }
    if let Some(a) = authorization {
        if let Ok(mut v) = HeaderValue::from_str(&a) {
            v.set_sensitive(true);
            b = b.header(AUTHORIZATION, v);
        }
    }
    match &req.body {
        RequestBody::Form(_) => b.form(&form),
        RequestBody::Json(v) => b.json(v),
        RequestBody::Empty if !form.is_empty() => b.form(&form),
        RequestBody::Empty => b.header(reqwest::header::CONTENT_LENGTH, "0"),
    }
}

async fn send_and_read(req: &Request) -> Result<RawResponse, AttemptError> {
    let mut resp = build(req)
        .send()
        .await
        .map_err(|e| if e.is_connect() { AttemptError::Connect(describe(e)) } else { AttemptError::Io(describe(e)) })?;
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    if resp.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(AttemptError::TooLarge);
    }
    let mut body = Vec::new();
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
pub async fn attempt(req: &Request, timeout: Duration) -> Result<RawResponse, AttemptError> {
    match tokio::time::timeout(timeout, send_and_read(req)).await {
        Ok(r) => r,
        Err(_) => Err(AttemptError::Timeout),
    }
}
