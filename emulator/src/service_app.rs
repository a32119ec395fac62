//! Service Apps: `POST /v1/applications/{applicationId}/token` (an integration's token
//! with `spark:applications_token` mints a Service App's tokens for an org whose admin
//! authorized the app), and `POST /v1/guests/token` (a Service App creates guests).

use base64::Engine as _;
use serde_json::{Value, json};

use crate::client_auth::decode_base64_lenient;
use crate::cloud::Cloud;
use crate::config::ServiceApp;
use crate::guest;
use crate::handler::{self, Answer};
use crate::ids;
use crate::reply;
use crate::script::Recorded;
use crate::session;
use crate::state::{Shared, Subject, SubjectType};

pub(crate) const APPLICATIONS_TOKEN_SCOPE: &str = "spark:applications_token";
pub(crate) const GUEST_WRITE_SCOPE: &str = "guest-issuer:write";
const APPLICATION_ID_PREFIX: &str = "ciscospark://us/APPLICATION/";

/// `base64("ciscospark://us/APPLICATION/" + client_id)`, unpadded as Webex ids are.
pub fn application_id(client_id: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{APPLICATION_ID_PREFIX}{client_id}"))
}

/// The client id inside an applicationId (either alphabet, padded or not).
fn client_id_of(application_id: &str) -> Option<String> {
    let decoded = String::from_utf8(decode_base64_lenient(application_id)?).ok()?;
    decoded.strip_prefix(APPLICATION_ID_PREFIX).map(str::to_string)
}

/// The org id a `targetOrgId` names: Webex's base64 form of `ciscospark://…/ORGANIZATION/id`
/// or the bare id.
fn org_of(target: &str) -> String {
    decode_base64_lenient(target)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|uri| uri.rsplit_once("/ORGANIZATION/").map(|(_, id)| id.to_string()))
        .unwrap_or_else(|| target.to_string())
}

fn json_body(req: &Recorded) -> Result<serde_json::Map<String, Value>, axum::response::Response> {
    match serde_json::from_str::<Value>(&req.body) {
        Ok(Value::Object(body)) => Ok(body),
        _ => Err(reply::webex_error(400, "The request body must be a JSON object.")),
    }
}

fn required<'b>(body: &'b serde_json::Map<String, Value>, key: &str) -> Result<&'b str, axum::response::Response> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| reply::webex_error(400, &format!("{key} is required")))
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_whitespace().any(|s| s == wanted)
}

/// `{applicationId}` of `/v1/applications/{applicationId}/token` (any cloud prefix).
fn application_id_in(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/v1/applications/")?;
    rest.strip_suffix("/token").filter(|id| !id.is_empty() && !id.contains('/'))
}

pub(crate) fn application_token(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    let mut store = shared.lock();
    let authorizing = session::bearer(&store, req)?;
    if !has_scope(&authorizing.scope, APPLICATIONS_TOKEN_SCOPE) {
        return Err(reply::webex_error(
            403,
            &format!("The authorizing token lacks the {APPLICATIONS_TOKEN_SCOPE} scope."),
        ));
    }
    let body = json_body(req)?;
    let (client_id, client_secret, target_org) =
        (required(&body, "clientId")?, required(&body, "clientSecret")?, required(&body, "targetOrgId")?);
    let app: ServiceApp = application_id_in(&req.path)
        .and_then(client_id_of)
        .and_then(|id| store.config.service_app(&id).cloned())
        .ok_or_else(|| reply::webex_error(404, "Service App not found."))?;
    if app.client_id != client_id {
        return Err(reply::webex_error(400, "clientId does not match the applicationId."));
    }
    if app.client_secret != client_secret {
        return Err(reply::webex_error(401, "The Service App's client credentials are invalid."));
    }
    let org = org_of(target_org);
    if !app.authorized || org != store.config.org_id {
        return Err(reply::webex_error(
            403,
            &format!(
                "Service App {} is not authorized by a Full Admin of org {org}: authorize it in Control Hub \
                 (Apps > Service Apps).",
                app.client_id
            ),
        ));
    }
    let subject = Subject {
        id: format!("service-app-{}", app.client_id),
        display_name: format!("Service App {}", app.client_id),
        email: format!("{}@serviceapps.example.com", app.client_id),
        kind: SubjectType::Bot,
    };
    let issued = store.issue(&app.client_id, &app.scope, &subject, true);
    drop(store);
    Ok(reply::json(200, issued.to_json()))
}

/// `{subject, displayName}` -> `{id, subject, displayName, email, accessToken, expiresIn}`.
/// The same subject again is the same guest (renamed when the name changed), with one
/// more token; earlier tokens stay valid. `people/me` with a guest token answers
/// `type: "appuser"`, Webex's word for a guest.
pub(crate) fn guests_token(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    if Cloud::of_path(&req.path) == Cloud::FedRamp {
        return Err(reply::webex_error(403, "Guest management is not available in FedRAMP organizations."));
    }
    let mut store = shared.lock();
    let token = session::bearer(&store, req)?;
    let app_id = token.client_id.clone();
    if !has_scope(&token.scope, GUEST_WRITE_SCOPE) || store.config.service_app(&app_id).is_none() {
        return Err(reply::webex_error(
            403,
            &format!("Creating guests needs a Service App token with the {GUEST_WRITE_SCOPE} scope."),
        ));
    }
    let body = json_body(req)?;
    let (subject_id, display_name) = (required(&body, "subject")?, required(&body, "displayName")?);
    let guest_uuid =
        store.guests.entry((app_id.clone(), subject_id.to_string())).or_insert_with(ids::uuid_like).clone();
    store.guest_names.insert(guest_uuid.clone(), display_name.to_string());
    let subject = Subject {
        id: guest_uuid.clone(),
        display_name: display_name.to_string(),
        email: format!("{guest_uuid}@appid.ciscospark.com"),
        kind: SubjectType::AppUser,
    };
    let ttl = store.config.guest_token_ttl_s;
    let access_token = guest::guest_token(shared, &mut store, &app_id, &subject, ttl);
    drop(store);
    Ok(reply::json(
        200,
        json!({
            "id": session::hydra_id(Cloud::Commercial, "PEOPLE", &guest_uuid),
            "subject": subject_id,
            "displayName": display_name,
            "email": subject.email,
            "accessToken": access_token,
            "expiresIn": ttl,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_ids_round_trip_in_any_form() {
        let id = application_id("Cabc123");
        assert!(!id.ends_with('='));
        assert_eq!(client_id_of(&id).as_deref(), Some("Cabc123"));
        let padded = base64::engine::general_purpose::STANDARD.encode(format!("{APPLICATION_ID_PREFIX}Cabc123"));
        assert_eq!(client_id_of(&padded).as_deref(), Some("Cabc123"));
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{APPLICATION_ID_PREFIX}C?>"));
        assert_eq!(client_id_of(&url_safe).as_deref(), Some("C?>"));
        assert_eq!(client_id_of("not base64!"), None);
        assert_eq!(application_id_in("/fedramp/v1/applications/abc/token"), Some("abc"));
        assert_eq!(application_id_in("/v1/applications//token"), None);
    }

    #[test]
    fn target_org_in_either_form() {
        let hydra = base64::engine::general_purpose::STANDARD_NO_PAD.encode("ciscospark://us/ORGANIZATION/org-1");
        assert_eq!(org_of(&hydra), "org-1");
        assert_eq!(org_of("org-1"), "org-1");
    }
}
