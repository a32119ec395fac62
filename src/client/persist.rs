//! The engine's side of the token store (config `token_store`): load the token at
//! `Client::new`, write it after every change (logout writes its absence), refresh under
//! the store's lock so processes and machines sharing a store spend the refresh token
//! once, follow changes other instances make (Redis change notices), and keep pending
//! logins in Redis so a redirect may land on any instance of a fleet. The store itself
//! (`crate::store`) only keeps encrypted bytes; what they mean is decided here.
//!
//! A store error never loses a token: the in-memory token keeps serving, the failed
//! write is retried in the background until it lands (or the client is closed), and the
//! operation that changed the token still succeeds, with `store_error` in its result.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::{EventType, Inner, OpId, runtime};
use crate::error::{Error, Status};
use crate::protocol::token::{self, Supertoken};
use crate::secret::wipe_value;
use crate::store::{SaveError, Store, Stored};

/// One client's link to its store.
pub struct Persist {
    store: Store,
    /// The generation of the record this client last read or wrote (0: none yet).
    known: AtomicU64,
    /// A write failed and waits to be retried.
    dirty: AtomicBool,
    /// One write at a time per client: each compares against `known`.
    io: tokio::sync::Mutex<()>,
}

impl Persist {
    /// The store holds generation `g` of the record, written here or read from there:
    /// nothing of this client waits to be written.
    fn settled(&self, g: u64) {
        self.known.store(g, Ordering::SeqCst);
        self.dirty.store(false, Ordering::SeqCst);
    }

    /// Writes `record` only if the store is empty (it lost its data), with a generation
    /// above the one readers remember: to them the same number would mean no change.
    async fn put_back(&self, record: Option<&[u8]>) {
        let after = self.known.load(Ordering::SeqCst) + 1;
        if let Ok(g) = self.store.save_if_empty(after, record).await {
            self.settled(g);
        }
    }
}

/// The record the engine keeps in the store: the supertoken (the shape `wxa_get_token`
/// returns), when it was obtained, and whether it is a guest session.
fn record_of(token: &Supertoken, guest: bool, now: i64) -> Zeroizing<Vec<u8>> {
    let mut v = serde_json::json!({"v": 1, "token": Value::Object(token.to_json_fields(now)),
                                   "obtained_at": token.obtained_at, "guest": guest});
    let bytes = Zeroizing::new(serde_json::to_vec(&v).unwrap_or_default());
    wipe_value(&mut v);
    bytes
}

fn token_of(bytes: &[u8], now: i64, describe: &str) -> Result<(Supertoken, bool), Error> {
    let unreadable = || Error::invalid(format!("{describe} holds a token this version cannot read"));
    let mut v: Value = serde_json::from_slice(bytes).map_err(|_| unreadable())?;
    let parsed = (|| {
        let fields = v.get("token").and_then(Value::as_object).ok_or_else(unreadable)?;
        let mut t = token::read_saved_token(fields, now)?;
        if let Some(at) = v.get("obtained_at").and_then(Value::as_i64) {
            t.obtained_at = at;
        }
        Ok((t, v.get("guest").and_then(Value::as_bool).unwrap_or(false)))
    })();
    wipe_value(&mut v);
    parsed
}

/// Whether two records hold the same token (not merely the same access token: an import
/// may change its expiry).
fn same_token(a: &Supertoken, a_guest: bool, b: &Supertoken, b_guest: bool) -> bool {
    a_guest == b_guest
        && a.access_token == b.access_token
        && a.refresh_token == b.refresh_token
        && a.expires_at == b.expires_at
        && a.refresh_token_expires_at == b.refresh_token_expires_at
}

/// Whether a refresh that finds `t` (a guest session when `guest`) should still go to
/// the server: it is inside its refresh window and can be renewed.
fn needs_refresh(t: &Supertoken, guest: bool, now: i64, window: i64) -> bool {
    !t.is_fresh(now, 0, window) && (guest || t.can_refresh(now))
}

/// Opens the store and reads its token, within the client's timeout. A token that cannot
/// be read (wrong key, tampered, truncated, another client's) fails `Client::new`.
pub fn open(
    cfg: &crate::store::StoreConfig,
    client_id: &str,
    timeout: Duration,
    now: i64,
) -> Result<(Persist, Option<(Supertoken, bool)>), Error> {
    let describe = cfg.describe();
    runtime::block_on(async {
        let work = async {
            let store = Store::open(cfg, client_id).await?;
            let stored = store.load().await?;
            Ok::<_, Error>((store, stored))
        };
        let (store, stored) = tokio::time::timeout(timeout, work).await.map_err(|_| {
            Error::new(Status::Network, format!("{describe}: no answer within {} ms", timeout.as_millis()))
        })??;
        let (known, token) = match stored {
            Some(Stored { generation, token: Some(bytes) }) => (generation, Some(token_of(&bytes, now, &describe)?)),
            Some(Stored { generation, token: None }) => (generation, None),
            None => (0, None),
        };
        let p = Persist {
            store,
            known: AtomicU64::new(known),
            dirty: AtomicBool::new(false),
            io: tokio::sync::Mutex::new(()),
        };
        Ok((p, token))
    })
}

impl Persist {
    pub fn shares_pending_logins(&self) -> bool {
        self.store.shares_pending_logins()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl Inner {
    fn persist(&self) -> Option<&Persist> {
        self.persist.as_ref()
    }

    /// Writes the client's current token (or its absence) to the store. A newer record
    /// written meanwhile by another instance is overwritten: this change (a login, an
    /// import, a logout) is the latest. Refreshes write under the lock instead.
    async fn write_current(self: &Arc<Self>, p: &Persist) -> Result<(), Error> {
        let _io = p.io.lock().await;
        for _ in 0..3 {
            let record = {
                let st = self.lock();
                st.token.as_ref().map(|t| record_of(t, st.guest_session, self.now()))
            };
            let expected = p.known.load(Ordering::SeqCst);
            match p.store.save(expected, record.as_ref().map(|r| r.as_slice())).await {
                Ok(g) => {
                    p.settled(g);
                    return Ok(());
                }
                Err(SaveError::Stale { current }) => p.known.store(current, Ordering::SeqCst),
                Err(SaveError::Failed(e)) => return Err(e),
            }
        }
        Err(Error::new(Status::Network, format!("{}: other writers kept changing the token", p.store.describe())))
    }

    /// After an operation changed the token: persist it. `Some(message)` when the write
    /// failed (the token stays in memory and the write is retried in the background).
    pub(super) async fn persist_change(self: &Arc<Self>) -> Option<String> {
        let p = self.persist()?;
        match self.write_current(p).await {
            Ok(()) => None,
            Err(e) => {
                self.retry_write_later();
                Some(e.message().to_owned())
            }
        }
    }

    /// `persist_change` from a synchronous call (`set_token`): in the background.
    pub(super) fn persist_change_soon(self: &Arc<Self>) {
        if self.persist.is_none() {
            return;
        }
        let inner = Arc::clone(self);
        self.tasks.spawn(async move {
            inner.persist_change().await;
        });
    }

    /// Retries a failed write with backoff until it lands or the client closes.
    fn retry_write_later(self: &Arc<Self>) {
        let Some(p) = self.persist() else { return };
        if p.dirty.swap(true, Ordering::SeqCst) {
            return; // a retry is already scheduled
        }
        let weak = Arc::downgrade(self);
        self.tasks.spawn(async move {
            let mut wait = Duration::from_millis(250);
            loop {
                tokio::time::sleep(wait).await;
                let Some(inner) = weak.upgrade() else { return };
                let Some(p) = inner.persist() else { return };
                if !p.dirty.load(Ordering::SeqCst) || inner.write_current(p).await.is_ok() {
                    return;
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// Installs a token another instance stored; `token:refresh` (op `origin`) tells the
    /// app. `None` when superseded by a local change meanwhile.
    fn adopt(self: &Arc<Self>, epoch: u64, t: Supertoken, guest: bool, origin: OpId) -> Option<()> {
        self.store_token_if(Some(epoch), t, guest, origin, true, false).map(|_| ())
    }

    /// Another instance logged out: clear here too and say so (`logout`, op 0). May run
    /// inside the refresh in flight, which must not abort itself.
    fn adopt_logout(self: &Arc<Self>) {
        let had = {
            let mut st = self.lock();
            self.clear_token_from_refresh(&mut st).is_some()
        };
        self.events.supersede_token();
        self.ops.scrub_tokens();
        self.token_generation.send_modify(|g| *g += 1);
        if had {
            let mut m = Map::new();
            m.insert("reason".into(), Value::from("logged out by another instance sharing the token store"));
            self.emit(EventType::Logout, 0, m);
        }
    }

    /// A refresh through the store: under its lock, re-read; adopt a newer token another
    /// instance stored (refreshing it only if it too needs it), else refresh and write
    /// the answer before the lock goes.
    pub(super) async fn refresh_through_store(
        self: &Arc<Self>,
        p: &Persist,
        origin: OpId,
        mut old: Supertoken,
        mut guest: bool,
        mut epoch: u64,
    ) -> Result<(Supertoken, Option<String>), Error> {
        // A holder that died (or stalled) keeps a Redis lock until its TTL: wait that
        // long too, so one dead instance costs the others time, not an error.
        let wait = self.config.timeout + p.store.lock_ttl().unwrap_or_default();
        let lock = p.store.lock(wait).await?;
        let result = async {
            let _io = p.io.lock().await;
            // While this waited for the lock, the token may have changed here (another
            // instance's, adopted on its change notice; a login): go on from the current
            // one, which may need no refresh at all. Refreshing `old` would spend the
            // refresh token again, and its answer could not be installed.
            if self.lock().epoch != epoch {
                let (t, g, e) = self
                    .snapshot()
                    .ok_or_else(|| Error::new(Status::NotAuthorized, "the client has no token to refresh"))?;
                if !needs_refresh(&t, g, self.now(), self.config.refresh_before_expiry_ms) {
                    return Ok((t, None));
                }
                (old, guest, epoch) = (t, g, e);
            }
            let stored = p.store.load().await?;
            let known = p.known.load(Ordering::SeqCst);
            let describe = p.store.describe();
            match stored {
                Some(Stored { generation, token: Some(bytes) }) if generation != known => {
                    let (t, g) = token_of(&bytes, self.now(), &describe)?;
                    p.known.store(generation, Ordering::SeqCst);
                    // The same token rewritten, not renewed (a store that lost its data
                    // got it back) is still the one to refresh.
                    if !same_token(&t, g, &old, guest) {
                        self.adopt(epoch, t.clone(), g, origin).ok_or_else(super::refresh::superseded)?;
                        if !needs_refresh(&t, g, self.now(), self.config.refresh_before_expiry_ms) {
                            return Ok((t, None));
                        }
                        // The adopted token needs a refresh as well: go on from it.
                        epoch = self.lock().epoch;
                        (old, guest) = (t, g);
                    }
                }
                Some(Stored { generation, token: None }) if generation != known => {
                    p.known.store(generation, Ordering::SeqCst);
                    drop(_io);
                    self.adopt_logout();
                    return Err(Error::new(
                        Status::NotAuthorized,
                        "another instance sharing the token store logged out",
                    ));
                }
                _ => {}
            }
            let new = self.refresh_with_server(origin, &old, guest, epoch).await;
            let expected = p.known.load(Ordering::SeqCst);
            let record = match &new {
                Ok(t) => Some(record_of(t, guest, self.now())),
                // A refused refresh token is dead for every instance: store the logout.
                Err(e) if super::refresh::dead_refresh_token(e).is_some() => None,
                Err(_) => return new.map(|t| (t, None)),
            };
            let mut store_error = None;
            match p.store.save(expected, record.as_ref().map(|r| r.as_slice())).await {
                Ok(g) => {
                    p.settled(g);
                }
                // Our lock expired and another instance wrote meanwhile (fencing): its
                // record wins; adopt it.
                Err(SaveError::Stale { .. }) => match p.store.load().await? {
                    Some(Stored { generation, token: Some(bytes) }) => {
                        let (t, g) = token_of(&bytes, self.now(), &describe)?;
                        p.known.store(generation, Ordering::SeqCst);
                        // Unless it holds the very token this refresh renewed, put back by
                        // an instance after the store lost its data (and its lock with
                        // it): this answer is newer; write it over that record.
                        if same_token(&t, g, &old, guest) {
                            let r = record.as_ref().map(|r| r.as_slice());
                            if let Ok(next) = p.store.save(generation, r).await {
                                p.settled(next);
                            }
                            return new.map(|t| (t, None));
                        }
                        let e = self.lock().epoch;
                        self.adopt(e, t.clone(), g, origin);
                        return Ok((t, None));
                    }
                    // The store lost what it held (see `restore_lost`): this answer is
                    // the newest there is; put it back.
                    None => {
                        p.put_back(record.as_ref().map(|r| r.as_slice())).await;
                    }
                    Some(Stored { token: None, .. }) => {}
                },
                Err(SaveError::Failed(e)) => {
                    drop(_io);
                    if new.is_ok() {
                        self.retry_write_later();
                    }
                    // The token is kept (and the write retried); the result says why the
                    // store does not have it yet.
                    store_error = Some(e.message().to_owned());
                }
            }
            new.map(|t| (t, store_error))
        }
        .await;
        let _ = lock.release().await;
        result
    }

    /// Follows changes other instances make (Redis change notices, and each reconnect):
    /// re-reads the store and adopts what changed.
    pub(super) fn follow_store(self: &Arc<Self>) {
        let Some(mut changes) = self.persist().and_then(|p| p.store.changes()) else { return };
        let weak: Weak<Inner> = Arc::downgrade(self);
        self.tasks.spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(inner) = weak.upgrade() else { return };
                inner.reread_store().await;
            }
        });
    }

    /// The store holds nothing though this instance read or wrote a record there: it
    /// lost its data (a Redis restarted without persistence, flushed, or failed over to
    /// an empty replica). Put back the token held here, only if the store is still empty:
    /// when several instances try, the first wins and the others follow its change
    /// notice. A refresh in flight elsewhere writes over it (see the stale write in
    /// `refresh_through_store`). Called with `io` held.
    async fn restore_lost(self: &Arc<Self>, p: &Persist) {
        let record = {
            let st = self.lock();
            let Some(t) = st.token.as_ref() else { return };
            record_of(t, st.guest_session, self.now())
        };
        p.put_back(Some(record.as_slice())).await;
    }

    async fn reread_store(self: &Arc<Self>) {
        let Some(p) = self.persist() else { return };
        let io = p.io.lock().await;
        let Ok(stored) = p.store.load().await else { return };
        let known = p.known.load(Ordering::SeqCst);
        match stored {
            Some(Stored { generation, token: Some(bytes) }) if generation != known => {
                let Ok((t, g)) = token_of(&bytes, self.now(), &p.store.describe()) else { return };
                // Another instance's newer token replaces ours, written or not.
                p.settled(generation);
                let (epoch, same) = {
                    let st = self.lock();
                    (st.epoch, st.token.as_ref().is_some_and(|cur| same_token(&t, g, cur, st.guest_session)))
                };
                // The token this client holds, rewritten (put back after a data loss):
                // nothing to announce.
                if !same {
                    self.adopt(epoch, t, g, 0);
                }
            }
            Some(Stored { generation, token: None }) if generation != known => {
                p.known.store(generation, Ordering::SeqCst);
                drop(io);
                self.adopt_logout();
                return;
            }
            None if known > 0 => self.restore_lost(p).await,
            _ => {}
        }
        // Back after an outage with a write still pending: write it now.
        if p.dirty.load(Ordering::SeqCst) {
            drop(io);
            let _ = self.write_current(p).await;
        }
    }
}
