//! Response builders for the two error dialects Webex speaks, and the plain answers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ids;

pub fn json(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// RFC 6749 §5.2 shape; Webex adds a `trackingId` to these as well.
pub fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json(status, json!({"error": error, "error_description": description, "trackingId": ids::tracking_id()}))
}

/// Webex's own shape: `{"message", "errors":[{"description"}], "trackingId"}`.
pub fn webex_error(status: u16, message: &str) -> Response {
    json(status, json!({"message": message, "errors": [{"description": message}], "trackingId": ids::tracking_id()}))
}

pub fn invalid_client(description: &str) -> Response {
    oauth_error(401, "invalid_client", description)
}

pub fn method_not_allowed() -> Response {
    webex_error(405, "method not allowed")
}

pub fn empty(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    status.into_response()
}

pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => webex_error(400, "redirect_uri cannot be used in a Location header"),
    }
}
