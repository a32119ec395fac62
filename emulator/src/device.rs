//! RFC 8628 device authorization in Webex's dialect (428 while pending), served at
//! `/v1/device/*` and at the oauth-helper's `/actions/device/*`, and the verification
//! page the QR code opens.

use std::time::Duration;

use axum::response::Response;
use serde_json::json;

use crate::cloud::Cloud;
use crate::config::Consent;
use crate::handler::{self, Answer};
use crate::ids;
use crate::pages;
use crate::reply;
use crate::script::Recorded;
use crate::state::{DeviceLogin, DeviceStatus, Shared, Subject};
use crate::tokens::{DEFAULT_SCOPE, DEVICE_GRANT};

pub(crate) const VERIFY_PATH: &str = "/v1/device/verify";

pub(crate) fn authorize(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    let mut store = shared.lock();
    let client = handler::identified_client(&store.config.clients, req)?;
    let device_code = ids::alnum(40);
    let user_code = ids::user_code();
    let expires_in = store.config.device_expires_in_s;
    let interval = store.config.device_interval_s;
    let expires_at = store.now() + Duration::from_secs(expires_in);
    store.devices.insert(
        device_code.clone(),
        DeviceLogin {
            client_id: client.client_id,
            user_code: user_code.clone(),
            scope: req.form_value("scope").unwrap_or(DEFAULT_SCOPE).to_string(),
            expires_at,
            status: DeviceStatus::Pending,
        },
    );
    drop(store);
    // The verification page of the cloud the login started in.
    let verification_uri = format!("{}{VERIFY_PATH}", Cloud::of_path(&req.path).base(&shared.base_url));
    let mut body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        // `userCode` is the parameter the SDK reads back out of this link.
        "verification_uri_complete": format!("{verification_uri}?userCode={user_code}"),
        "expires_in": expires_in,
    });
    if let Some(interval) = interval {
        body["interval"] = json!(interval);
    }
    Ok(reply::json(200, body))
}

/// Served at the device token paths, and at the token endpoint for the device grant.
pub(crate) fn poll(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    match handler::form(req, "grant_type")? {
        DEVICE_GRANT => {}
        other => {
            return Err(reply::oauth_error(
                400,
                "unsupported_grant_type",
                &format!("grant_type {other} is not supported"),
            ));
        }
    }
    let mut store = shared.lock();
    let client = handler::client(&store.config.token_clients(), req)?;
    let device_code = handler::form(req, "device_code")?;
    let now = store.now();
    let Some(device) = store.devices.get_mut(device_code) else {
        return Err(reply::oauth_error(400, "invalid_grant", "unknown device_code"));
    };
    if device.client_id != client.client_id {
        return Err(reply::oauth_error(400, "invalid_grant", "the device_code was issued to another client"));
    }
    match device.status {
        DeviceStatus::Spent => Err(reply::oauth_error(400, "invalid_grant", "the device_code was already used")),
        _ if device.expires_at <= now => Err(reply::oauth_error(400, "expired_token", "the device_code has expired")),
        DeviceStatus::Pending => {
            Ok(reply::json(428, json!({"message": "authorization_pending", "trackingId": ids::tracking_id()})))
        }
        DeviceStatus::Denied => Err(reply::oauth_error(400, "access_denied", "the user denied the request")),
        DeviceStatus::Approved => {
            device.status = DeviceStatus::Spent;
            let scope = device.scope.clone();
            let issued = store.issue(&client.client_id, &scope, &Subject::user(), true);
            drop(store);
            Ok(reply::json(200, issued.to_json()))
        }
    }
}

/// `GET` the page the QR code opens. A browser (or any caller with `Consent::Page`)
/// gets a form to type or confirm the code and approve or deny; other callers with a
/// `userCode` approve at once (automatic consent, as tests and scripts expect).
pub(crate) fn verify_page(shared: &Shared, user_code: Option<&str>, wants_html: bool) -> Response {
    let consent = shared.lock().config.consent;
    let show_form = match consent {
        Consent::Auto => false,
        Consent::Page => true,
        Consent::Browser => wants_html,
    };
    if show_form || user_code.is_none() {
        return pages::verify_form(200, VERIFY_PATH, user_code.unwrap_or_default(), None);
    }
    decide(shared, user_code.unwrap_or_default(), DeviceStatus::Approved)
}

/// `POST` of the verification form: `user_code` and `decision` (`approve` or `deny`).
pub(crate) fn verify_answer(shared: &Shared, user_code: &str, decision: Option<&str>) -> Response {
    match decision {
        Some("approve") => decide(shared, user_code, DeviceStatus::Approved),
        Some("deny") => decide(shared, user_code, DeviceStatus::Denied),
        _ => pages::verify_form(400, VERIFY_PATH, user_code, Some("Choose Approve or Deny.")),
    }
}

fn decide(shared: &Shared, user_code: &str, to: DeviceStatus) -> Response {
    if !shared.lock().decide_user_code(user_code, to) {
        return pages::verify_form(
            404,
            VERIFY_PATH,
            user_code,
            Some("This code is unknown, expired or already used. Check the code on your device."),
        );
    }
    match to {
        DeviceStatus::Denied => {
            pages::message(200, "Request denied", "The device was not signed in. You can close this page.")
        }
        _ => pages::message(200, "Device signed in", "Your device is now signed in. You can close this page."),
    }
}
