//! Status codes and the one error type every layer returns.
//! The numbers are ABI (C-API.md); the FFI layer wraps them in `wxa_status`.

use std::fmt;

/// The outcome kinds of C-API.md, with their fixed numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    Pending = 1,
    InvalidArgument = 2,
    StateMismatch = 3,
    OAuth = 4,
    Http = 5,
    Network = 6,
    Timeout = 7,
    RateLimited = 8,
    Expired = 9,
    Canceled = 10,
    NotAuthorized = 11,
    UnknownOperation = 12,
    Internal = 13,
}

impl Status {
    pub const ALL: [Status; 14] = [
        Status::Ok,
        Status::Pending,
        Status::InvalidArgument,
        Status::StateMismatch,
        Status::OAuth,
        Status::Http,
        Status::Network,
        Status::Timeout,
        Status::RateLimited,
        Status::Expired,
        Status::Canceled,
        Status::NotAuthorized,
        Status::UnknownOperation,
        Status::Internal,
    ];

    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| *s as i32 == code)
    }

    pub fn code(self) -> i32 {
        self as i32
    }

    /// The C constant's spelling, e.g. `"WXA_ERR_OAUTH"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "WXA_OK",
            Status::Pending => "WXA_PENDING",
            Status::InvalidArgument => "WXA_ERR_INVALID_ARGUMENT",
            Status::StateMismatch => "WXA_ERR_STATE_MISMATCH",
            Status::OAuth => "WXA_ERR_OAUTH",
            Status::Http => "WXA_ERR_HTTP",
            Status::Network => "WXA_ERR_NETWORK",
            Status::Timeout => "WXA_ERR_TIMEOUT",
            Status::RateLimited => "WXA_ERR_RATE_LIMITED",
            Status::Expired => "WXA_ERR_EXPIRED",
            Status::Canceled => "WXA_ERR_CANCELED",
            Status::NotAuthorized => "WXA_ERR_NOT_AUTHORIZED",
            Status::UnknownOperation => "WXA_ERR_UNKNOWN_OPERATION",
            Status::Internal => "WXA_ERR_INTERNAL",
        }
    }
}

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

    /// The failure fields of a result or event payload (PAYLOADS.md).
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
