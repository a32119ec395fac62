//! Device Authorization (QR login) as an operation: ask for a user code, then poll at
//! the server's interval until approval, refusal, expiry or cancel. The decisions are
//! `protocol::device`'s; this module owns the timer and the requests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::{EventType, Inner, OpId, OpKind};
use crate::error::{Error, Status};
use crate::protocol::device::{self, DeviceAuthorization, PollAction, PollAnswer, PollState};
use crate::protocol::token;
use crate::transport::{self, ClientAuth, Request};

pub fn start_device_login(inner: &Arc<Inner>) -> Result<OpId, Error> {
    let busy = std::mem::replace(&mut inner.lock().device_running, true);
    if busy {
        return inner.spawn_op(OpKind::DeviceRejected, |inner, op| async move {
            let e = Error::invalid("a device login is already running on this client");
            inner.emit(EventType::UserCodeFailure, op, e.to_json_fields());
            Err::<Map<String, Value>, _>(e)
        });
    }
    let started = inner.spawn_op(OpKind::Device, |inner, op| async move { device_flow(&inner, op).await });
    if started.is_err() {
        inner.lock().device_running = false;
    }
    started
}

/// The device endpoints want `client_id` in the form even when Basic carries it.
fn with_device_auth(inner: &Inner, req: Request) -> Request {
    let auth = inner.config.client_auth();
    let req = match &auth {
        ClientAuth::Basic { client_id, .. } => req.param("client_id", client_id.to_string()),
        _ => req,
    };
    req.client_auth(auth)
}

async fn device_flow(inner: &Arc<Inner>, op: OpId) -> Result<Map<String, Value>, Error> {
    let authz = match request_user_code(inner).await {
        Ok(a) => a,
        Err(e) => {
            inner.emit(EventType::UserCodeFailure, op, e.to_json_fields());
            return Err(e);
        }
    };
    // A verification URI the user should not be sent to ends the login (docs/PROTOCOL.md:
    // a malformed answer, reported as authorizationFailure); it is never handed on.
    if let Err(e) = device::check_verification_uris(&authz) {
        inner.emit(EventType::AuthorizationFailure, op, e.to_json_fields());
        return Err(e);
    }
    let mut m = Map::new();
    m.insert("userCode".into(), authz.user_code.clone().into());
    m.insert("verificationUri".into(), authz.verification_uri.clone().into());
    m.insert("verificationUriComplete".into(), authz.verification_uri_complete.clone().into());
    m.insert("expiresIn".into(), authz.expires_in_s.into());
    m.insert("interval".into(), authz.interval_s.into());
    inner.emit(EventType::UserCode, op, m);

    let deadline = Instant::now() + Duration::from_secs(authz.expires_in_s as u64);
    let cfg = &inner.config;
    let poll_once = || {
        let req = Request::post("device token endpoint", &cfg.endpoints.device_token)
            .param("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
            .secret("device_code", authz.device_code.clone());
        let req = with_device_auth(inner, req);
        let (http, timeout) = (&cfg.http, cfg.timeout);
        async move { transport::poll_once(http, &req, timeout).await }
    };
    let outcome = poll_until_done(PollState::new(authz.interval_s), deadline, poll_once, |slow_down, interval_ms| {
        let mut m = Map::new();
        m.insert("interval".into(), Value::from(interval_ms / 1000));
        if slow_down {
            m.insert("slow_down".into(), Value::Bool(true));
        }
        inner.emit(EventType::AuthorizationPending, op, m);
    })
    .await;
    let granted = outcome.and_then(|mut body| {
        let t = token::parse_token_response(&body, inner.now());
        crate::secret::wipe_map(&mut body);
        t
    });
    match granted {
        Ok(tok) => {
            let mut fields = inner.store_token(tok, false, op, false);
            inner.events.push(EventType::AuthorizationSuccess, op, fields.clone(), true);
            inner.events.push(EventType::TokenRefresh, op, fields.clone(), true);
            if let Some(e) = inner.persist_change().await {
                fields.insert("store_error".into(), Value::from(e));
            }
            Ok(fields)
        }
        Err(e) => {
            inner.emit(EventType::AuthorizationFailure, op, e.to_json_fields());
            if e.status() == Status::Expired {
                // Expiry ends the polling as a cancel would: the UI hides its QR code.
                inner.emit(EventType::PollingCanceled, op, Map::new());
            }
            Err(e)
        }
    }
}

async fn request_user_code(inner: &Arc<Inner>) -> Result<DeviceAuthorization, Error> {
    let cfg = &inner.config;
    let req = Request::post("device authorization endpoint", &cfg.endpoints.device_authorize)
        .param("scope", cfg.scope.clone());
    let req = with_device_auth(inner, req);
    let body = transport::execute(&cfg.http, &req, inner.policy(false)).await?;
    device::parse_device_authorization(&body)
}

/// Waits `interval` before each poll (RFC 8628 §3.5), asks `state` what each answer
/// means, and stops at `deadline` with `WXA_ERR_EXPIRED`. Generic over the poll so
/// the schedule can be tested exactly on a paused clock.
pub(crate) async fn poll_until_done<P, F>(
    mut state: PollState,
    deadline: Instant,
    mut poll: P,
    mut on_pending: impl FnMut(bool, i64),
) -> Result<Map<String, Value>, Error>
where
    P: FnMut() -> F,
    F: Future<Output = PollAnswer>,
{
    let expired = || Error::new(Status::Expired, "the device code expired before the user approved it");
    loop {
        let next = Instant::now() + Duration::from_millis(state.interval_ms as u64);
        if next >= deadline {
            tokio::time::sleep_until(deadline).await;
            return Err(expired());
        }
        tokio::time::sleep_until(next).await;
        let answer = match tokio::time::timeout_at(deadline, poll()).await {
            Ok(a) => a,
            Err(_) => return Err(expired()),
        };
        match state.decide(answer) {
            PollAction::KeepPolling { slow_down } => on_pending(slow_down, state.interval_ms),
            PollAction::Granted(body) => return Ok(body),
            PollAction::Failed(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    fn http(status: u16, v: Option<Value>) -> PollAnswer {
        PollAnswer::Http { status, body: v.map(|v| v.as_object().unwrap().clone()) }
    }

    /// Runs the loop on tokio's paused clock with scripted answers; returns the result
    /// and the instants (ms after start) at which each poll happened.
    async fn run(
        interval_s: i64,
        expires_s: u64,
        answers: Vec<PollAnswer>,
    ) -> (Result<Map<String, Value>, Error>, Vec<u128>, usize) {
        let start = Instant::now();
        let answers = Mutex::new(VecDeque::from(answers));
        let times = Mutex::new(Vec::new());
        let mut pending = 0;
        let r = poll_until_done(
            PollState::new(interval_s),
            start + Duration::from_secs(expires_s),
            || {
                times.lock().unwrap().push((Instant::now() - start).as_millis());
                let a = answers.lock().unwrap().pop_front().unwrap_or(http(428, None));
                async move { a }
            },
            |_, _| pending += 1,
        )
        .await;
        (r, times.into_inner().unwrap(), pending)
    }

    #[tokio::test(start_paused = true)]
    async fn schedule_follows_interval_and_slow_down_exactly() {
        let (r, times, pending) = run(
            2,
            300,
            vec![
                http(428, None),
                http(400, Some(json!({"error":"authorization_pending"}))),
                http(400, Some(json!({"message":"slow_down"}))),
                http(428, None),
                http(200, Some(json!({"access_token":"a","expires_in":60}))),
            ],
        )
        .await;
        assert_eq!(r.unwrap()["access_token"], "a");
        // 2 s, 2 s, 2 s, then 7 s for this and every later poll.
        assert_eq!(times, vec![2_000, 4_000, 6_000, 13_000, 20_000]);
        assert_eq!(pending, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_ends_polling_at_the_deadline() {
        let start = Instant::now();
        let (r, times, _) = run(5, 12, vec![]).await;
        assert_eq!(r.unwrap_err().status(), Status::Expired);
        assert_eq!(times, vec![5_000, 10_000]);
        assert_eq!((Instant::now() - start).as_millis(), 12_000);
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_server_doubles_the_interval() {
        let (r, times, _) = run(
            1,
            100,
            vec![PollAnswer::Unreachable, PollAnswer::Unreachable, http(400, Some(json!({"error":"access_denied"})))],
        )
        .await;
        assert_eq!(r.unwrap_err().oauth_error(), Some("access_denied"));
        assert_eq!(times, vec![1_000, 3_000, 7_000]);
    }
}
