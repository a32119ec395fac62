//! Bounded retries: at most `max_retries` more attempts, jittered exponential backoff,
//! `Retry-After` honoured up to a minute (a longer one ends the operation at once).
//! A request that spends a credential (code exchange, refresh) is retried only when the
//! server cannot have processed it: 429, 503, or no connection made.

use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value};

use super::classify::{Classified, classify};
use super::http::{AttemptError, Http, Request, attempt};
use crate::error::{Error, Status};

/// A `Retry-After` longer than this ends the operation with `WXA_ERR_RATE_LIMITED`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub timeout: Duration,
    pub max_retries: u32,
    /// A 2xx with an empty body is a success (logout, revocation).
    pub allow_empty: bool,
}

fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1 << attempt.min(8)).min(BACKOFF_CAP);
    // Full jitter in [exp/2, exp]: clients that failed together do not retry together.
    let ms = exp.as_millis() as u64;
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
}

/// Sends `req` until it succeeds, fails for good, or the retries run out.
pub async fn execute(http: &Http, req: &Request, policy: Policy) -> Result<Map<String, Value>, Error> {
    execute_cacheable(http, req, policy).await.map(|(m, _)| m)
}

/// `execute`, and how long the answer may be cached (`Cache-Control: max-age`; zero for
/// `no-store`/`no-cache`; `None` when the server says nothing).
pub async fn execute_cacheable(
    http: &Http,
    req: &Request,
    policy: Policy,
) -> Result<(Map<String, Value>, Option<Duration>), Error> {
    let mut tries = 0u32;
    loop {
        let (error, wait) = match attempt(http, req, policy.timeout).await {
            Ok(resp) => match classify(req.endpoint, &resp, policy.allow_empty) {
                Classified::Success(m) => return Ok((m, max_age(&resp.headers))),
                Classified::Fail(e) => return Err(e),
                // A 500/502/504 may come after the backend spent the code or rotated the
                // refresh token: a retry could only earn invalid_grant (or get the whole
                // grant revoked by a server that detects refresh-token reuse).
                Classified::Retry { error, .. } if !req.replay_safe && !matches!(resp.status, 429 | 503) => {
                    return Err(error);
                }
                Classified::Retry { error, retry_after } => {
                    if retry_after.is_some_and(|w| w > MAX_RETRY_AFTER) {
                        let secs = retry_after.unwrap_or_default().as_secs();
                        return Err(Error::with_server(
                            Status::RateLimited,
                            format!(
                                "{} asks to wait {secs} s, longer than the {} s allowed",
                                req.endpoint,
                                MAX_RETRY_AFTER.as_secs()
                            ),
                            error.server().clone(),
                        ));
                    }
                    (error, retry_after)
                }
            },
            Err(AttemptError::Connect(m)) => (AttemptError::Connect(m).into_error(req.endpoint, policy.timeout), None),
            Err(e @ (AttemptError::Timeout | AttemptError::Io(_))) => {
                let err = e.into_error(req.endpoint, policy.timeout);
                if !req.replay_safe {
                    // The server may have spent the code or refresh token already: a retry
                    // could only earn invalid_grant.
                    return Err(err);
                }
                (err, None)
            }
            Err(e @ AttemptError::TooLarge) => return Err(e.into_error(req.endpoint, policy.timeout)),
        };
        if tries >= policy.max_retries {
            return Err(error);
        }
        tokio::time::sleep(wait.unwrap_or_else(|| backoff(tries))).await;
        tries += 1;
    }
}

/// `Cache-Control: max-age=N` as a duration; `no-store`/`no-cache` as zero.
fn max_age(headers: &http::header::HeaderMap) -> Option<Duration> {
    let cc = headers.get(http::header::CACHE_CONTROL)?.to_str().ok()?.to_ascii_lowercase();
    let mut age = None;
    for d in cc.split(',').map(str::trim) {
        if d == "no-store" || d == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    age
}

#[cfg(test)]
mod tests {
    #[test]
    fn cache_control_max_age() {
        use http::header::{CACHE_CONTROL, HeaderMap, HeaderValue};
        let h = |v: &'static str| {
            let mut m = HeaderMap::new();
            m.insert(CACHE_CONTROL, HeaderValue::from_static(v));
            super::max_age(&m)
        };
        assert_eq!(h("public, max-age=300"), Some(super::Duration::from_secs(300)));
        assert_eq!(h("no-store"), Some(super::Duration::ZERO));
        assert_eq!(h("public"), None);
        assert_eq!(super::max_age(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 0..20 {
            let d = super::backoff(a);
            assert!(d <= super::BACKOFF_CAP);
            assert!(d >= super::BACKOFF_BASE / 2);
        }
    }
}
