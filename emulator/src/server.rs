//! The router, and the one path every emulated endpoint goes through: record the
//! request, answer from the script queue or for real, apply the configured delay.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{any, get};

use crate::admin;
use crate::catalog::{self, OAUTH_HELPER_PATH, U2C_PATH};
use crate::cloud::FEDRAMP_PREFIX;
use crate::device;
use crate::guest;
use crate::handler::Answer;
use crate::oauth;
use crate::oidc;
use crate::reply;
use crate::script::{Endpoint, Recorded};
use crate::service_app;
use crate::session;
use crate::state::{Shared, SharedRef};

/// Far above anything a client of these endpoints sends.
const MAX_BODY: usize = 1 << 20;

type Handler = fn(&Shared, &Recorded) -> Answer;

fn handler(endpoint: Endpoint) -> Handler {
    match endpoint {
        Endpoint::Authorize => oauth::authorize,
        Endpoint::Token => oauth::token,
        Endpoint::DeviceAuthorize => device::authorize,
        Endpoint::DeviceToken => device::poll,
        Endpoint::JwtLogin => guest::login,
        Endpoint::Logout => session::logout,
        Endpoint::Revoke => session::revoke,
        Endpoint::PeopleMe => session::people_me,
        Endpoint::Catalog => catalog::catalog,
        Endpoint::ApplicationToken => service_app::application_token,
        Endpoint::GuestsToken => service_app::guests_token,
        Endpoint::Jwks => oidc::jwks,
        Endpoint::Userinfo => oidc::userinfo,
        Endpoint::OpenidConfiguration => oidc::discovery,
    }
}

/// Every path an endpoint answers at, the public `/v1` one first. The identity
/// broker's own `/idb/oauth2/v1/*` and the oauth-helper's `/actions/device/*` are the
/// paths the Webex SDK uses; they share the endpoint's name, so recorded requests,
/// scripts and delays cover both. Each also answers under `/fedramp` (FedRAMP's cloud).
pub(crate) fn paths(endpoint: Endpoint) -> Vec<String> {
    let commercial = commercial_paths(endpoint);
    let fedramp: Vec<String> = commercial.iter().map(|p| format!("{FEDRAMP_PREFIX}{p}")).collect();
    commercial.into_iter().chain(fedramp).collect()
}

fn commercial_paths(endpoint: Endpoint) -> Vec<String> {
    let fixed: &[&str] = match endpoint {
        Endpoint::Authorize => &["/v1/authorize", "/idb/oauth2/v1/authorize"],
        Endpoint::Token => &["/v1/access_token", "/idb/oauth2/v1/access_token"],
        Endpoint::DeviceAuthorize => &["/v1/device/authorize"],
        Endpoint::DeviceToken => &["/v1/device/token"],
        Endpoint::JwtLogin => &["/v1/jwt/login"],
        Endpoint::Logout => &["/idb/oauth2/v1/logout"],
        Endpoint::Revoke => &["/oauth2/revoke", "/idb/oauth2/v1/revoke"],
        Endpoint::PeopleMe => &["/v1/people/me"],
        Endpoint::Catalog => &[],
        // axum's path parameter; the handler reads the id from the recorded path.
        Endpoint::ApplicationToken => &["/v1/applications/{application_id}/token"],
        Endpoint::GuestsToken => &["/v1/guests/token"],
        // Webex's documented jwks_uri, and the identity broker's key endpoint.
        Endpoint::Jwks => &["/v1/verification", "/idb/oauth2/v2/keys/verificationjwk"],
        Endpoint::Userinfo => &["/v1/userinfo"],
        Endpoint::OpenidConfiguration => {
            &["/v1/.well-known/openid-configuration", "/idb/.well-known/openid-configuration"]
        }
    };
    let mut all: Vec<String> = fixed.iter().map(|p| p.to_string()).collect();
    match endpoint {
        Endpoint::DeviceAuthorize => all.push(format!("{OAUTH_HELPER_PATH}/actions/device/authorize")),
        Endpoint::DeviceToken => all.push(format!("{OAUTH_HELPER_PATH}/actions/device/token")),
        Endpoint::Catalog => {
            for kind in ["limited/catalog", "catalog", "signin/catalog"] {
                all.push(format!("{U2C_PATH}/{kind}"));
            }
        }
        _ => {}
    }
    all
}

/// The main path of an endpoint (`Emulator::url`).
pub(crate) fn path(endpoint: Endpoint) -> String {
    paths(endpoint).swap_remove(0)
}

pub(crate) fn router(shared: SharedRef) -> Router {
    let mut router = Router::new();
    for endpoint in Endpoint::ALL {
        for path in paths(endpoint) {
            router = router.route(
                &path,
                any(move |State(shared): State<SharedRef>, request: Request| dispatch(shared, endpoint, request)),
            );
        }
    }
    router
        .route(device::VERIFY_PATH, get(verify).post(verify_post))
        .route(&format!("{FEDRAMP_PREFIX}{}", device::VERIFY_PATH), get(verify).post(verify_post))
        .nest("/_emulator", admin::router())
        .fallback(|| async { reply::webex_error(404, "no such endpoint on the emulator") })
        .with_state(shared)
}

async fn dispatch(shared: Arc<Shared>, endpoint: Endpoint, request: Request) -> Response {
    let at_ms = shared.elapsed_ms();
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return reply::webex_error(413, "request body too large or unreadable");
    };
    let mut recorded = Recorded::from_parts(&parts, &body, at_ms);

    let script = shared.lock().script_next(endpoint);
    // The real handler runs before the delay: a client that times out has still had
    // its code or refresh token spent, as with a slow real server.
    let (response, wait) = match script {
        Some(scripted) if !scripted.passthrough => (scripted.render(), Duration::from_millis(scripted.delay_ms)),
        scripted => {
            let response = handler(endpoint)(&shared, &recorded).unwrap_or_else(|error| error);
            let configured = shared.lock().delays.get(&endpoint).copied().unwrap_or_default();
            let extra = Duration::from_millis(scripted.map_or(0, |s| s.delay_ms));
            (response, configured + extra)
        }
    };
    recorded.status = response.status().as_u16();
    shared.lock().requests.push((endpoint, recorded));
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    response
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
}

async fn verify(State(shared): State<SharedRef>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let user_code = admin::query_value(query.as_deref(), &["userCode", "user_code"]);
    device::verify_page(&shared, user_code.as_deref(), wants_html(&headers))
}

async fn verify_post(State(shared): State<SharedRef>, body: Bytes) -> Response {
    let form = |key: &str| url::form_urlencoded::parse(&body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    let user_code = form("user_code").unwrap_or_default();
    device::verify_answer(&shared, &user_code, form("decision").as_deref())
}
