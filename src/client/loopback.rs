//! Loopback login for native apps (RFC 8252 §7.3): listen on 127.0.0.1, send the browser
//! to the authorize URL with `http://127.0.0.1:PORT/callback` as redirect URI, answer its
//! redirect with a small page, check the state as `handle_redirect` does, and exchange
//! the code. The listener lives inside the operation: cancel, timeout and `close` drop it.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::code_flow;
use super::{Inner, OpId, OpKind};
use crate::error::{Error, Status};
use crate::protocol::authorize::LoginOptions;
use crate::protocol::state::PendingLogin;
use crate::protocol::{redirect, state};
use crate::secret::Secret;

/// `wxa_start_loopback_login` options; the login options of `initiate_login` apply too.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoopbackOptions {
    /// 0 (default): any free port. Set it when the authorization server wants the exact
    /// registered redirect URI `http://127.0.0.1:PORT/callback`.
    port: Option<u16>,
    /// How long to wait for the browser (default: the login's lifetime, `login_ttl_s`).
    timeout_ms: Option<u64>,
    email: Option<String>,
    state: Option<Map<String, Value>>,
    scope: Option<String>,
    prompt: Option<String>,
    login_hint: Option<String>,
}

/// The request head a browser sends is small; anything larger is not a redirect.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// A connection that sends nothing useful is dropped after this long.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub fn start(inner: &Arc<Inner>, options_json: &str) -> Result<(String, OpId), Error> {
    let opts: LoopbackOptions = if options_json.trim().is_empty() {
        LoopbackOptions::default()
    } else {
        crate::protocol::json::from_str("loopback login options", options_json)?
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0)))
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| Error::new(Status::Network, format!("cannot listen on 127.0.0.1 for the loopback login: {e}")))?;
    let port = listener.local_addr().map_err(|e| Error::internal(format!("listener address: {e}")))?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let login_opts = LoginOptions {
        email: opts.email,
        state: opts.state,
        scope: opts.scope,
        prompt: opts.prompt,
        login_hint: opts.login_hint,
    };
    login_opts.check()?;
    let (url, login) = code_flow::new_login(inner, &login_opts, &redirect_uri)?;
    let timeout = Duration::from_millis(opts.timeout_ms.unwrap_or(inner.config.login_ttl_ms as u64).max(1));
    let op = inner.spawn_op(OpKind::Loopback, move |inner, op| async move {
        let listener = TcpListener::from_std(listener)
            .map_err(|e| Error::new(Status::Network, format!("loopback listener: {e}")))?;
        match tokio::time::timeout(timeout, serve(&inner, op, listener, port, login)).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                Status::Timeout,
                format!("the browser did not come back to the loopback redirect within {} ms", timeout.as_millis()),
            )),
        }
    })?;
    Ok((url, op))
}

/// Accepts connections until the one carrying this login's redirect; other requests
/// (a favicon, a stray or forged redirect) get an error page and the wait goes on.
async fn serve(
    inner: &Arc<Inner>,
    op: OpId,
    listener: TcpListener,
    port: u16,
    login: PendingLogin,
) -> Result<Map<String, Value>, Error> {
    loop {
        let (mut sock, _) =
            listener.accept().await.map_err(|e| Error::new(Status::Network, format!("loopback listener: {e}")))?;
        let Some(target) = read_target(&mut sock).await else { continue };
        let url = format!("http://127.0.0.1:{port}{target}");
        let parsed = redirect::parse(&url).ok().filter(|(u, _)| u.path() == "/callback");
        let Some((url, r)) = parsed else {
            respond(&mut sock, 404, "Not found", "This address only receives the sign-in redirect.").await;
            continue;
        };
        let csrf = state::parse_redirect_state(r.state.as_deref()).map(|d| d.csrf_token);
        // RFC 9207, as for handle_redirect: a redirect from another issuer is refused.
        let iss_ok = match (&inner.config.issuer, &r.iss) {
            (Some(expected), Some(iss)) => expected == iss,
            _ => true,
        };
        let checked = csrf.and_then(|c| login.matches(&c, inner.now())).and_then(|()| {
            if iss_ok {
                Ok(())
            } else {
                Err(Error::new(Status::StateMismatch, "the redirect's `iss` is not the configured issuer"))
            }
        });
        if let Err(e) = checked {
            respond(&mut sock, 400, "Sign-in link not valid", e.message()).await;
            continue;
        }
        let clean_state = redirect::sanitize(&url, Some(&login.app_state));
        let result = match r.error {
            Some(error) => {
                let server = crate::error::ServerError {
                    error: Some(error),
                    error_description: r.error_description,
                    ..Default::default()
                };
                Err(crate::protocol::oauth_error::to_error("authorization server (redirect)", server))
            }
            None => {
                let code = Secret::new(r.code.unwrap_or_default());
                code_flow::redeem(inner, op, code, login).await
            }
        };
        match &result {
            Ok(_) => respond(&mut sock, 200, "Signed in", "You are signed in. You can close this tab.").await,
            Err(e) => respond(&mut sock, 400, "Sign-in failed", e.message()).await,
        }
        return result.map(|mut fields| {
            fields.insert("clean_url".into(), Value::from(clean_state));
            fields
        });
    }
}

/// The request target of a `GET`, read within a bound of time and size.
async fn read_target(sock: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 2048];
        loop {
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf) {
                Ok(httparse::Status::Complete(_)) => {
                    return (req.method == Some("GET")).then(|| req.path.map(str::to_owned)).flatten();
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST_HEAD => {}
                _ => return None,
            }
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read).await.ok().flatten()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn respond(sock: &mut TcpStream, status: u16, title: &str, message: &str) {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{t}</title><style>body{{font:16px/1.5 system-ui,sans-serif;\
         margin:0;display:grid;place-items:center;min-height:100vh;background:#f4f5f7;color:#1c1c1c}}\
         main{{background:#fff;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px #0002;max-width:28rem}}\
         h1{{font-size:1.25rem;margin:0 0 .5rem}}</style></head><body><main><h1>{t}</h1><p>{m}</p></main></body></html>",
        t = escape(title),
        m = escape(message)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
    let _ = sock.shutdown().await;
}
