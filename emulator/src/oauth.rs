//! `/v1/authorize` (automatic consent) and `/v1/access_token` (every grant).

use std::time::Instant;

use axum::response::Response;
use serde_json::{Value, json};

use crate::client_auth;
use crate::device;
use crate::ids;
use crate::pkce;
use crate::reply;
use crate::script::Recorded;
use crate::state::{CODE_TTL, Issued, PendingCode, Shared, Subject};

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_SCOPE: &str = "spark:all";

pub(crate) fn authorize(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "GET" {
        return reply::method_not_allowed();
    }
    let q = |k: &str| req.query_value(k);
    let Some(client_id) = q("client_id") else {
        return reply::oauth_error(400, "invalid_request", "client_id is required");
    };
    let Some(redirect_uri) = q("redirect_uri") else {
        return reply::oauth_error(400, "invalid_request", "redirect_uri is required");
    };

    let mut store = shared.lock();
    let Some(client) = store.config.client(&client_id).cloned() else {
        return reply::oauth_error(400, "invalid_client", "unknown client_id");
    };
    if !client.redirect_uris.contains(&redirect_uri) {
        return reply::oauth_error(400, "invalid_request", "redirect_uri is not registered for this client");
    }
    let state = q("state");
    // From here on the redirect target is trusted, so errors travel back through it.
    let error_redirect = |error: &str, description: &str| {
        redirect_with(&redirect_uri, &[("error", error), ("error_description", description)], state.as_deref())
    };
    if let Some(forced) = q("force_error") {
        return error_redirect(&forced, "error forced by the emulator's force_error parameter");
    }
    if q("response_type").as_deref() != Some("code") {
        return error_redirect("unsupported_response_type", "response_type must be code");
    }
    let challenge = q("code_challenge");
    match (&challenge, q("code_challenge_method").as_deref()) {
        (None, _) if client.is_public() => {
            return error_redirect("invalid_request", "code_challenge is required for public clients");
        }
        (Some(_), method) if method != Some("S256") => {
            return error_redirect("invalid_request", "code_challenge_method must be S256");
        }
        (Some(c), _) if c.len() != 43 => {
            return error_redirect("invalid_request", "code_challenge must be 43 base64url characters");
        }
        _ => {}
    }

    let code = ids::authorization_code(&store.config.org_id);
    store.codes.insert(
        code.clone(),
        PendingCode {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            code_challenge: challenge,
            scope: q("scope").unwrap_or_else(|| DEFAULT_SCOPE.to_string()),
            expires_at: Instant::now() + CODE_TTL,
        },
    );
    drop(store);
    redirect_with(&redirect_uri, &[("code", &code)], state.as_deref())
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return reply::oauth_error(400, "invalid_request", "redirect_uri is not an absolute URL");
    };
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
    }
    reply::redirect(url.as_str())
}

pub(crate) fn token_json(issued: &Issued) -> Value {
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    });
    if let Some((refresh_token, refresh_expires_in)) = &issued.refresh {
        body["refresh_token"] = json!(refresh_token);
        body["refresh_token_expires_in"] = json!(refresh_expires_in);
    }
    body
}

pub(crate) fn token(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "POST" {
        return reply::method_not_allowed();
    }
    match req.form_value("grant_type") {
        None => reply::oauth_error(400, "invalid_request", "grant_type is required"),
        Some("authorization_code") => authorization_code(shared, req),
        Some("refresh_token") => refresh(shared, req),
        Some("client_credentials") => client_credentials(shared, req),
        Some(DEVICE_GRANT) => device::poll(shared, req),
        Some(other) => {
            reply::oauth_error(400, "unsupported_grant_type", &format!("grant_type {other} is not supported"))
        }
    }
}

fn authorization_code(shared: &Shared, req: &Recorded) -> Response {
    let mut store = shared.lock();
    let client = match client_auth::authenticate(&store.config.clients, req) {
        Ok(client) => client.clone(),
        Err(why) => return reply::invalid_client(&why),
    };
    let Some(code) = req.form_value("code") else {
        return reply::oauth_error(400, "invalid_request", "code is required");
    };
    let Some(redirect_uri) = req.form_value("redirect_uri") else {
        return reply::oauth_error(400, "invalid_request", "redirect_uri is required");
    };
    // Any attempt spends the code, as real servers do against replay.
    let Some(pending) = store.codes.remove(code) else {
        return reply::oauth_error(400, "invalid_grant", "unknown, expired or already used code");
    };
    let refusal = if pending.expires_at <= Instant::now() {
        Some("the code has expired")
    } else if pending.client_id != client.client_id {
        Some("the code was issued to another client")
    } else if pending.redirect_uri != redirect_uri {
        Some("redirect_uri differs from the one used at authorize")
    } else {
        match (&pending.code_challenge, req.form_value("code_verifier")) {
            (Some(_), None) => Some("code_verifier is required"),
            (Some(challenge), Some(verifier)) if !pkce::verify(challenge, verifier) => {
                Some("code_verifier does not match the code_challenge")
            }
            _ => None,
        }
    };
    if let Some(why) = refusal {
        return reply::oauth_error(400, "invalid_grant", why);
    }
    let issued = store.issue(&client.client_id, &pending.scope, &Subject::user(), true);
    drop(store);
    reply::json(200, token_json(&issued))
}

fn refresh(shared: &Shared, req: &Recorded) -> Response {
    let mut store = shared.lock();
    let client = match client_auth::authenticate(&store.config.clients, req) {
        Ok(client) => client.clone(),
        Err(why) => return reply::invalid_client(&why),
    };
    let Some(refresh_token) = req.form_value("refresh_token") else {
        return reply::oauth_error(400, "invalid_request", "refresh_token is required");
    };
    let now = Instant::now();
    let (grant, scope, subject, remaining) = match store.refresh_tokens.get(refresh_token) {
        Some(t) if t.client_id != client.client_id => {
            return reply::oauth_error(400, "invalid_grant", "the refresh token was issued to another client");
        }
        Some(t) if t.expires_at > now => (t.grant, t.scope.clone(), t.subject.clone(), (t.expires_at - now).as_secs()),
        _ => {
            return reply::oauth_error(400, "invalid_grant", "unknown, expired or revoked refresh token");
        }
    };
    let expires_in = store.config.access_token_ttl_s;
    let access_token = store.issue_access(grant, &client.client_id, &subject, expires_in);
    drop(store);
    // Webex does not rotate refresh tokens: the same one comes back.
    let issued = Issued { access_token, expires_in, refresh: Some((refresh_token.to_string(), remaining)), scope };
    reply::json(200, token_json(&issued))
}

fn client_credentials(shared: &Shared, req: &Recorded) -> Response {
    let mut store = shared.lock();
    let client = match client_auth::authenticate(&store.config.clients, req) {
        Ok(client) => client.clone(),
        Err(why) => return reply::invalid_client(&why),
    };
    if client.is_public() {
        return reply::oauth_error(400, "unauthorized_client", "public clients cannot use client_credentials");
    }
    let scope = req.form_value("scope").unwrap_or(DEFAULT_SCOPE);
    let subject = Subject {
        id: format!("client-{}", client.client_id),
        display_name: format!("Client {}", client.client_id),
        email: format!("{}@clients.example.com", client.client_id),
    };
    let issued = store.issue(&client.client_id, scope, &subject, false);
    drop(store);
    reply::json(200, token_json(&issued))
}
