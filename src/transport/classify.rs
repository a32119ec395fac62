//! What an answer means: a JSON object to use, an error to report, or a reason to retry.

use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, RETRY_AFTER};
use serde_json::{Map, Value};

use super::http::RawResponse;
use crate::error::{Error, ServerError, Status};
use crate::protocol::oauth_error;

#[derive(Debug)]
pub enum Classified {
    /// 2xx with a JSON object (or an empty body, read as `{}`).
    Success(Map<String, Value>),
    /// Worth another attempt: 429/503 (with the server's wait, if any) and other 5xx.
    Retry {
        error: Error,
        retry_after: Option<Duration>,
    },
    Fail(Error),
}

/// The body as a JSON object, whatever the Content-Type says. `None` = not an object.
pub fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Map::new());
    }
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

pub fn classify(endpoint: &'static str, resp: &RawResponse, allow_empty: bool) -> Classified {
    let status = resp.status;
    let body = json_object(&resp.body);
    if (200..300).contains(&status) {
        return match body {
            Some(m) if !m.is_empty() || allow_empty => Classified::Success(m),
            Some(_) => Classified::Fail(Error::with_server(
                Status::Http,
                format!("{endpoint} answered HTTP {status} with an empty body"),
                ServerError { http_status: Some(status), ..Default::default() },
            )),
            None => Classified::Fail(Error::with_server(
                Status::Http,
                format!("{endpoint} answered HTTP {status} with a body that is not a JSON object"),
                ServerError { http_status: Some(status), ..Default::default() },
            )),
        };
    }
    if (300..400).contains(&status) {
        return Classified::Fail(Error::with_server(
            Status::Http,
            format!("{endpoint} answered a redirect (HTTP {status}); redirects are not followed"),
            ServerError { http_status: Some(status), ..Default::default() },
        ));
    }
    let server = body
        .as_ref()
        .and_then(|b| oauth_error::parse_error_body(b, status))
        .unwrap_or(ServerError { http_status: Some(status), ..Default::default() });
    if status == 429 || status == 503 {
        let wait = retry_after(&resp.headers, SystemTime::now());
        let st = if status == 429 { Status::RateLimited } else { Status::Http };
        let error = Error::with_server(st, format!("{endpoint} answered HTTP {status} (try again later)"), server);
        return Classified::Retry { error, retry_after: wait };
    }
    if status >= 500 {
        let what = server.error_description.clone().unwrap_or_else(|| "a server error".into());
        return Classified::Retry {
            error: Error::with_server(Status::Http, format!("{endpoint} answered HTTP {status}: {what}"), server),
            retry_after: None,
        };
    }
    if server.error.is_none() && server.error_description.is_none() {
        return Classified::Fail(Error::with_server(
            Status::Http,
            format!("{endpoint} answered HTTP {status} without an error body"),
            server,
        ));
    }
    Classified::Fail(oauth_error::to_error(endpoint, server))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    fn resp(status: u16, body: &str) -> RawResponse {
        RawResponse { status, headers: HeaderMap::new(), body: zeroize::Zeroizing::new(body.as_bytes().to_vec()) }
    }

    #[test]
    fn success_needs_a_json_object() {
        assert!(matches!(classify("t", &resp(200, r#"{"a":1}"#), false), Classified::Success(_)));
        assert!(matches!(classify("t", &resp(200, "[1]"), false), Classified::Fail(e) if e.status() == Status::Http));
        assert!(
            matches!(classify("t", &resp(200, "<html>"), false), Classified::Fail(e) if e.status() == Status::Http)
        );
        assert!(matches!(classify("t", &resp(200, ""), false), Classified::Fail(_)));
        assert!(matches!(classify("t", &resp(200, ""), true), Classified::Success(_)));
    }

    #[test]
    fn errors_and_retries() {
        match classify("t", &resp(400, r#"{"error":"invalid_grant"}"#), false) {
            Classified::Fail(e) => assert_eq!((e.status(), e.server().http_status), (Status::OAuth, Some(400))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(classify("t", &resp(302, ""), false), Classified::Fail(e) if e.status() == Status::Http));
        assert!(matches!(classify("t", &resp(500, "oops"), false), Classified::Retry { .. }));
        let mut r = resp(429, "");
        r.headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        match classify("t", &r, false) {
            Classified::Retry { error, retry_after } => {
                assert_eq!(error.status(), Status::RateLimited);
                assert_eq!(retry_after, Some(Duration::from_secs(3)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(classify("t", &resp(404, ""), false), Classified::Fail(e) if e.status() == Status::Http));
    }

    #[test]
    fn retry_after_http_date() {
        let mut h = HeaderMap::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
    }
}
