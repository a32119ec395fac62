//! Refresh: forced, if-needed and proactive, all through one single-flight request per
//! client; client credentials. A failed refresh keeps the old token, except on
//! `invalid_grant`, which clears it and emits `unauthorized`. A refresh installs its
//! answer only if the token it refreshed is still the client's (logout and `set_token`
//! win over a refresh in flight; its callers get `WXA_ERR_CANCELED`).

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde_json::{Map, Value};

use super::{DeadRefresh, EventType, Inner, OpId, OpKind, OpOutput, State, guest};
use crate::error::{Error, Status};
use crate::protocol::token::{self, Supertoken};
use crate::secret::Secret;

/// A refresh's answer, shared by every caller that joined it: the token, and its result
/// JSON serialized once (10,000 callers of one refresh get the same text, not 10,000
/// copies of the token built and serialized one by one).
pub struct Refreshed {
    pub token: Supertoken,
    pub text: super::ResultText,
}

pub type SharedRefresh = Shared<BoxFuture<'static, Result<Arc<Refreshed>, Error>>>;

/// A token to use now: the one the client holds, or the answer of the refresh this
/// caller joined (whose result text is shared with every other caller of it).
pub(super) enum Current {
    Held(Supertoken),
    Refreshed(Arc<Refreshed>),
}

impl Current {
    pub(super) fn token(&self) -> &Supertoken {
        match self {
            Current::Held(t) => t,
            Current::Refreshed(r) => &r.token,
        }
    }

    /// The operation's result: the token's fields, or the refresh's shared text.
    pub(super) fn into_output(self, now: i64) -> OpOutput {
        match self {
            Current::Held(t) => t.to_json_fields(now).into(),
            Current::Refreshed(r) => OpOutput::Text { text: Arc::clone(&r.text), carries_token: true },
        }
    }
}

/// The refresh in flight: callers join `fut`; logout, `set_token` and close abort it.
pub struct RefreshSlot {
    fut: SharedRefresh,
    abort: tokio::task::AbortHandle,
    id: u64,
}

impl RefreshSlot {
    pub fn abort(&self) {
        self.abort.abort();
    }
}

/// After a proactive refresh fails for a passing reason, try again this much later.
const PROACTIVE_RETRY: Duration = Duration::from_secs(30);

/// The `unauthorized` payload: why the client can no longer get a token, and — for a
/// refresh token that expired — when (Unix ms).
fn unauthorized(message: &str, dead: Option<DeadRefresh>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("status".into(), Value::from(Status::NotAuthorized.name()));
    m.insert("message".into(), Value::from(message));
    if let Some(d) = dead {
        m.insert("reason".into(), Value::from(d.reason));
        if let Some(at) = d.expired_at {
            m.insert("refresh_token_expired_at".into(), Value::from(at));
        }
    }
    m
}

/// Whether a refused refresh means the refresh token is dead, and why. Webex answers an
/// expired or revoked refresh token with `invalid_grant`, or with `invalid_request` and
/// a description that names the refresh token (both shapes seen; docs/PROTOCOL.md).
pub(super) fn dead_refresh_token(e: &Error) -> Option<DeadRefresh> {
    let server = e.server();
    let desc = server.error_description.as_deref().unwrap_or("").to_ascii_lowercase();
    let names_refresh_token = desc.contains("refresh token") || desc.contains("refresh_token");
    let named = match server.error.as_deref() {
        Some("invalid_grant") => true,
        Some("invalid_request") => names_refresh_token,
        // Webex's own shape ({message, errors, trackingId}) has no OAuth code: a 400 or
        // 401 that says the refresh token is bad means the same.
        None => names_refresh_token && matches!(server.http_status, Some(400 | 401)),
        _ => false,
    };
    if !named {
        return None;
    }
    let reason = match (desc.contains("expired"), desc.contains("revoked")) {
        (true, false) => "refresh_token_expired",
        (false, true) => "revoked",
        _ => "invalid_grant",
    };
    Some(DeadRefresh { reason, expired_at: None })
}

pub(super) fn superseded() -> Error {
    Error::new(
        Status::Canceled,
        "the refresh was superseded: the token was replaced or cleared (logout, set_token) while it was in flight",
    )
}

impl Inner {
    /// Joins the refresh in flight or starts one. It runs as its own task, so a caller
    /// that gives up (cancel) does not abort it for the others.
    pub(super) fn shared_refresh(self: &Arc<Self>, origin: OpId) -> SharedRefresh {
        let mut st = self.lock();
        if let Some(slot) = &st.refresh {
            return slot.fut.clone();
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = Arc::clone(self);
        let spawned = self.tasks.spawn(async move {
            let r = inner.refresh_once(origin).await.map(|(token, store_error)| {
                let mut fields = token.to_json_fields(inner.now());
                if let Some(e) = store_error {
                    fields.insert("store_error".into(), Value::from(e));
                }
                let text = super::result_text(true, fields);
                Arc::new(Refreshed { token, text })
            });
            {
                let mut st = inner.lock();
                if st.refresh.as_ref().is_some_and(|s| s.id == id) {
                    st.refresh = None;
                }
            }
            let _ = tx.send(r);
        });
        // The task ends without answering when it is aborted (logout, set_token) or the
        // client is closing: its callers end canceled.
        let fut = async move {
            rx.await.unwrap_or_else(|_| {
                Err(Error::new(Status::Canceled, "the refresh was canceled (logout, set_token or close)"))
            })
        }
        .boxed()
        .shared();
        if let Some(abort) = spawned {
            st.refresh = Some(RefreshSlot { fut: fut.clone(), abort, id });
        }
        fut
    }

    /// The new token, and the store's complaint when it could not be written there.
    async fn refresh_once(self: &Arc<Self>, origin: OpId) -> Result<(Supertoken, Option<String>), Error> {
        let Some((old, guest_session, epoch)) = self.snapshot() else {
            return Err(Error::new(Status::NotAuthorized, "the client has no token to refresh"));
        };
        match &self.persist {
            // One refresh across every process and machine sharing the store.
            Some(p) => self.refresh_through_store(p, origin, old, guest_session, epoch).await,
            None => self.refresh_with_server(origin, &old, guest_session, epoch).await.map(|t| (t, None)),
        }
    }

    /// Renews `old` (a guest session by JWT, else with its refresh token) and installs
    /// the answer if the token is still the one of `epoch`.
    pub(super) async fn refresh_with_server(
        self: &Arc<Self>,
        origin: OpId,
        old: &Supertoken,
        guest_session: bool,
        epoch: u64,
    ) -> Result<Supertoken, Error> {
        if guest_session {
            return guest::renew(self, origin, epoch).await;
        }
        let Some(refresh_token) = old.refresh_token.clone().filter(|_| old.can_refresh(self.now())) else {
            if let (Some(_), Some(at)) = (&old.refresh_token, old.refresh_token_expires_at) {
                // The refresh token's own lifetime is over: say so once, drop it, and keep
                // the access token for as long as it lives.
                self.refresh_token_expired(epoch, origin, at);
            }
            return Err(Error::new(Status::NotAuthorized, "the token has no usable refresh token"));
        };
        let grant = self.token_request("refresh_token").secret("refresh_token", refresh_token).spends_credential();
        match self.token_grant(grant).await {
            Ok(mut body) => {
                let parsed = token::parse_token_response(&body, self.now());
                crate::secret::wipe_map(&mut body);
                let new = parsed?.inherit_refresh_token(old);
                match self.store_token_if(Some(epoch), new.clone(), false, origin, true, false) {
                    Some(_) => Ok(new),
                    None => Err(superseded()),
                }
            }
            Err(e) if dead_refresh_token(&e).is_some() => {
                let cleared = {
                    let mut st = self.lock();
                    // Only if nobody stored another token while this request was out.
                    let same = st.epoch == epoch;
                    if same {
                        self.clear_token_from_refresh(&mut st);
                    }
                    same
                };
                if cleared {
                    self.events.supersede_token();
                    self.ops.scrub_tokens();
                    self.emit(
                        EventType::Unauthorized,
                        origin,
                        unauthorized(
                            "the refresh token was refused; the token is cleared: log in again",
                            dead_refresh_token(&e),
                        ),
                    );
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The refresh token's own expiry has passed: drop it (the access token lives on
    /// until it expires) and emit `unauthorized` (reason `refresh_token_expired`).
    fn refresh_token_expired(self: &Arc<Self>, epoch: u64, origin: OpId, at: i64) {
        let dead = DeadRefresh { reason: "refresh_token_expired", expired_at: Some(at) };
        {
            let mut st = self.lock();
            if st.epoch != epoch {
                return;
            }
            if let Some(t) = st.token.as_mut() {
                t.refresh_token = None;
            }
            st.refresh_dead = Some(dead);
        }
        self.emit(
            EventType::Unauthorized,
            origin,
            unauthorized("the refresh token has expired: log in again", Some(dead)),
        );
    }

    /// Plans the proactive refresh of the current token, and the keep-alive refresh of
    /// its refresh token (called with the state locked).
    pub(super) fn schedule_refresh(self: &Arc<Self>, st: &mut State) {
        if let Some(t) = st.timer.take() {
            t.abort();
        }
        // A refresh that finishes after close() must not plan another one.
        if self.tasks.is_cancelled() {
            return;
        }
        let Some(tok) = &st.token else { return };
        if !(st.guest_session || tok.refresh_token.is_some()) {
            return;
        }
        let now = self.now();
        let delay = |due: i64| Duration::from_millis((due - now).max(0) as u64);
        let proactive_in =
            tok.proactive_refresh_at(self.config.refresh_before_expiry_ms, st.last_proactive_at).map(delay);
        // Independent of the access token's floor: an app that runs but rarely calls the
        // API keeps its grant (Webex extends the refresh token on use).
        let keepalive_in = tok.keepalive_due_at(self.config.refresh_keepalive_ms, st.last_keepalive_at).map(delay);
        // One timer task per client, for whichever comes first (memory: 100,000 clients).
        st.timer = match (proactive_in, keepalive_in) {
            (Some(p), k) if k.is_none_or(|k| p <= k) => self.tasks.spawn(proactive(Arc::downgrade(self), p)),
            (_, Some(k)) => self.tasks.spawn(keepalive(Arc::downgrade(self), k)),
            _ => None,
        };
    }
}

/// Refreshes when the refresh token nears its own expiry; its `token:refresh` carries op 0.
async fn keepalive(weak: Weak<Inner>, delay: Duration) {
    tokio::time::sleep(delay).await;
    let Some(inner) = weak.upgrade().filter(|i| !i.tasks.is_cancelled()) else { return };
    inner.lock().last_keepalive_at = Some(inner.now());
    if inner.shared_refresh(0).await.is_err() {
        // No new token, so nothing planned the next timer: plan it (the floor keeps the
        // keep-alive from coming back sooner than an hour).
        let mut st = inner.lock();
        inner.schedule_refresh(&mut st);
    }
}

/// Sleeps until the refresh window opens, then refreshes; retries passing failures
/// while the token is still valid. Holds only a weak reference: a timer keeps no
/// client alive.
async fn proactive(weak: Weak<Inner>, delay: Duration) {
    tokio::time::sleep(delay).await;
    loop {
        let Some(inner) = weak.upgrade().filter(|i| !i.tasks.is_cancelled()) else { return };
        let guest_without_identity = {
            let mut st = inner.lock();
            // The floor counts from the start of each proactive refresh (docs/PROTOCOL.md).
            st.last_proactive_at = Some(inner.now());
            st.guest_session && inner.config.guest.is_none()
        };
        if guest_without_identity {
            let expires_at = inner.snapshot().and_then(|(t, _, _)| t.expires_at);
            let mut m = Map::new();
            m.insert("expires_at".into(), Value::from(expires_at));
            inner.emit(EventType::JwtRefresh, 0, m);
            return;
        }
        match inner.shared_refresh(0).await {
            Ok(_) => return,
            Err(e)
                if e.oauth_error() == Some("invalid_grant")
                    || matches!(e.status(), Status::NotAuthorized | Status::Canceled) =>
            {
                return;
            }
            Err(_) => {}
        }
        let still_valid = inner.snapshot().is_some_and(|(t, _, _)| !t.is_expired(inner.now()));
        drop(inner);
        if !still_valid {
            return;
        }
        tokio::time::sleep(PROACTIVE_RETRY).await;
    }
}

pub fn start_refresh(inner: &Arc<Inner>) -> Result<OpId, Error> {
    inner.spawn_op(OpKind::Refresh, |inner, op| async move {
        let r = inner.shared_refresh(op).await?;
        Ok(OpOutput::Text { text: Arc::clone(&r.text), carries_token: true })
    })
}

pub fn start_get_valid_token(inner: &Arc<Inner>, min_valid_s: u32) -> Result<OpId, Error> {
    inner.spawn_op(OpKind::ValidToken, move |inner, op| async move {
        Ok(inner.valid_token(op, min_valid_s).await?.into_output(inner.now()))
    })
}

pub fn start_token_rejected(inner: &Arc<Inner>, access_token: &str) -> Result<OpId, Error> {
    if access_token.is_empty() {
        return Err(Error::invalid("`access_token` is empty"));
    }
    let rejected = Secret::new(access_token);
    inner.spawn_op(OpKind::TokenRejected, move |inner, op| async move {
        Ok(inner.refresh_unless_changed(op, &rejected).await?.into_output(inner.now()))
    })
}

impl Inner {
    /// The token, good for at least `min_valid_s` more: the one held, else renewed
    /// (single-flight). An expired token that cannot be renewed is announced
    /// (`unauthorized`) and refused.
    pub(super) async fn valid_token(self: &Arc<Self>, op: OpId, min_valid_s: u32) -> Result<Current, Error> {
        let now = self.now();
        let (tok, guest_session, _) =
            self.snapshot().ok_or_else(|| Error::new(Status::NotAuthorized, "the client has no token"))?;
        let renewable = guest_session || tok.can_refresh(now);
        let window = if renewable { self.config.refresh_before_expiry_ms } else { 0 };
        if tok.is_fresh(now, i64::from(min_valid_s) * 1000, window) {
            return Ok(Current::Held(tok));
        }
        if renewable {
            return Ok(Current::Refreshed(self.shared_refresh(op).await?));
        }
        if tok.is_expired(now) {
            let msg = "the token expired and cannot be refreshed";
            let dead = self.lock().refresh_dead;
            self.emit(EventType::Unauthorized, op, unauthorized(msg, dead));
            return Err(Error::new(Status::NotAuthorized, msg));
        }
        Err(Error::new(
            Status::NotAuthorized,
            format!("the token expires sooner than the {min_valid_s} s asked for and cannot be refreshed"),
        ))
    }

    /// The app's API call was refused (401) with `rejected`: refresh unless the token
    /// changed meanwhile (compare-and-refresh; one refresh for every caller that saw the
    /// same 401, across processes with a token store).
    pub(super) async fn refresh_unless_changed(
        self: &Arc<Self>,
        op: OpId,
        rejected: &Secret,
    ) -> Result<Current, Error> {
        let (tok, _, _) =
            self.snapshot().ok_or_else(|| Error::new(Status::NotAuthorized, "the client has no token"))?;
        // Another caller (or process) replaced it already: nothing to refresh.
        if tok.access_token != *rejected {
            return Ok(Current::Held(tok));
        }
        Ok(Current::Refreshed(self.shared_refresh(op).await?))
    }
}

pub fn start_client_credentials(inner: &Arc<Inner>) -> Result<OpId, Error> {
    if inner.config.client_secret.is_none() {
        return Err(Error::invalid("client credentials need a confidential client (`client_secret`)"));
    }
    inner.spawn_op(OpKind::ClientCredentials, |inner, op| async move {
        let cfg = &inner.config;
        let mut grant = inner.token_request("client_credentials").param("scope", cfg.scope.clone());
        if cfg.self_contained_token {
            grant = grant.param("self_contained_token", "true");
        }
        let mut body = inner.token_grant(grant).await?;
        let tok = token::parse_token_response(&body, inner.now());
        crate::secret::wipe_map(&mut body);
        Ok(inner.install_login(tok?, false, op).await)
    })
}
