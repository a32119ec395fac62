//! RFC 8628 device authorization in Webex's dialect: 428 while pending.

use std::time::{Duration, Instant};

use axum::response::Response;
use serde_json::json;

use crate::client_auth;
use crate::ids;
use crate::oauth::{DEVICE_GRANT, token_json};
use crate::reply;
use crate::script::Recorded;
use crate::state::{DeviceLogin, DeviceStatus, Shared, Subject};

pub(crate) const VERIFY_PATH: &str = "/v1/device/verify";

pub(crate) fn authorize(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "POST" {
        return reply::method_not_allowed();
    }
    let mut store = shared.lock();
    let client = match client_auth::identify(&store.config.clients, req) {
        Ok(client) => client.clone(),
        Err(why) => return reply::invalid_client(&why),
    };
    let device_code = ids::alnum(40);
    let user_code = ids::user_code();
    let expires_in = store.config.device_expires_in_s;
    let interval = store.config.device_interval_s;
    store.devices.insert(
        device_code.clone(),
        DeviceLogin {
            client_id: client.client_id,
            user_code: user_code.clone(),
            scope: req.form_value("scope").unwrap_or("spark:all").to_string(),
            expires_at: Instant::now() + Duration::from_secs(expires_in),
            status: DeviceStatus::Pending,
        },
    );
    drop(store);
    let verification_uri = format!("{}{VERIFY_PATH}", shared.base_url);
    let mut body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?userCode={user_code}"),
        "expires_in": expires_in,
    });
    if let Some(interval) = interval {
        body["interval"] = json!(interval);
    }
    reply::json(200, body)
}

/// Served at `/v1/device/token`, and at `/v1/access_token` for the device grant.
pub(crate) fn poll(shared: &Shared, req: &Recorded) -> Response {
    if req.method != "POST" {
        return reply::method_not_allowed();
    }
    match req.form_value("grant_type") {
        Some(DEVICE_GRANT) => {}
        None => return reply::oauth_error(400, "invalid_request", "grant_type is required"),
        Some(other) => {
            return reply::oauth_error(400, "unsupported_grant_type", &format!("grant_type {other} is not supported"));
        }
    }
    let mut store = shared.lock();
    let client = match client_auth::authenticate(&store.config.clients, req) {
        Ok(client) => client.clone(),
        Err(why) => return reply::invalid_client(&why),
    };
    let Some(device_code) = req.form_value("device_code") else {
        return reply::oauth_error(400, "invalid_request", "device_code is required");
    };
    let Some(device) = store.devices.get_mut(device_code) else {
        return reply::oauth_error(400, "invalid_grant", "unknown device_code");
    };
    if device.client_id != client.client_id {
        return reply::oauth_error(400, "invalid_grant", "the device_code was issued to another client");
    }
    match device.status {
        DeviceStatus::Spent => reply::oauth_error(400, "invalid_grant", "the device_code was already used"),
        _ if device.expires_at <= Instant::now() => {
            reply::oauth_error(400, "expired_token", "the device_code has expired")
        }
        DeviceStatus::Pending => {
            reply::json(428, json!({"message": "authorization_pending", "trackingId": ids::tracking_id()}))
        }
        DeviceStatus::Denied => reply::oauth_error(400, "access_denied", "the user denied the request"),
        DeviceStatus::Approved => {
            device.status = DeviceStatus::Spent;
            let scope = device.scope.clone();
            let issued = store.issue(&client.client_id, &scope, &Subject::user(), true);
            drop(store);
            reply::json(200, token_json(&issued))
        }
    }
}

/// The page a user's phone opens from the QR code; visiting it approves.
pub(crate) fn verify_page(shared: &Shared, user_code: Option<&str>) -> Response {
    let Some(user_code) = user_code else {
        return reply::html(400, "Missing code", "The link has no userCode parameter.");
    };
    if shared.lock().decide_user_code(user_code, DeviceStatus::Approved) {
        reply::html(200, "Approved", "The device is now signed in. You can close this page.")
    } else {
        reply::html(404, "Unknown code", "This code is unknown, expired or already decided.")
    }
}
