//! Ending and using sessions: idbroker logout, RFC 7009 revocation, `/v1/people/me`.

use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::client_auth;
use crate::reply;
use crate::script::Recorded;
use crate::state::Shared;

/// `{"token", "cisService"}` as JSON; a form `token` is taken too. Unknown tokens
/// still answer 200, as the idbroker does.
pub(crate) fn logout(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "POST" {
        return reply::method_not_allowed();
    }
    let token = match serde_json::from_str::<Value>(&req.body) {
        Ok(body) => body.get("token").and_then(Value::as_str).map(str::to_string),
        Err(_) => req.form_value("token").map(str::to_string),
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return reply::webex_error(400, "token is required");
    };
    let mut store = shared.lock();
    if let Some((grant, _)) = store.grant_of(&token) {
        store.revoke_grant(grant);
    }
    reply::json(200, json!({}))
}

/// RFC 7009: tokens of other clients are left alone, and the answer is 200 either way.
pub(crate) fn revoke(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "POST" {
        return reply::method_not_allowed();
    }
    let mut store = shared.lock();
    let client_id = match client_auth::authenticate(&store.config.clients, req) {
        Ok(client) => client.client_id.clone(),
        Err(why) => return reply::invalid_client(&why),
    };
    let Some(token) = req.form_value("token") else {
        return reply::oauth_error(400, "invalid_request", "token is required");
    };
    if let Some((grant, owner)) = store.grant_of(token)
        && owner == client_id
    {
        store.revoke_grant(grant);
    }
    reply::empty(200)
}

pub(crate) fn people_me(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "GET" {
        return reply::method_not_allowed();
    }
    let unauthorized = || {
        reply::webex_error(401, "The request requires a valid access token set in the Authorization request header.")
    };
    let Some(token) = req.bearer() else {
        return unauthorized();
    };
    let store = shared.lock();
    if !store.is_access_token_valid(token) {
        return unauthorized();
    }
    let Some(access) = store.access_tokens.get(token) else {
        return unauthorized();
    };
    let subject = access.subject.clone();
    let org_id = store.config.org_id.clone();
    drop(store);
    // Webex person ids are base64 of a `ciscospark://` URI.
    let id = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("ciscospark://us/PEOPLE/{}", subject.id));
    let org = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("ciscospark://us/ORGANIZATION/{org_id}"));
    reply::json(
        200,
        json!({
            "id": id,
            "emails": [subject.email],
            "displayName": subject.display_name,
            "orgId": org,
            "type": "person",
        }),
    )
}
