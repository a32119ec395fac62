//! The router, and the one path every emulated endpoint goes through: record the
//! request, answer from the script queue or for real, apply the configured delay.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{RawQuery, Request, State};
use axum::response::Response;
use axum::routing::{any, get};

use crate::admin;
use crate::device;
use crate::guest;
use crate::oauth;
use crate::reply;
use crate::script::{Endpoint, Recorded};
use crate::session;
use crate::state::{Shared, SharedRef};

/// Far above anything a client of these endpoints sends.
const MAX_BODY: usize = 1 << 20;

type Handler = fn(&Shared, &Recorded) -> Response;

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
    }
}

pub(crate) fn path(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Authorize => "/v1/authorize",
        Endpoint::Token => "/v1/access_token",
        Endpoint::DeviceAuthorize => "/v1/device/authorize",
        Endpoint::DeviceToken => "/v1/device/token",
        Endpoint::JwtLogin => "/v1/jwt/login",
        Endpoint::Logout => "/idb/oauth2/v1/logout",
        Endpoint::Revoke => "/oauth2/revoke",
        Endpoint::PeopleMe => "/v1/people/me",
    }
}

pub(crate) fn router(shared: SharedRef) -> Router {
    let mut router = Router::new();
    for endpoint in Endpoint::ALL {
        router = router.route(
            path(endpoint),
            any(move |State(shared): State<SharedRef>, request: Request| dispatch(shared, endpoint, request)),
        );
    }
    router
        .route(device::VERIFY_PATH, get(verify))
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
            let response = handler(endpoint)(&shared, &recorded);
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

async fn verify(State(shared): State<SharedRef>, RawQuery(query): RawQuery) -> Response {
    let user_code = admin::query_value(query.as_deref(), &["userCode", "user_code"]);
    device::verify_page(&shared, user_code.as_deref())
}
