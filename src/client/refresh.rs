//! Refresh: forced, if-needed and proactive, all through one single-flight request per
//! client; client credentials. A failed refresh keeps the old token, except on
//! `invalid_grant`, which clears it and emits `unauthorized`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde_json::{Map, Value};

use super::{EventType, Inner, OpId, OpKind, State, guest, runtime};
use crate::error::{Error, Status};
use crate::protocol::token::{self, Supertoken};
use crate::secret::Secret;

pub type SharedRefresh = Shared<BoxFuture<'static, Result<Supertoken, Error>>>;

/// After a proactive refresh fails for a passing reason, try again this much later.
const PROACTIVE_RETRY: Duration = Duration::from_secs(30);

fn unauthorized(message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("status".into(), Value::from(Status::NotAuthorized.name()));
    m.insert("message".into(), Value::from(message));
    m
}

impl Inner {
    /// Joins the refresh in flight or starts one. It runs as its own task, so a caller
    /// that gives up (cancel) does not abort it for the others.
    pub(super) fn shared_refresh(self: &Arc<Self>, origin: OpId) -> SharedRefresh {
        let mut st = self.lock();
        if let Some(f) = &st.refresh {
            return f.clone();
        }
        let inner = Arc::clone(self);
        let task = runtime::handle().spawn(async move {
            let r = inner.refresh_once(origin).await;
            inner.lock().refresh = None;
            r
        });
        let fut = async move { task.await.unwrap_or_else(|_| Err(Error::internal("the refresh task panicked"))) }
            .boxed()
            .shared();
        st.refresh = Some(fut.clone());
        fut
    }

    async fn refresh_once(self: &Arc<Self>, origin: OpId) -> Result<Supertoken, Error> {
        let Some((old, guest_session)) = self.snapshot() else {
            return Err(Error::new(Status::NotAuthorized, "the client has no token to refresh"));
        };
        if guest_session {
            return guest::renew(self, origin).await;
        }
        let Some(refresh_token) = old.refresh_token.clone().filter(|_| old.can_refresh(self.now())) else {
            return Err(Error::new(Status::NotAuthorized, "the token has no usable refresh token"));
        };
        let form = vec![("grant_type", Secret::new("refresh_token")), ("refresh_token", refresh_token.clone())];
        match self.token_grant(form, false).await {
            Ok(body) => {
                let new = token::parse_token_response(&body, self.now())?.inherit_refresh_token(&old);
                self.store_token(new.clone(), false, origin, true);
                Ok(new)
            }
            Err(e) if e.oauth_error() == Some("invalid_grant") => {
                let cleared = {
                    let mut st = self.lock();
                    // Only if nobody stored another token while this request was out.
                    let same = st.token.as_ref().and_then(|t| t.refresh_token.as_ref()) == Some(&refresh_token);
                    if same {
                        self.clear_token(&mut st);
                    }
                    same
                };
                if cleared {
                    self.emit(
                        EventType::Unauthorized,
                        origin,
                        unauthorized("the refresh token was refused (invalid_grant); the token is cleared"),
                    );
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Plans the proactive refresh of the current token (called with the state locked).
    pub(super) fn schedule_refresh(self: &Arc<Self>, st: &mut State) {
        if let Some(t) = st.timer.take() {
            t.abort();
        }
        // A refresh that finishes after close() must not plan another one.
        if self.ops.is_closed() {
            return;
        }
        let Some(tok) = &st.token else { return };
        let Some(due) = tok.refresh_due_at(self.config.refresh_before_expiry_ms) else { return };
        if !(st.guest_session || tok.refresh_token.is_some()) {
            return;
        }
        let weak = Arc::downgrade(self);
        let delay = Duration::from_millis((due - self.now()).max(0) as u64);
        let handle = runtime::handle().spawn(proactive(weak, delay));
        st.timer = Some(handle.abort_handle());
    }
}

/// Sleeps until the refresh window opens, then refreshes; retries passing failures
/// while the token is still valid. Holds only a weak reference: a timer keeps no
/// client alive.
async fn proactive(weak: Weak<Inner>, delay: Duration) {
    tokio::time::sleep(delay).await;
    loop {
        let Some(inner) = weak.upgrade().filter(|i| !i.ops.is_closed()) else { return };
        let guest_without_identity = inner.lock().guest_session && inner.config.guest.is_none();
        if guest_without_identity {
            let expires_at = inner.snapshot().and_then(|(t, _)| t.expires_at);
            let mut m = Map::new();
            m.insert("expires_at".into(), Value::from(expires_at));
            inner.emit(EventType::JwtRefresh, 0, m);
            return;
        }
        match inner.shared_refresh(0).await {
            Ok(_) => return,
            Err(e) if e.oauth_error() == Some("invalid_grant") || e.status() == Status::NotAuthorized => return,
            Err(_) => {}
        }
        let still_valid = inner.snapshot().is_some_and(|(t, _)| !t.is_expired(inner.now()));
        drop(inner);
        if !still_valid {
            return;
        }
        tokio::time::sleep(PROACTIVE_RETRY).await;
    }
}

pub fn start_refresh(inner: &Arc<Inner>) -> Result<OpId, Error> {
    inner.spawn_op(OpKind::Refresh, |inner, op| async move {
        let t = inner.shared_refresh(op).await?;
        Ok(t.to_json_fields(inner.now()))
    })
}

pub fn start_get_valid_token(inner: &Arc<Inner>, min_valid_s: u32) -> Result<OpId, Error> {
    inner.spawn_op(OpKind::ValidToken, move |inner, op| async move {
        let now = inner.now();
        let Some((tok, guest_session)) = inner.snapshot() else {
            return Err(Error::new(Status::NotAuthorized, "the client has no token"));
        };
        let renewable = guest_session || tok.can_refresh(now);
        let window = if renewable { inner.config.refresh_before_expiry_ms } else { 0 };
        if tok.is_fresh(now, i64::from(min_valid_s) * 1000, window) {
            return Ok(tok.to_json_fields(now));
        }
        if renewable {
            let t = inner.shared_refresh(op).await?;
            return Ok(t.to_json_fields(inner.now()));
        }
        if tok.is_expired(now) {
            let msg = "the token expired and cannot be refreshed";
            inner.emit(EventType::Unauthorized, op, unauthorized(msg));
            return Err(Error::new(Status::NotAuthorized, msg));
        }
        Err(Error::new(
            Status::NotAuthorized,
            format!("the token expires sooner than the {min_valid_s} s asked for and cannot be refreshed"),
        ))
    })
}

pub fn start_client_credentials(inner: &Arc<Inner>) -> Result<OpId, Error> {
    if inner.config.client_secret.is_none() {
        return Err(Error::invalid("client credentials need a confidential client (`client_secret`)"));
    }
    inner.spawn_op(OpKind::ClientCredentials, |inner, op| async move {
        let cfg = &inner.config;
        let mut form =
            vec![("grant_type", Secret::new("client_credentials")), ("scope", Secret::new(cfg.scope.as_str()))];
        if cfg.self_contained_token {
            form.push(("self_contained_token", Secret::new("true")));
        }
        let body = inner.token_grant(form, true).await?;
        let tok = token::parse_token_response(&body, inner.now())?;
        Ok(inner.store_token(tok, false, op, true))
    })
}
