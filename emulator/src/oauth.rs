//! The authorization server: `authorize` (consent page or automatic consent) and the
//! token endpoint with every grant it takes.

use std::time::Duration;

use axum::response::Response;

use crate::cloud::Cloud;
use crate::config::Consent;
use crate::device;
use crate::handler::{self, Answer};
use crate::ids;
use crate::oidc;
use crate::pages;
use crate::pkce;
use crate::reply;
use crate::script::Recorded;
use crate::state::{CODE_TTL, PendingCode, PendingConsent, Shared, Store, Subject, SubjectType};
use crate::tokens::{DEFAULT_SCOPE, DEVICE_GRANT, Issued, SCOPE_REDUCTION_GRANT};

/// How long a consent page may stay open before its answer is refused.
const CONSENT_TTL: Duration = Duration::from_secs(600);

/// `GET`: checks the request, then shows the consent page (browsers, or always with
/// `Consent::Page`) or consents at once. `POST`: the consent page's answer.
pub(crate) fn authorize(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["GET", "POST"])?;
    if req.method == "POST" {
        return consent_answer(shared, req);
    }
    let q = |k: &str| req.query_value(k);
    let client_id = handler::query(req, "client_id")?;
    let redirect_uri = handler::query(req, "redirect_uri")?;

    let mut store = shared.lock();
    let Some(client) = store.config.client(&client_id).cloned() else {
        return Err(reply::oauth_error(400, "invalid_client", "unknown client_id"));
    };
    if !client.allows_redirect(&redirect_uri) {
        return Err(reply::oauth_error(400, "invalid_request", "redirect_uri is not registered for this client"));
    }
    let state = q("state");
    // From here on the redirect target is trusted, so errors travel back through it.
    let error_redirect = |error: &str, description: &str| {
        redirect_with(&redirect_uri, &[("error", error), ("error_description", description)], state.as_deref())
    };
    if let Some(forced) = q("force_error") {
        return Ok(error_redirect(&forced, "error forced by the emulator's force_error parameter"));
    }
    if q("response_type").as_deref() != Some("code") {
        return Ok(error_redirect("unsupported_response_type", "response_type must be code"));
    }
    let challenge = q("code_challenge");
    match (&challenge, q("code_challenge_method").as_deref()) {
        (None, _) if client.is_public() => {
            return Ok(error_redirect("invalid_request", "code_challenge is required for public clients"));
        }
        (Some(_), method) if method != Some("S256") => {
            return Ok(error_redirect("invalid_request", "code_challenge_method must be S256"));
        }
        (Some(c), _) if c.len() != 43 => {
            return Ok(error_redirect("invalid_request", "code_challenge must be 43 base64url characters"));
        }
        _ => {}
    }
    let scope = q("scope").unwrap_or_else(|| DEFAULT_SCOPE.to_string());
    let nonce = q("nonce");

    let show_page = match store.config.consent {
        Consent::Auto => false,
        Consent::Page => true,
        Consent::Browser => req.wants_html(),
    };
    if show_page {
        let consent_id = ids::alnum(32);
        let expires_at = store.now() + CONSENT_TTL;
        store.consents.insert(
            consent_id.clone(),
            PendingConsent {
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                code_challenge: challenge,
                scope: scope.clone(),
                state,
                nonce,
                expires_at,
            },
        );
        drop(store);
        let subject = Subject::user();
        return Ok(pages::consent(&req.path, &consent_id, &client.client_id, &scope, &redirect_uri, &subject));
    }
    let code = issue_code(&mut store, &client.client_id, &redirect_uri, challenge, &scope, nonce);
    drop(store);
    Ok(redirect_with(&redirect_uri, &[("code", &code)], state.as_deref()))
}

fn issue_code(
    store: &mut Store,
    client_id: &str,
    redirect_uri: &str,
    challenge: Option<String>,
    scope: &str,
    nonce: Option<String>,
) -> String {
    let code = ids::authorization_code(&store.config.org_id);
    let expires_at = store.now() + CODE_TTL;
    store.codes.insert(
        code.clone(),
        PendingCode {
            client_id: client_id.to_string(),
            redirect_uri: redirect_uri.to_string(),
            code_challenge: challenge,
            scope: scope.to_string(),
            nonce,
            expires_at,
        },
    );
    code
}

/// The consent form's POST: `consent` (the id the page carried) and `decision`
/// (`allow` or `deny`). Each consent is answered once.
fn consent_answer(shared: &Shared, req: &Recorded) -> Answer {
    let consent_id = handler::form(req, "consent")?;
    let mut store = shared.lock();
    let now = store.now();
    let Some(consent) = store.consents.remove(consent_id).filter(|c| c.expires_at > now) else {
        return Err(pages::message(
            400,
            "This sign-in request has expired",
            "Start the sign-in again from the application.",
        ));
    };
    match req.form_value("decision") {
        Some("allow") => {
            let code = issue_code(
                &mut store,
                &consent.client_id,
                &consent.redirect_uri,
                consent.code_challenge,
                &consent.scope,
                consent.nonce,
            );
            drop(store);
            Ok(redirect_with(&consent.redirect_uri, &[("code", &code)], consent.state.as_deref()))
        }
        Some("deny") => Ok(redirect_with(
            &consent.redirect_uri,
            &[("error", "access_denied"), ("error_description", "the user denied the request")],
            consent.state.as_deref(),
        )),
        _ => Err(reply::oauth_error(400, "invalid_request", "decision must be allow or deny")),
    }
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
    // 303 after the consent form's POST would be more exact, but 302 is what browsers
    // and every client follow with a GET, and what the engine's tests expect.
    reply::redirect(url.as_str())
}

pub(crate) fn token(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    match handler::form(req, "grant_type")? {
        "authorization_code" => authorization_code(shared, req),
        "refresh_token" => refresh(shared, req),
        "client_credentials" => client_credentials(shared, req),
        DEVICE_GRANT => device::poll(shared, req),
        SCOPE_REDUCTION_GRANT => scope_reduction(shared, req),
        other => {
            Err(reply::oauth_error(400, "unsupported_grant_type", &format!("grant_type {other} is not supported")))
        }
    }
}

fn authorization_code(shared: &Shared, req: &Recorded) -> Answer {
    let mut store = shared.lock();
    let client = handler::client(&store.config.token_clients(), req)?;
    let code = handler::form(req, "code")?;
    let redirect_uri = handler::form(req, "redirect_uri")?;
    // Any attempt spends the code, as real servers do against replay.
    let Some(pending) = store.codes.remove(code) else {
        return Err(reply::oauth_error(400, "invalid_grant", "unknown, expired or already used code"));
    };
    let refusal = if pending.expires_at <= store.now() {
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
        return Err(reply::oauth_error(400, "invalid_grant", why));
    }
    let subject = Subject::user();
    let issued = store.issue(&client.client_id, &pending.scope, &subject, true);
    drop(store);
    let mut body = issued.to_json();
    // OpenID Connect: an id_token when the scope asked for one (code grant only, as
    // on Webex, where the device grant takes no OpenID scopes).
    if pending.scope.split_whitespace().any(|s| s == "openid") {
        let request = oidc::IdTokenRequest {
            cloud: Cloud::of_path(&req.path),
            client_id: &client.client_id,
            subject: &subject,
            nonce: pending.nonce.as_deref(),
        };
        body["id_token"] = serde_json::json!(oidc::id_token(shared, &request));
    }
    Ok(reply::json(200, body))
}

/// Webex's words for a refresh token that is expired, revoked or unknown.
pub(crate) const DEAD_REFRESH_TOKEN: &str = "The refresh token provided is expired, revoked, malformed, or invalid.";

/// Webex does not rotate refresh tokens: the same one comes back, its life renewed by
/// the refresh ("refresh tokens, when regularly used, last forever").
fn refresh(shared: &Shared, req: &Recorded) -> Answer {
    let mut store = shared.lock();
    let client = handler::client(&store.config.token_clients(), req)?;
    let refresh_token = handler::form(req, "refresh_token")?;
    let now = store.now();
    let ttl = store.config.refresh_token_ttl_s;
    let (grant, scope, subject) = match store.refresh_tokens.get_mut(refresh_token) {
        Some(t) if t.client_id != client.client_id => {
            return Err(reply::oauth_error(400, "invalid_grant", "the refresh token was issued to another client"));
        }
        Some(t) if t.expires_at > now => {
            t.expires_at = now + std::time::Duration::from_secs(ttl);
            (t.grant, t.scope.clone(), t.subject.clone())
        }
        _ => return Err(reply::oauth_error(400, "invalid_grant", DEAD_REFRESH_TOKEN)),
    };
    let expires_in = store.config.access_token_ttl_s;
    let access_token = store.issue_access(grant, &client.client_id, &scope, &subject, expires_in);
    drop(store);
    let issued = Issued { access_token, expires_in, refresh: Some((refresh_token.to_string(), ttl)), scope };
    Ok(reply::json(200, issued.to_json()))
}

fn client_credentials(shared: &Shared, req: &Recorded) -> Answer {
    let mut store = shared.lock();
    let client = handler::client(&store.config.token_clients(), req)?;
    if client.is_public() {
        return Err(reply::oauth_error(400, "unauthorized_client", "public clients cannot use client_credentials"));
    }
    let scope = req.form_value("scope").unwrap_or(DEFAULT_SCOPE);
    let subject = Subject {
        id: format!("client-{}", client.client_id),
        display_name: format!("Client {}", client.client_id),
        email: format!("{}@clients.example.com", client.client_id),
        kind: SubjectType::Bot,
    };
    let issued = store.issue(&client.client_id, scope, &subject, false);
    drop(store);
    Ok(reply::json(200, issued.to_json()))
}

/// The SDK's `downscope`: form `token`, `scope` (a subset of the token's), `client_id`,
/// no client secret. Answers a new access token of the same grant with that scope.
fn scope_reduction(shared: &Shared, req: &Recorded) -> Answer {
    let mut store = shared.lock();
    let client = handler::identified_client(&store.config.token_clients(), req)?;
    let token = handler::form(req, "token")?;
    let wanted = handler::form(req, "scope")?;
    let now = store.now();
    let Some(parent) = store.access_tokens.get(token).filter(|t| t.expires_at > now) else {
        return Err(reply::oauth_error(400, "invalid_grant", "unknown or expired token"));
    };
    if parent.client_id != client.client_id {
        return Err(reply::oauth_error(400, "invalid_grant", "the token was issued to another client"));
    }
    let held: Vec<&str> = parent.scope.split_whitespace().collect();
    if wanted.split_whitespace().any(|s| !held.contains(&s)) {
        return Err(reply::oauth_error(400, "invalid_scope", "the scope is not a subset of the token's scope"));
    }
    let (grant, subject, remaining) = (parent.grant, parent.subject.clone(), (parent.expires_at - now).as_secs());
    let access_token = store.issue_access(grant, &client.client_id, wanted, &subject, remaining);
    drop(store);
    let issued = Issued { access_token, expires_in: remaining, refresh: None, scope: wanted.to_string() };
    Ok(reply::json(200, issued.to_json()))
}
