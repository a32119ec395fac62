//! Authorization Code grant with PKCE: start a login, check its redirect, exchange the
//! code. The CSRF check happens before anything touches the network.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Inner, OpId, OpKind, runtime};
use crate::error::{Error, ServerError, Status};
use crate::protocol::authorize::{self, AuthorizeRequest, LoginOptions};
use crate::protocol::state::PendingLogin;
use crate::protocol::{oauth_error, pkce, redirect, state, token};
use crate::secret::Secret;

pub fn initiate_login(inner: &Arc<Inner>, options_json: &str) -> Result<String, Error> {
    let opts = LoginOptions::from_json(options_json)?;
    let (url, login) = new_login(inner, &opts, inner.config.redirect_uri()?)?;
    keep_pending(inner, login)?;
    Ok(url)
}

/// The authorize URL and the pending login of a new code-flow login to `redirect_uri`.
pub(super) fn new_login(
    inner: &Arc<Inner>,
    opts: &LoginOptions,
    redirect_uri: &str,
) -> Result<(String, PendingLogin), Error> {
    let cfg = &inner.config;
    let req = AuthorizeRequest {
        authorize_url: &cfg.endpoints.authorize,
        client_id: &cfg.client_id,
        redirect_uri,
        default_scope: &cfg.scope,
        login_ttl_ms: cfg.login_ttl_ms,
    };
    Ok(authorize::build(&req, opts, &mut rand::thread_rng(), inner.now()))
}

/// Keeps a login until its redirect: in this client's table, or — with a Redis token
/// store — in Redis, so the redirect may land on any instance of the fleet.
fn keep_pending(inner: &Arc<Inner>, login: PendingLogin) -> Result<(), Error> {
    if let Some(p) = inner.persist.as_ref().filter(|p| p.shares_pending_logins()) {
        let id = state::pending_id(&login.csrf_token);
        let record = login.to_record();
        let ttl = Duration::from_millis((login.expires_at - inner.now()).max(1) as u64);
        let timeout = inner.config.timeout;
        return runtime::block_on(async {
            tokio::time::timeout(timeout, p.store().put_pending(&id, &record, ttl))
                .await
                .map_err(|_| store_timeout(p, timeout))?
        });
    }
    let now = inner.now();
    inner.lock().pending.insert(login, now, inner.config.max_pending_logins);
    Ok(())
}

fn store_timeout(p: &super::persist::Persist, timeout: Duration) -> Error {
    Error::new(Status::Network, format!("{}: no answer within {} ms", p.store().describe(), timeout.as_millis()))
}

/// Finds and removes (single use) the pending login a redirect belongs to. A redirect
/// refused here leaves every pending login as it was.
fn take_pending(inner: &Arc<Inner>, r: &redirect::Redirect, csrf_token: &str) -> Result<PendingLogin, Error> {
    // RFC 9207: a redirect from another issuer is a mix-up attack, refused like a forged
    // state; the login it would match stays pending for the real redirect.
    if let (Some(expected), Some(iss)) = (&inner.config.issuer, &r.iss) {
        if expected != iss {
            return Err(Error::new(Status::StateMismatch, "the redirect's `iss` is not the configured issuer"));
        }
    }
    if r.error.is_none() && r.code.as_deref().is_none_or(str::is_empty) {
        return Err(Error::invalid("the redirect carries neither a code nor an error"));
    }
    let now = inner.now();
    if let Some(p) = inner.persist.as_ref().filter(|p| p.shares_pending_logins()) {
        // GETDEL: whichever instance takes it first exchanges; any other gets nothing.
        let id = state::pending_id(csrf_token);
        let timeout = inner.config.timeout;
        let record = runtime::block_on(async {
            tokio::time::timeout(timeout, p.store().take_pending(&id)).await.map_err(|_| store_timeout(p, timeout))?
        })?
        .ok_or_else(|| {
            Error::new(Status::StateMismatch, "the redirect's state matches no pending login of this client")
        })?;
        let login = PendingLogin::from_record(&record)?;
        login.matches(csrf_token, now)?;
        return Ok(login);
    }
    let mut st = inner.lock();
    let idx = st.pending.find(csrf_token, now)?;
    st.pending.remove(idx).ok_or_else(|| Error::internal("a matched pending login vanished"))
}

pub fn handle_redirect(inner: &Arc<Inner>, redirect_url: &str) -> Result<(OpId, String), Error> {
    let (url, r) = redirect::parse(redirect_url)?;
    let decoded = state::parse_redirect_state(r.state.as_deref())?;
    let login = take_pending(inner, &r, &decoded.csrf_token)?;
    finish_redirect(inner, &url, r, login)
}

/// Starts the operation a checked redirect leads to: its OAuth error, or the exchange.
pub(super) fn finish_redirect(
    inner: &Arc<Inner>,
    url: &url::Url,
    r: redirect::Redirect,
    login: PendingLogin,
) -> Result<(OpId, String), Error> {
    // The app's state is the copy kept with the login: the redirect's could have been
    // rewritten in transit (an open redirect for apps that navigate to `return_to`).
    let clean = redirect::sanitize(url, Some(&login.app_state));
    let op = match r.error {
        Some(error) => {
            let server =
                ServerError { error: Some(error), error_description: r.error_description, ..Default::default() };
            let e = oauth_error::to_error("authorization server (redirect)", server);
            inner.spawn_op(OpKind::Redirect, move |_, _| async move { Err::<Map<String, Value>, _>(e) })?
        }
        None => {
            let code = Secret::new(r.code.unwrap_or_default());
            inner.spawn_op(OpKind::Redirect, move |inner, op| async move { redeem(&inner, op, code, login).await })?
        }
    };
    Ok((op, clean))
}

/// Exchanges a redirect's code for the login it belongs to; the result carries the
/// app's state.
pub(super) async fn redeem(
    inner: &Arc<Inner>,
    op: OpId,
    code: Secret,
    login: PendingLogin,
) -> Result<Map<String, Value>, Error> {
    let verifier = Secret::new(login.code_verifier.as_str());
    let nonce = login.nonce.as_ref().map(|n| n.as_str());
    let mut fields = exchange(inner, op, code, Some(verifier), &login.redirect_uri, nonce).await?;
    fields.insert("state".into(), Value::Object(login.app_state.clone()));
    Ok(fields)
}

pub fn exchange_code(inner: &Arc<Inner>, code: &str, code_verifier: Option<&str>) -> Result<OpId, Error> {
    if code.is_empty() {
        return Err(Error::invalid("`code` is empty"));
    }
    if let Some(v) = code_verifier {
        if !pkce::is_valid_verifier(v) {
            return Err(Error::invalid("`code_verifier` must be 43 to 128 unreserved characters (RFC 7636)"));
        }
    }
    let redirect_uri = inner.config.redirect_uri()?.to_owned();
    let code = Secret::new(code);
    let verifier = code_verifier.map(Secret::new);
    inner.spawn_op(OpKind::Exchange, move |inner, op| async move {
        exchange(&inner, op, code, verifier, &redirect_uri, None).await
    })
}

/// `grant_type=authorization_code`; stores the token and returns its result fields.
async fn exchange(
    inner: &Arc<Inner>,
    op: OpId,
    code: Secret,
    verifier: Option<Secret>,
    redirect_uri: &str,
    nonce: Option<&str>,
) -> Result<Map<String, Value>, Error> {
    let cfg = &inner.config;
    let org_id = redirect::org_id_of_code(code.expose()).map(str::to_owned);
    let mut grant = inner
        .token_request("authorization_code")
        .secret("code", code)
        .param("redirect_uri", redirect_uri.to_owned())
        .spends_credential();
    if let Some(v) = verifier {
        grant = grant.secret("code_verifier", v);
    }
    if cfg.self_contained_token {
        grant = grant.param("self_contained_token", "true");
    }
    let mut body = inner.token_grant(grant).await?;
    let tok = token::parse_token_response(&body, inner.now());
    crate::secret::wipe_map(&mut body);
    let tok = tok?;
    // Login with Webex: an id_token is checked before anything is stored; a login that
    // asked for openid (it sent a nonce) must get one.
    let claims = match (&tok.id_token, nonce) {
        (Some(id_token), _) => Some(super::oidc::validate(inner, id_token.expose(), nonce).await?),
        (None, Some(_)) => {
            return Err(Error::new(Status::IdToken, "the login asked for openid but the answer carries no id_token"));
        }
        (None, None) => None,
    };
    let mut fields = inner.install_login(tok, false, op).await;
    if let Some(org) = org_id {
        fields.insert("org_id".into(), Value::from(org));
    }
    if let Some(claims) = claims {
        fields.insert("id_token_claims".into(), Value::Object(claims));
    }
    Ok(fields)
}
