//! `/_emulator/*`: the same controls as the library API, for tests in other languages.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::{self, ClientRegistration, Consent, EmulatorConfig, ServiceApp};
use crate::reply;
use crate::script::{Endpoint, Scripted};
use crate::sdk;
use crate::state::SharedRef;

pub(crate) fn router() -> Router<SharedRef> {
    Router::new()
        .route("/script", post(script))
        .route("/clear_scripts", post(clear_scripts))
        .route("/requests", get(requests))
        .route("/clear_requests", post(clear_requests))
        .route("/delay", post(delay))
        .route("/device/approve", post(approve))
        .route("/device/deny", post(deny))
        .route("/device/pending", get(pending))
        .route("/expire_refresh_tokens", post(expire_refresh_tokens))
        .route("/info", get(info))
        .route("/config", post(config))
        .route("/sdk-config", get(sdk_config))
        .route("/clock/advance", post(advance_clock))
        .route("/clock/reset", post(reset_clock))
        .route("/jwks/rotate", post(rotate_keys))
        .route("/service_apps/authorize", post(authorize_service_app))
}

pub(crate) fn query_value(query: Option<&str>, keys: &[&str]) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| keys.contains(&k.as_ref()))
        .map(|(_, v)| v.into_owned())
}

fn bad_request(why: &str) -> Response {
    reply::oauth_error(400, "invalid_request", why)
}

fn ok() -> Response {
    reply::json(200, json!({"ok": true}))
}

/// Admin handlers fail with a message; this turns it into a 400.
fn answer(result: Result<Response, String>) -> Response {
    result.unwrap_or_else(|why| bad_request(&why))
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad JSON body: {e}"))
}

fn endpoint_named(name: &str) -> Result<Endpoint, String> {
    Endpoint::from_name(name).ok_or_else(|| format!("unknown endpoint {name:?}"))
}

#[derive(Deserialize)]
struct ScriptRequest {
    endpoint: String,
    responses: Vec<Scripted>,
}

async fn script(State(shared): State<SharedRef>, body: Bytes) -> Response {
    answer((|| {
        let request: ScriptRequest = parse(&body)?;
        let endpoint = endpoint_named(&request.endpoint)?;
        for scripted in &request.responses {
            scripted.validate()?;
        }
        shared.script(endpoint, request.responses);
        Ok(ok())
    })())
}

async fn clear_scripts(State(shared): State<SharedRef>) -> Response {
    shared.clear_scripts();
    ok()
}

/// Each entry is a `Recorded`, plus the `endpoint` it arrived at.
async fn requests(State(shared): State<SharedRef>, RawQuery(query): RawQuery) -> Response {
    let endpoint = match query_value(query.as_deref(), &["endpoint"]).map(|name| endpoint_named(&name)) {
        Some(Ok(endpoint)) => Some(endpoint),
        Some(Err(why)) => return bad_request(&why),
        None => None,
    };
    let list: Vec<Value> = shared
        .requests(endpoint)
        .into_iter()
        .map(|(endpoint, recorded)| {
            let mut value = serde_json::to_value(recorded).unwrap_or(Value::Null);
            value["endpoint"] = json!(endpoint);
            value
        })
        .collect();
    reply::json(200, Value::Array(list))
}

async fn clear_requests(State(shared): State<SharedRef>) -> Response {
    shared.clear_requests();
    ok()
}

#[derive(Deserialize)]
struct DelayRequest {
    endpoint: String,
    delay_ms: u64,
}

async fn delay(State(shared): State<SharedRef>, body: Bytes) -> Response {
    answer((|| {
        let request: DelayRequest = parse(&body)?;
        let endpoint = endpoint_named(&request.endpoint)?;
        shared.set_delay(endpoint, Duration::from_millis(request.delay_ms));
        Ok(ok())
    })())
}

#[derive(Deserialize)]
struct UserCodeRequest {
    user_code: String,
}

async fn approve(State(shared): State<SharedRef>, body: Bytes) -> Response {
    answer(
        parse::<UserCodeRequest>(&body)
            .map(|r| reply::json(200, json!({"ok": shared.approve_user_code(&r.user_code)}))),
    )
}

async fn deny(State(shared): State<SharedRef>, body: Bytes) -> Response {
    answer(
        parse::<UserCodeRequest>(&body).map(|r| reply::json(200, json!({"ok": shared.deny_user_code(&r.user_code)}))),
    )
}

async fn pending(State(shared): State<SharedRef>) -> Response {
    reply::json(200, json!({"user_codes": shared.pending_user_codes()}))
}

async fn expire_refresh_tokens(State(shared): State<SharedRef>) -> Response {
    shared.expire_refresh_tokens();
    ok()
}

async fn info(State(shared): State<SharedRef>) -> Response {
    let config = shared.config();
    reply::json(
        200,
        json!({
            "base_url": shared.base_url,
            "api_url": format!("{}/v1", shared.base_url),
            "idbroker_url": shared.base_url,
            "guest_issuer": config.guest_issuer,
            "guest_secret_b64": config.guest_secret_b64,
            "org_id": config.org_id,
            "clients": config.clients,
            "consent": config.consent,
            "service_apps": config.service_apps,
            "fedramp_api_url": format!("{}/fedramp/v1", shared.base_url),
            "fedramp_idbroker_url": format!("{}/fedramp", shared.base_url),
            "oidc_issuer": crate::oidc::issuer(&shared, crate::cloud::Cloud::Commercial, config.oidc_issuer.as_deref()),
            "jwks_uri": format!("{}/v1/verification", shared.base_url),
            "signing_kids": shared.lock().keys.kids(),
        }),
    )
}

/// `?client_id=` (default: the first registered client): the Webex JS SDK's config.
async fn sdk_config(State(shared): State<SharedRef>, RawQuery(query): RawQuery) -> Response {
    let config = shared.config();
    let wanted = query_value(query.as_deref(), &["client_id"]);
    let client = match &wanted {
        Some(id) => config.clients.iter().find(|c| &c.client_id == id),
        None => config.clients.first(),
    };
    match client {
        Some(client) => reply::json(200, sdk::sdk_config(&shared.base_url, client)),
        None => bad_request("no such client"),
    }
}

/// Back to the real time, for the next test on a shared emulator.
async fn reset_clock(State(shared): State<SharedRef>) -> Response {
    shared.reset_clock();
    ok()
}

#[derive(Deserialize)]
struct RotateRequest {
    #[serde(default = "yes")]
    keep_old: bool,
}

fn yes() -> bool {
    true
}

/// `{"keep_old": true}` (the default) keeps the old keys in the JWKS beside the new one.
async fn rotate_keys(State(shared): State<SharedRef>, body: Bytes) -> Response {
    let request = if body.is_empty() { Ok(RotateRequest { keep_old: true }) } else { parse::<RotateRequest>(&body) };
    answer(request.map(|r| {
        let kid = shared.lock().keys.rotate(r.keep_old);
        reply::json(200, json!({"ok": true, "kid": kid, "kids": shared.lock().keys.kids()}))
    }))
}

#[derive(Deserialize)]
struct AuthorizeAppRequest {
    client_id: String,
    authorized: bool,
}

/// The Control Hub switch: whether a Full Admin authorized the Service App in the org.
async fn authorize_service_app(State(shared): State<SharedRef>, body: Bytes) -> Response {
    answer(
        parse::<AuthorizeAppRequest>(&body)
            .map(|r| reply::json(200, json!({"ok": shared.set_service_app_authorized(&r.client_id, r.authorized)}))),
    )
}

#[derive(Deserialize)]
struct AdvanceRequest {
    seconds: u64,
}

/// Moves the emulator's clock forward: every expiry comes `seconds` sooner.
async fn advance_clock(State(shared): State<SharedRef>, body: Bytes) -> Response {
    answer(parse::<AdvanceRequest>(&body).map(|r| {
        shared.advance_clock(Duration::from_secs(r.seconds));
        ok()
    }))
}

#[derive(Deserialize)]
struct ServiceAppJson {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default = "yes")]
    authorized: bool,
}

#[derive(Deserialize)]
struct ClientJson {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

/// Applies every known key or none: a typo must not half-apply a change.
async fn config(State(shared): State<SharedRef>, body: Bytes) -> Response {
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("the body must be a JSON object");
    };
    let mut next = shared.config();
    for (key, value) in &changes {
        if let Err(why) = apply_config_key(&mut next, key, value) {
            return bad_request(&why);
        }
    }
    shared.update_config(|config| *config = next);
    ok()
}

fn apply_config_key(config: &mut EmulatorConfig, key: &str, value: &Value) -> Result<(), String> {
    let seconds = || value.as_u64().ok_or_else(|| format!("{key} must be a non-negative integer"));
    let text = || value.as_str().map(str::to_string).ok_or_else(|| format!("{key} must be a string"));
    match key {
        "access_token_ttl_s" => config.access_token_ttl_s = seconds()?,
        "refresh_token_ttl_s" => config.refresh_token_ttl_s = seconds()?,
        "device_expires_in_s" => config.device_expires_in_s = seconds()?,
        "device_interval_s" if value.is_null() => config.device_interval_s = None,
        "device_interval_s" => config.device_interval_s = Some(seconds()?),
        "guest_token_ttl_s" => config.guest_token_ttl_s = seconds()?,
        "guest_issuer" => config.guest_issuer = text()?,
        "guest_secret_b64" => {
            let secret = text()?;
            config::check_guest_secret(&secret).map_err(|why| format!("guest_secret_b64: {why}"))?;
            config.guest_secret_b64 = secret;
        }
        "org_id" => {
            let org_id = text()?;
            config::check_org_id(&org_id)?;
            config.org_id = org_id;
        }
        "consent" => {
            let name = text()?;
            config.consent = Consent::from_name(&name)
                .ok_or_else(|| format!("consent must be auto, page or browser, not {name:?}"))?;
        }
        "clients" => {
            let clients: Vec<ClientJson> =
                serde_json::from_value(value.clone()).map_err(|e| format!("clients: {e}"))?;
            config.clients = clients
                .into_iter()
                .map(|c| ClientRegistration {
                    client_id: c.client_id,
                    client_secret: c.client_secret,
                    redirect_uris: c.redirect_uris,
                })
                .collect();
        }
        "service_apps" => {
            let apps: Vec<ServiceAppJson> =
                serde_json::from_value(value.clone()).map_err(|e| format!("service_apps: {e}"))?;
            config.service_apps = apps
                .into_iter()
                .map(|a| ServiceApp {
                    scope: a.scope.unwrap_or_else(|| config::DEFAULT_SERVICE_APP_SCOPE.to_string()),
                    client_id: a.client_id,
                    client_secret: a.client_secret,
                    authorized: a.authorized,
                })
                .collect();
        }
        "oidc_issuer" if value.is_null() => config.oidc_issuer = None,
        "oidc_issuer" => config.oidc_issuer = Some(text()?),
        "id_token_claims" if value.is_null() => config.id_token_claims = None,
        "id_token_claims" if value.is_object() => config.id_token_claims = Some(value.clone()),
        "id_token_claims" => return Err("id_token_claims must be an object or null".into()),
        "jwks_max_age_s" => config.jwks_max_age_s = seconds()?,
        other => return Err(format!("unknown config key {other:?}")),
    }
    Ok(())
}
