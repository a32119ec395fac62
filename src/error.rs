//! The one error type every layer returns: a status (from the table in `codes`), a
//! message for humans, and what the server said.

use std::fmt;

pub use crate::codes::Status;

/// What the server said when it refused: both Webex and RFC 6749 shapes end up here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerError {
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub http_status: Option<u16>,
    pub tracking_id: Option<String>,
}

/// A failure: a status, a message for humans, and what the server said when it said
/// anything. Messages never contain secrets: callers build them from names, not values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
    server: ServerError,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into(), server: ServerError::default() }
    }

    pub fn with_server(status: Status, message: impl Into<String>, server: ServerError) -> Error {
        Error { status, message: message.into(), server }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Status::Internal, message)
    }

    pub fn canceled() -> Error {
        Error::new(Status::Canceled, "the operation was canceled")
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn server(&self) -> &ServerError {
        &self.server
    }

    /// The OAuth `error` code, when the server gave one.
    pub fn oauth_error(&self) -> Option<&str> {
        self.server.error.as_deref()
    }

    /// The failure fields of a result or event payload (docs/PAYLOADS.md).
    pub fn to_json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        m.insert("ok".into(), Value::Bool(false));
        m.insert("status".into(), Value::from(self.status.name()));
        m.insert("message".into(), Value::from(self.message.clone()));
        if let Some(e) = &self.server.error {
            m.insert("error".into(), Value::from(e.clone()));
        }
        if let Some(d) = &self.server.error_description {
            m.insert("error_description".into(), Value::from(d.clone()));
        }
        if let Some(h) = self.server.http_status {
            m.insert("http_status".into(), Value::from(h));
        }
        if let Some(t) = &self.server.tracking_id {
            m.insert("tracking_id".into(), Value::from(t.clone()));
        }
        m
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}
