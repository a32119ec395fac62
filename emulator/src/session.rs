//! Ending and using sessions: idbroker logout, revocation (RFC 7009 and the identity
//! broker's), `/v1/people/me`.

use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::cloud::Cloud;
use crate::handler::{self, Answer};
use crate::reply;
use crate::script::Recorded;
use crate::state::{AccessToken, Shared, Store};

/// `{"token", "cisService"}` as JSON; a form `token` is taken too. Unknown tokens
/// still answer 200, as the idbroker does.
pub(crate) fn logout(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    let token = match serde_json::from_str::<Value>(&req.body) {
        Ok(body) => body.get("token").and_then(Value::as_str).map(str::to_string),
        Err(_) => req.form_value("token").map(str::to_string),
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(reply::webex_error(400, "token is required"));
    };
    let mut store = shared.lock();
    if let Some((grant, _)) = store.grant_of(&token) {
        store.revoke_grant(grant);
    }
    Ok(reply::json(200, json!({})))
}

/// RFC 7009: tokens of other clients are left alone, and the answer is 200 either way.
pub(crate) fn revoke(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    let mut store = shared.lock();
    let client = handler::client(&store.config.token_clients(), req)?;
    let token = handler::form(req, "token")?;
    if let Some((grant, owner)) = store.grant_of(token)
        && owner == client.client_id
    {
        store.revoke_grant(grant);
    }
    Ok(reply::empty(200))
}

/// Webex's 401 for a missing, unknown or expired token.
pub(crate) fn unauthorized() -> Response {
    reply::webex_error(401, "The request requires a valid access token set in the Authorization request header.")
}

/// The unexpired access token of the request's `Authorization: Bearer`, or Webex's 401.
pub(crate) fn bearer<'s>(store: &'s Store, req: &Recorded) -> Result<&'s AccessToken, Response> {
    let token = req.bearer().ok_or_else(unauthorized)?;
    let now = store.now();
    store.access_tokens.get(token).filter(|t| t.expires_at > now).ok_or_else(unauthorized)
}

/// Webex ids are unpadded base64 of a `ciscospark://CLUSTER/KIND/id` URI (`us`, or
/// FedRAMP's `urn:TEAM:us-gov-west-1_a1`).
pub(crate) fn hydra_id(cloud: Cloud, kind: &str, id: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("ciscospark://{}/{kind}/{id}", cloud.id_cluster()))
}

/// `{id, emails, displayName, orgId, type}` of the token's subject; `type` is `person`,
/// `bot` (Service Apps, client credentials) or `appuser` (guests).
pub(crate) fn people_me(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["GET"])?;
    let cloud = Cloud::of_path(&req.path);
    let store = shared.lock();
    let subject = bearer(&store, req)?.subject.clone();
    // A guest renamed by a later guests/token call is shown by its new name.
    let name = store.guest_names.get(&subject.id).cloned().unwrap_or(subject.display_name);
    let org_id = store.config.org_id.clone();
    drop(store);
    Ok(reply::json(
        200,
        json!({
            "id": hydra_id(cloud, "PEOPLE", &subject.id),
            "emails": [subject.email],
            "displayName": name,
            "orgId": hydra_id(cloud, "ORGANIZATION", &org_id),
            "type": subject.kind.name(),
        }),
    ))
}
