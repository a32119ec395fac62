//! Calls to Webex's REST API that belong to authorization: who a token is (`people/me`),
//! a Service App's token for an org (`applications/{id}/token`), and guests through a
//! Service App (`guests/token`, the Guest Issuer's replacement). Webex answers these in
//! camelCase; results use the library's snake_case names (both shapes are accepted).

use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Inner, OpId, OpKind};
use crate::error::{Error, Status};
use crate::protocol::token::{self, parse_seconds};
use crate::secret::{Secret, wipe_map, wipe_value};
use crate::transport::{self, Request, RequestBody};

/// How Webex names a Service App in its API: base64 of this and the client id (no padding).
const APPLICATION_ID_PREFIX: &str = "ciscospark://us/APPLICATION/";

/// `application_id` of a Service App's client id.
pub fn application_id(client_id: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{APPLICATION_ID_PREFIX}{client_id}"))
}

fn field<'a>(m: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| m.get(*n).filter(|v| !v.is_null()))
}

fn wipe_body(req: Request) {
    if let RequestBody::Json(mut v) = req.body {
        wipe_value(&mut v);
    }
}

impl Inner {
    /// Sends `make(token)` with the client's token; a 401 leads to one compare-and-refresh
    /// and one retry.
    async fn call_with_token(
        self: &Arc<Self>,
        op: OpId,
        make: impl Fn(&Secret) -> Request,
    ) -> Result<Map<String, Value>, Error> {
        let current = self.valid_token(op, 0).await?;
        let used = &current.token().access_token;
        let req = make(used);
        let first = transport::execute(&self.config.http, &req, self.policy(false)).await;
        wipe_body(req);
        match first {
            Err(e) if e.server().http_status == Some(401) => {
                let fresh = self.refresh_unless_changed(op, used).await?;
                let req = make(&fresh.token().access_token);
                let second = transport::execute(&self.config.http, &req, self.policy(false)).await;
                wipe_body(req);
                second
            }
            other => other,
        }
    }
}

pub fn start_whoami(inner: &Arc<Inner>) -> Result<OpId, Error> {
    inner.spawn_op(OpKind::Whoami, |inner, op| async move {
        let url = inner.config.endpoints.people_me.clone();
        let body = inner.call_with_token(op, |t| Request::get("people endpoint", &url).bearer(t)).await?;
        let mut m = Map::new();
        for (ours, theirs) in [
            ("id", &["id"][..]),
            ("emails", &["emails"][..]),
            ("display_name", &["displayName", "display_name"][..]),
            ("org_id", &["orgId", "org_id"][..]),
            ("type", &["type"][..]),
        ] {
            if let Some(v) = field(&body, theirs) {
                m.insert(ours.into(), v.clone());
            }
        }
        Ok(m)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceAppOptions {
    target_org_id: Option<String>,
    authorizing_token: Option<String>,
    application_id: Option<String>,
}

fn required(v: Option<String>, name: &str) -> Result<String, Error> {
    v.filter(|s| !s.trim().is_empty()).ok_or_else(|| Error::invalid(format!("`{name}` is required")))
}

/// A Service App's token for an org whose admin authorized it; it becomes the client's
/// token and refreshes like any other (with the Service App's own id and secret).
pub fn start_service_app_token(inner: &Arc<Inner>, options_json: Option<&str>) -> Result<OpId, Error> {
    let json = options_json
        .ok_or_else(|| Error::invalid("Service App options are required: `target_org_id` and `authorizing_token`"))?;
    let opts: ServiceAppOptions = crate::protocol::json::from_str("Service App options", json)?;
    let target_org_id = required(opts.target_org_id, "target_org_id")?;
    // Never the client's own token: a Service App's token is minted with an integration's.
    let authorizing = Secret::new(required(opts.authorizing_token, "authorizing_token")?);
    let cfg = &inner.config;
    let secret = cfg
        .client_secret
        .clone()
        .ok_or_else(|| Error::invalid("a Service App token needs the Service App's `client_secret` in the config"))?;
    let app_id = opts.application_id.unwrap_or_else(|| application_id(&cfg.client_id));
    let mut url = cfg.endpoints.applications.clone();
    url.path_segments_mut()
        .map_err(|_| Error::internal("the API base cannot take a path"))?
        .push(&app_id)
        .push("token");
    let client_id = cfg.client_id.clone();
    inner.spawn_op(OpKind::ServiceApp, move |inner, op| async move {
        let req = Request::post("Service App token endpoint", &url)
            .bearer(&authorizing)
            .json(json!({"clientId": client_id, "clientSecret": secret.expose(), "targetOrgId": target_org_id}));
        let answer = transport::execute(&inner.config.http, &req, inner.policy(false)).await;
        wipe_body(req);
        let mut body = answer.map_err(|e| {
            if e.server().http_status == Some(403) {
                Error::with_server(
                    e.status(),
                    "the Service App token endpoint answered HTTP 403: the Service App is not authorized in this \
                     org (or the authorizing token lacks spark:applications_token); a Full Admin of the org must \
                     authorize it in Control Hub (Apps > Service Apps)",
                    e.server().clone(),
                )
            } else {
                e
            }
        })?;
        let tok = token::parse_token_response(&body, inner.now());
        wipe_map(&mut body);
        Ok(inner.install_login(tok?, false, op).await)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestOptions {
    subject: Option<String>,
    #[serde(alias = "displayName")]
    display_name: Option<String>,
}

/// A guest token minted by a Service App (`guests/token`) with the client's (Service
/// App) token. The guest's token is the result; it does not become the client's.
pub fn start_create_guest(inner: &Arc<Inner>, options_json: Option<&str>) -> Result<OpId, Error> {
    inner.config.environment.refuse_guests("create_guest")?;
    let json = options_json.ok_or_else(|| Error::invalid("guest options are required: `subject`"))?;
    let opts: GuestOptions = crate::protocol::json::from_str("guest options", json)?;
    let subject = required(opts.subject, "subject")?;
    // Webex requires a display name; the subject stands in when none is given.
    let display_name = opts.display_name.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| subject.clone());
    inner.spawn_op(OpKind::CreateGuest, move |inner, op| async move {
        let url = inner.config.endpoints.guests_token.clone();
        let mut body = inner
            .call_with_token(op, |t| {
                Request::post("guests endpoint", &url)
                    .bearer(t)
                    .json(json!({"subject": subject, "displayName": display_name}))
            })
            .await?;
        let result = guest_result(&body);
        wipe_map(&mut body);
        result
    })
}

fn guest_result(body: &Map<String, Value>) -> Result<Map<String, Value>, Error> {
    let malformed = |what: &str| Error::new(Status::Http, format!("malformed guest token answer: {what}"));
    let access_token = field(body, &["accessToken", "access_token"])
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("no accessToken"))?;
    let mut m = Map::new();
    m.insert("access_token".into(), Value::from(access_token));
    m.insert("token_type".into(), Value::from("Bearer"));
    if let Some(v) = field(body, &["expiresIn", "expires_in"]) {
        let secs = parse_seconds(v)
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as i64))
            .ok_or_else(|| malformed("expiresIn is not a number of seconds"))?;
        m.insert("expires_in".into(), Value::from(secs));
    }
    for (ours, theirs) in [
        ("id", &["id"][..]),
        ("subject", &["subject"][..]),
        ("display_name", &["displayName", "display_name"][..]),
        ("email", &["email"][..]),
    ] {
        if let Some(v) = field(body, theirs) {
            m.insert(ours.into(), v.clone());
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_ids_are_unpadded_base64_of_the_prefixed_client_id() {
        let id = application_id("C0123");
        assert!(!id.ends_with('='));
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD.decode(&id).unwrap();
        assert_eq!(decoded, b"ciscospark://us/APPLICATION/C0123");
    }

    #[test]
    fn guest_answers_in_either_case() {
        let camel = json!({"accessToken":"g","expiresIn":64799.0,"id":"p","subject":"s","displayName":"D","email":"e"});
        let m = guest_result(camel.as_object().unwrap()).unwrap();
        assert_eq!((m["access_token"].as_str(), m["expires_in"].as_i64()), (Some("g"), Some(64799)));
        assert_eq!(m["display_name"], "D");
        let snake = json!({"access_token":"g","expires_in":"60","display_name":"D"});
        assert_eq!(guest_result(snake.as_object().unwrap()).unwrap()["expires_in"], 60);
        assert!(guest_result(json!({"id":"p"}).as_object().unwrap()).is_err());
    }
}
