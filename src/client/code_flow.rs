//! Authorization Code grant with PKCE: start a login, check its redirect, exchange the
//! code. The CSRF check happens before anything touches the network.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Inner, OpId, OpKind};
use crate::error::{Error, ServerError, Status};
use crate::protocol::authorize::{self, AuthorizeRequest, LoginOptions};
use crate::protocol::{oauth_error, pkce, redirect, state, token};
use crate::secret::Secret;

pub fn initiate_login(inner: &Arc<Inner>, options_json: &str) -> Result<String, Error> {
    let cfg = &inner.config;
    let opts = LoginOptions::from_json(options_json)?;
    let req = AuthorizeRequest {
        authorize_url: &cfg.endpoints.authorize,
        client_id: &cfg.client_id,
        redirect_uri: cfg.redirect_uri()?,
        default_scope: &cfg.scope,
        login_ttl_ms: cfg.login_ttl_ms,
    };
    let now = inner.now();
    let (url, login) = authorize::build(&req, &opts, &mut rand::thread_rng(), now);
    inner.lock().pending.insert(login, now, cfg.max_pending_logins);
    Ok(url)
}

pub fn handle_redirect(inner: &Arc<Inner>, redirect_url: &str) -> Result<(OpId, String), Error> {
    let (url, r) = redirect::parse(redirect_url)?;
    let decoded = state::parse_redirect_state(r.state.as_deref())?;
    let login = {
        let mut st = inner.lock();
        let idx = st.pending.find(&decoded.csrf_token, inner.now())?;
        // RFC 9207: a redirect from another issuer is a mix-up attack, refused like a
        // forged state; the login it matched stays pending for the real redirect.
        if let (Some(expected), Some(iss)) = (&inner.config.issuer, &r.iss) {
            if expected != iss {
                return Err(Error::new(Status::StateMismatch, "the redirect's `iss` is not the configured issuer"));
            }
        }
        if r.error.is_none() && r.code.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid("the redirect carries neither a code nor an error"));
        }
        st.pending.remove(idx).ok_or_else(|| Error::internal("a matched pending login vanished"))?
    };
    // The app's state is the copy kept with the login: the redirect's could have been
    // rewritten in transit (an open redirect for apps that navigate to `return_to`).
    let clean = redirect::sanitize(&url, Some(&login.app_state));
    let app_state = Value::Object(login.app_state.clone());
    let op = if let Some(error) = r.error {
        let server = ServerError { error: Some(error), error_description: r.error_description, ..Default::default() };
        let e = oauth_error::to_error("authorization server (redirect)", server);
        inner.spawn_op(OpKind::Redirect, move |_, _| async move { Err(e) })?
    } else {
        let code = Secret::new(r.code.unwrap_or_default());
        let verifier = Secret::new(login.code_verifier.as_str());
        inner.spawn_op(OpKind::Redirect, move |inner, op| async move {
            let mut fields = exchange(&inner, op, code, Some(verifier)).await?;
            fields.insert("state".into(), app_state);
            Ok(fields)
        })?
    };
    Ok((op, clean))
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
    inner.config.redirect_uri()?;
    let code = Secret::new(code);
    let verifier = code_verifier.map(Secret::new);
    inner.spawn_op(OpKind::Exchange, move |inner, op| async move { exchange(&inner, op, code, verifier).await })
}

/// `grant_type=authorization_code`; stores the token and returns its result fields.
async fn exchange(
    inner: &Arc<Inner>,
    op: OpId,
    code: Secret,
    verifier: Option<Secret>,
) -> Result<Map<String, Value>, Error> {
    let cfg = &inner.config;
    let org_id = redirect::org_id_of_code(code.expose()).map(str::to_owned);
    let mut form = vec![
        ("grant_type", Secret::new("authorization_code")),
        ("code", code),
        ("redirect_uri", Secret::new(cfg.redirect_uri()?)),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    if cfg.self_contained_token {
        form.push(("self_contained_token", Secret::new("true")));
    }
    let mut body = inner.token_grant(form, false).await?;
    let tok = token::parse_token_response(&body, inner.now());
    crate::secret::wipe_map(&mut body);
    let tok = tok?;
    let mut fields = inner.store_token(tok, false, op, true);
    if let Some(org) = org_id {
        fields.insert("org_id".into(), Value::from(org));
    }
    Ok(fields)
}
