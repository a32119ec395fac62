//! Server error bodies: RFC 6749 `{"error","error_description"}` and Webex's
//! `{"message","errors":[{"description"}],"trackingId"}`, mapped to one `ServerError`.

use serde_json::{Map, Value};

use crate::error::{Error, ServerError, Status};

fn s(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty())
}

/// An OAuth error code is a short lower-case token; Webex sometimes puts one in `message`
/// (`"slow_down"`, `"authorization_pending"`), sometimes a sentence.
fn looks_like_error_code(m: &str) -> bool {
    !m.is_empty() && m.len() <= 64 && m.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Reads whichever error shape the body has. `None` when it has neither.
pub fn parse_error_body(body: &Map<String, Value>, http_status: u16) -> Option<ServerError> {
    // Webex spells it trackingId, its identity broker trackingID.
    let tracking_id = s(body, "trackingId").or_else(|| s(body, "trackingID")).or_else(|| s(body, "tracking_id"));
    if let Some(error) = s(body, "error") {
        return Some(ServerError {
            error: Some(error),
            error_description: s(body, "error_description").or_else(|| s(body, "message")),
            http_status: Some(http_status),
            tracking_id,
        });
    }
    let message = s(body, "message")?;
    let description = body
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_object)
        .and_then(|e| s(e, "description"));
    let code = looks_like_error_code(&message).then(|| message.clone());
    Some(ServerError {
        error: code,
        error_description: description.or(Some(message)),
        http_status: Some(http_status),
        tracking_id,
    })
}

/// The `Error` for a server's refusal at `endpoint` (a name, never a URL with secrets).
pub fn to_error(endpoint: &str, server: ServerError) -> Error {
    let status = if server.error.is_some() { Status::OAuth } else { Status::Http };
    let what = server.error.clone().or_else(|| server.error_description.clone()).unwrap_or_else(|| "an error".into());
    let http = server.http_status.map(|h| format!(" (HTTP {h})")).unwrap_or_default();
    Error::with_server(status, format!("{endpoint} answered {what}{http}"), server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn rfc_shape() {
        let e = parse_error_body(&obj(json!({"error":"invalid_grant","error_description":"expired"})), 400).unwrap();
        assert_eq!(e.error.as_deref(), Some("invalid_grant"));
        assert_eq!(e.error_description.as_deref(), Some("expired"));
        let err = to_error("token endpoint", e);
        assert_eq!(err.status(), Status::OAuth);
        assert!(err.message().contains("invalid_grant"));
    }

    #[test]
    fn webex_shape_keeps_tracking_id() {
        let e = parse_error_body(
            &obj(json!({"message":"The request requires a valid access token.","errors":[{"description":"bad token"}],"trackingId":"ROUTER_1"})),
            401,
        )
        .unwrap();
        assert_eq!(e.error, None);
        assert_eq!(e.error_description.as_deref(), Some("bad token"));
        assert_eq!(e.tracking_id.as_deref(), Some("ROUTER_1"));
        assert_eq!(to_error("x", e).status(), Status::Http);
        let e = parse_error_body(&obj(json!({"message":"slow_down"})), 400).unwrap();
        assert_eq!(e.error.as_deref(), Some("slow_down"));
    }

    #[test]
    fn tracking_id_in_every_spelling() {
        for key in ["trackingId", "trackingID", "tracking_id"] {
            let e = parse_error_body(&obj(json!({"error":"invalid_request", key: "T-1"})), 400).unwrap();
            assert_eq!(e.tracking_id.as_deref(), Some("T-1"), "{key}");
        }
    }

    #[test]
    fn neither_shape() {
        assert!(parse_error_body(&obj(json!({"foo":1})), 500).is_none());
    }
}
