//! Device Authorization grant (RFC 8628, Webex dialect): the authorization response and
//! the polling state machine (answer -> next action and interval). Time-free: the loop
//! in `client::device` owns the timer and asks this module what to do next.

use serde_json::{Map, Value};

use super::oauth_error;
use super::token::parse_seconds;
use crate::error::{Error, ServerError, Status};
use crate::secret::Secret;

/// RFC 8628 §3.2: 5 s when the server gives no interval.
pub const DEFAULT_INTERVAL_S: i64 = 5;
/// Webex's device codes live five minutes; used when `expires_in` is absent.
pub const DEFAULT_EXPIRES_IN_S: i64 = 300;
/// A server's `expires_in` is capped here: a device login never polls for more than 30
/// minutes, whatever the server claims.
pub const MAX_EXPIRES_IN_S: i64 = 1800;
/// RFC 8628 §3.5: every `slow_down` adds five seconds.
pub const SLOW_DOWN_STEP_MS: i64 = 5_000;
/// An interval never grows past this, whatever the server or the network does.
pub const MAX_INTERVAL_MS: i64 = 120_000;

#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in_s: i64,
    pub interval_s: i64,
}

fn malformed(what: &str) -> Error {
    Error::new(Status::Http, format!("malformed device authorization response: {what}"))
}

pub fn parse_device_authorization(body: &Map<String, Value>) -> Result<DeviceAuthorization, Error> {
    let string = |k: &str| -> Result<Option<String>, Error> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(malformed(&format!("`{k}` is not a non-empty string"))),
        }
    };
    let seconds = |k: &str, default: i64| -> Result<i64, Error> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => parse_seconds(v).ok_or_else(|| malformed(&format!("`{k}` is not a non-negative integer"))),
        }
    };
    let device_code = string("device_code")?.ok_or_else(|| malformed("no device_code"))?;
    let user_code = string("user_code")?.ok_or_else(|| malformed("no user_code"))?;
    let verification_uri = string("verification_uri")?
        .or(string("verification_url")?) // Google's spelling
        .ok_or_else(|| malformed("no verification_uri"))?;
    let verification_uri_complete = string("verification_uri_complete")?.unwrap_or_else(|| verification_uri.clone());
    let interval_s = seconds("interval", DEFAULT_INTERVAL_S)?.max(1);
    Ok(DeviceAuthorization {
        device_code: Secret::new(device_code),
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in_s: seconds("expires_in", DEFAULT_EXPIRES_IN_S)?.min(MAX_EXPIRES_IN_S),
        interval_s,
    })
}

/// The user is sent to these URIs (often as a QR code): anything but https (or http on
/// loopback) — `javascript:`, `data:`, plain http to another host — makes the answer
/// malformed, and nothing of it reaches the app.
pub fn check_verification_uris(authz: &DeviceAuthorization) -> Result<(), Error> {
    for (key, value) in
        [("verification_uri", &authz.verification_uri), ("verification_uri_complete", &authz.verification_uri_complete)]
    {
        let ok = url::Url::parse(value).is_ok_and(|u| super::uri::is_secure_or_loopback(&u));
        if !ok {
            return Err(malformed(&format!("`{key}` is not an https URL")));
        }
    }
    Ok(())
}

/// What one poll brought back, as the transport saw it.
#[derive(Debug)]
pub enum PollAnswer {
    /// A response with a JSON-object body (or no body: `None`).
    Http { status: u16, body: Option<Map<String, Value>> },
    /// A response whose body was not a JSON object.
    Unparseable { status: u16 },
    /// The request timed out or could not connect: RFC 8628 §3.5 says back off.
    Unreachable,
}

#[derive(Debug)]
pub enum PollAction {
    /// Poll again after `PollState::interval_ms`. `slow_down` says why the wait grew.
    KeepPolling {
        slow_down: bool,
    },
    Granted(Map<String, Value>),
    Failed(Error),
}

#[derive(Debug, Clone)]
pub struct PollState {
    pub interval_ms: i64,
}

impl PollState {
    pub fn new(interval_s: i64) -> PollState {
        PollState { interval_ms: interval_s.clamp(1, MAX_INTERVAL_MS / 1000) * 1000 }
    }

    fn slow_down(&mut self) -> PollAction {
        self.interval_ms = (self.interval_ms + SLOW_DOWN_STEP_MS).min(MAX_INTERVAL_MS);
        PollAction::KeepPolling { slow_down: true }
    }

    pub fn decide(&mut self, answer: PollAnswer) -> PollAction {
        let (status, body) = match answer {
            PollAnswer::Unreachable => {
                self.interval_ms = (self.interval_ms * 2).min(MAX_INTERVAL_MS);
                return PollAction::KeepPolling { slow_down: true };
            }
            PollAnswer::Unparseable { status } if status >= 500 => {
                self.interval_ms = (self.interval_ms * 2).min(MAX_INTERVAL_MS);
                return PollAction::KeepPolling { slow_down: true };
            }
            PollAnswer::Unparseable { status } => {
                return PollAction::Failed(Error::with_server(
                    Status::Http,
                    format!("device token endpoint answered HTTP {status} with a body that is not a JSON object"),
                    ServerError { http_status: Some(status), ..Default::default() },
                ));
            }
            PollAnswer::Http { status, body } => (status, body),
        };
        let server = body.as_ref().and_then(|b| oauth_error::parse_error_body(b, status));
        let code = server.as_ref().and_then(|s| s.error.clone());
        match (status, code.as_deref()) {
            (_, Some("authorization_pending")) => PollAction::KeepPolling { slow_down: false },
            (_, Some("slow_down")) => self.slow_down(),
            (428, _) => PollAction::KeepPolling { slow_down: false },
            (429, _) => self.slow_down(),
            (200..=299, None) => match body {
                Some(b) => PollAction::Granted(b),
                None => PollAction::Failed(Error::new(Status::Http, "device token endpoint answered 200 with no body")),
            },
            (500..=599, None) => {
                self.interval_ms = (self.interval_ms * 2).min(MAX_INTERVAL_MS);
                PollAction::KeepPolling { slow_down: true }
            }
            (_, Some("expired_token")) => {
                let s = server.unwrap_or_default();
                PollAction::Failed(Error::with_server(
                    Status::Expired,
                    "the device code expired before it was approved",
                    s,
                ))
            }
            _ => {
                let s = server.unwrap_or(ServerError { http_status: Some(status), ..Default::default() });
                PollAction::Failed(oauth_error::to_error("device token endpoint", s))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http(status: u16, v: Value) -> PollAnswer {
        PollAnswer::Http { status, body: Some(v.as_object().unwrap().clone()) }
    }

    #[test]
    fn authorization_defaults_and_strings() {
        let d = parse_device_authorization(
            json!({"device_code":"d","user_code":"U","verification_uri":"https://v"}).as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(d.interval_s, 5, "RFC 8628 default");
        assert_eq!(d.expires_in_s, 300);
        assert_eq!(d.verification_uri_complete, "https://v");
        let d = parse_device_authorization(
            json!({"device_code":"d","user_code":"U","verification_uri":"https://v","interval":"2","expires_in":"60"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!((d.interval_s, d.expires_in_s), (2, 60));
        let d = parse_device_authorization(
            json!({"device_code":"d","user_code":"U","verification_uri":"https://v","expires_in":86400})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(d.expires_in_s, MAX_EXPIRES_IN_S, "capped");
        for bad in [
            json!({"user_code":"U","verification_uri":"v"}),
            json!({"device_code":"d","verification_uri":"v"}),
            json!({"device_code":"d","user_code":"U"}),
            json!({"device_code":"d","user_code":"U","verification_uri":"v","interval":-1}),
            json!({"device_code":1,"user_code":"U","verification_uri":"v"}),
        ] {
            assert_eq!(parse_device_authorization(bad.as_object().unwrap()).unwrap_err().status(), Status::Http);
        }
    }

    #[test]
    fn verification_uris_must_be_https_or_loopback() {
        let authz = |uri: &str, complete: &str| {
            parse_device_authorization(
                json!({"device_code":"d","user_code":"U","verification_uri":uri,"verification_uri_complete":complete})
                    .as_object()
                    .unwrap(),
            )
            .unwrap()
        };
        assert!(check_verification_uris(&authz("https://v.example/d", "https://v.example/d?c=1")).is_ok());
        assert!(check_verification_uris(&authz("http://127.0.0.1:9/d", "http://127.0.0.1:9/d?c=1")).is_ok());
        for (u, c) in [
            ("http://evil.example/d", "https://v.example/d"),
            ("https://v.example/d", "javascript:alert(1)"),
            ("https://v.example/d", "data:text/html,x"),
            ("not a url", "https://v.example/d"),
        ] {
            let e = check_verification_uris(&authz(u, c)).unwrap_err();
            assert_eq!(e.status(), Status::Http, "{u} {c}");
        }
    }

    #[test]
    fn pending_in_both_dialects() {
        let mut s = PollState::new(2);
        assert!(matches!(
            s.decide(PollAnswer::Http { status: 428, body: None }),
            PollAction::KeepPolling { slow_down: false }
        ));
        assert!(matches!(
            s.decide(http(400, json!({"error":"authorization_pending"}))),
            PollAction::KeepPolling { slow_down: false }
        ));
        assert!(
            matches!(
                s.decide(http(200, json!({"error":"authorization_pending"}))),
                PollAction::KeepPolling { slow_down: false }
            ),
            "GitHub's 200 + error"
        );
        assert_eq!(s.interval_ms, 2_000);
    }

    #[test]
    fn slow_down_adds_five_seconds_each_time() {
        let mut s = PollState::new(2);
        s.decide(http(400, json!({"error":"slow_down"})));
        assert_eq!(s.interval_ms, 7_000);
        s.decide(http(400, json!({"message":"slow_down"})));
        assert_eq!(s.interval_ms, 12_000, "Webex puts it in `message`");
        s.decide(PollAnswer::Http { status: 429, body: None });
        assert_eq!(s.interval_ms, 17_000, "429 without body = slow down");
        s.decide(PollAnswer::Http { status: 428, body: None });
        assert_eq!(s.interval_ms, 17_000, "pending keeps the interval");
    }

    #[test]
    fn unreachable_and_5xx_double_the_interval() {
        let mut s = PollState::new(3);
        s.decide(PollAnswer::Unreachable);
        assert_eq!(s.interval_ms, 6_000);
        s.decide(PollAnswer::Http { status: 503, body: None });
        assert_eq!(s.interval_ms, 12_000);
        s.decide(PollAnswer::Unparseable { status: 502 });
        assert_eq!(s.interval_ms, 24_000);
        for _ in 0..10 {
            s.decide(PollAnswer::Unreachable);
        }
        assert_eq!(s.interval_ms, MAX_INTERVAL_MS);
    }

    #[test]
    fn terminal_answers() {
        let mut s = PollState::new(1);
        match s.decide(http(200, json!({"access_token":"a"}))) {
            PollAction::Granted(b) => assert_eq!(b["access_token"], "a"),
            other => panic!("{other:?}"),
        }
        match s.decide(http(400, json!({"error":"access_denied"}))) {
            PollAction::Failed(e) => {
                assert_eq!(e.status(), Status::OAuth);
                assert_eq!(e.oauth_error(), Some("access_denied"));
            }
            other => panic!("{other:?}"),
        }
        match s.decide(http(400, json!({"error":"expired_token"}))) {
            PollAction::Failed(e) => assert_eq!(e.status(), Status::Expired),
            other => panic!("{other:?}"),
        }
        match s.decide(PollAnswer::Unparseable { status: 200 }) {
            PollAction::Failed(e) => assert_eq!(e.status(), Status::Http),
            other => panic!("{other:?}"),
        }
        match s.decide(PollAnswer::Http { status: 401, body: None }) {
            PollAction::Failed(e) => assert_eq!(e.status(), Status::Http),
            other => panic!("{other:?}"),
        }
        match s.decide(http(401, json!({"error":"invalid_client"}))) {
            PollAction::Failed(e) => assert_eq!(e.oauth_error(), Some("invalid_client")),
            other => panic!("{other:?}"),
        }
    }
}
