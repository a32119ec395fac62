//! The Redis store, through the `redis` crate's tokio `ConnectionManager` (RESP3).
//!
//! Why `redis` (1.8, the latest stable) and not `fred`: it is the most used Redis client
//! for Rust, its `ConnectionManager` is a cheap clonable multiplexed connection that
//! reconnects by itself, RESP3 lets the same connection carry commands and pub/sub
//! pushes, and `Script` handles EVALSHA with the EVAL fallback. `fred` would do too but
//! brings its own task model and a larger dependency tree.
//!
//! Keys (namespace `ns`, client id `cid`), values are sealed records (`format`):
//! - `ns:token:cid`          hash {g: generation in decimal, r: record}
//! - `ns:lock:cid`           random holder id, `SET NX PX ttl`
//! - `ns:pending:cid:id`     record, `SET PX ttl`, taken with `GETDEL`
//! - channel `ns:changes`    change notices "<instance> <generation> <cid>"
//!
//! Connections: one `ConnectionManager` per (Redis URL, timeout) in the process, shared
//! by every Store on it (100,000 clients must not mean 100,000 sockets); the registry
//! holds it weakly, so it closes when its last Store is dropped. Its reconnects make a
//! single attempt each (no retry loop inside the crate): a supervisor task of ours
//! re-establishes the connection after a disconnection (PING with backoff) and keeps the
//! wanted channels subscribed; it is aborted when the connection's last Store goes.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;
use rand::RngCore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ProtocolVersion, PushInfo, PushKind, Script, Value};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use url::Url;
use zeroize::Zeroizing;

use super::{SaveError, Sealer, Stored, timeout_error};
use crate::error::{Error, Status};

/// Accepts `redis://` and `rediss://` URLs; the message never shows the password.
pub fn check_url(url: &str) -> Result<(), Error> {
    let parsed = Url::parse(url).map_err(|_| Error::invalid("config `token_store.redis` is not a URL"))?;
    if parsed.scheme() != "redis" && parsed.scheme() != "rediss" {
        return Err(Error::invalid(format!(
            "config `token_store.redis` must be a redis:// or rediss:// URL, not {}://",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("config `token_store.redis` has no host"));
    }
    redis::Client::open(url).map_err(|_| {
        Error::invalid(format!("config `token_store.redis` is not a valid Redis URL: {}", redact_url(url)))
    })?;
    Ok(())
}

/// The URL without its password (the user name stays).
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(None);
            }
            u.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// Compare-and-set of the token hash, and the change notice, in one step.
static SAVE: Lazy<Script> = Lazy::new(|| {
    Script::new(
        r"
local cur = redis.call('HGET', KEYS[1], 'g')
if not cur then cur = '0' end
if cur ~= ARGV[1] then return {0, cur} end
redis.call('HSET', KEYS[1], 'g', ARGV[2], 'r', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, ARGV[2]}
",
    )
});

/// Migration: writes a record iff its generation is greater than the stored one.
static IMPORT: Lazy<Script> = Lazy::new(|| {
    Script::new(
        r"
local cur = redis.call('HGET', KEYS[1], 'g')
if not cur then cur = '0' end
if tonumber(cur) >= tonumber(ARGV[2]) then return {0, cur} end
redis.call('HSET', KEYS[1], 'g', ARGV[2], 'r', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, ARGV[2]}
",
    )
});

/// Deletes the lock only if it still holds our id: an expired holder cannot delete the
/// lock another instance took since.
static RELEASE: Lazy<Script> = Lazy::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------- shared connections

struct Watcher {
    id: u64,
    instance: String,
    client_id: String,
    tx: watch::Sender<u64>,
}

#[derive(Default)]
struct Subs {
    /// Channel -> the Stores of this process watching it.
    channels: HashMap<String, Vec<Watcher>>,
    /// Channels the current connection confirmed (RESP3 `subscribe` pushes).
    confirmed: HashSet<String>,
    /// Channels the supervisor subscribed whose confirmation push may still be on its way
    /// (pushes reach us through the crate's forwarding task, after the reply): without
    /// this the supervisor would subscribe twice and wake every Store twice.
    requested: HashSet<String>,
}

fn bump(tx: &watch::Sender<u64>) {
    tx.send_modify(|v| *v = v.wrapping_add(1));
}

impl Subs {
    /// The connection's subscriptions are gone with it.
    fn connection_lost(&mut self) {
        self.confirmed.clear();
        self.requested.clear();
    }

    /// Wanted but neither confirmed nor requested; confirmed or requested but unwanted.
    fn to_change(&self) -> (Vec<String>, Vec<String>) {
        let missing = self.channels.keys().filter(|c| !self.confirmed.contains(*c) && !self.requested.contains(*c));
        let extra = self.confirmed.union(&self.requested).filter(|c| !self.channels.contains_key(*c));
        (missing.cloned().collect(), extra.cloned().collect())
    }

    fn on_push(&mut self, info: PushInfo) -> bool {
        let text = |v: &Value| match v {
            Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        match info.kind {
            PushKind::Disconnection => {
                self.connection_lost();
                return true;
            }
            PushKind::Subscribe => {
                if let Some(ch) = info.data.first().and_then(text) {
                    for w in self.channels.get(&ch).into_iter().flatten() {
                        bump(&w.tx);
                    }
                    self.confirmed.insert(ch);
                }
            }
            PushKind::Unsubscribe => {
                if let Some(ch) = info.data.first().and_then(text) {
                    self.confirmed.remove(&ch);
                    self.requested.remove(&ch);
                }
            }
            PushKind::Message => {
                let (Some(ch), Some(msg)) = (info.data.first().and_then(text), info.data.get(1).and_then(text)) else {
                    return false;
                };
                let mut parts = msg.splitn(3, ' ');
                let (Some(instance), Some(_generation), Some(client_id)) = (parts.next(), parts.next(), parts.next())
                else {
                    return false;
                };
                for w in self.channels.get(&ch).into_iter().flatten() {
                    if w.instance != instance && w.client_id == client_id {
                        bump(&w.tx);
                    }
                }
            }
            _ => {}
        }
        false
    }
}

struct Conn {
    manager: ConnectionManager,
    subs: Arc<Mutex<Subs>>,
    /// Wakes the supervisor: disconnected, or the wanted channels changed.
    kick: Arc<Notify>,
    supervisor: JoinHandle<()>,
    next_watcher: AtomicU64,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.supervisor.abort();
    }
}

type ConnKey = (String, u128);
static CONNS: Lazy<Mutex<HashMap<ConnKey, Weak<Conn>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn lock_subs(subs: &Mutex<Subs>) -> std::sync::MutexGuard<'_, Subs> {
    subs.lock().unwrap_or_else(|p| p.into_inner())
}

impl Conn {
    fn get(url: &str, timeout: Duration, describe: &str) -> Result<Arc<Conn>, Error> {
        let key = (url.to_owned(), timeout.as_millis());
        let mut conns = CONNS.lock().unwrap_or_else(|p| p.into_inner());
        conns.retain(|_, w| w.strong_count() > 0);
        if let Some(c) = conns.get(&key).and_then(Weak::upgrade) {
            return Ok(c);
        }
        let c = Arc::new(Conn::new(url, timeout, describe)?);
        conns.insert(key, Arc::downgrade(&c));
        Ok(c)
    }

    fn new(url: &str, timeout: Duration, describe: &str) -> Result<Conn, Error> {
        let bad = |_| Error::invalid(format!("{describe}: not a valid Redis URL"));
        let info = redis::IntoConnectionInfo::into_connection_info(url).map_err(bad)?;
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(bad)?;
        let subs = Arc::new(Mutex::new(Subs::default()));
        let kick = Arc::new(Notify::new());
        let (s, k) = (subs.clone(), kick.clone());
        let push = move |info: PushInfo| -> Result<(), ()> {
            if lock_subs(&s).on_push(info) {
                k.notify_one();
            }
            Ok(())
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(0)
            .set_push_sender(push);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| Error::internal(format!("{describe}: cannot set up the connection: {:?}", e.kind())))?;
        let supervisor = tokio::spawn(supervise(manager.clone(), subs.clone(), kick.clone(), timeout));
        Ok(Conn { manager, subs, kick, supervisor, next_watcher: AtomicU64::new(1) })
    }

    /// Called when a command failed in a way that replaces the connection: its
    /// subscriptions are gone with it.
    fn connection_lost(&self) {
        lock_subs(&self.subs).connection_lost();
        self.kick.notify_one();
    }
}

/// Keeps the connection up and subscribed to exactly the wanted channels. Sleeps only
/// between failed attempts (backoff 50 ms .. 2 s).
async fn supervise(mut manager: ConnectionManager, subs: Arc<Mutex<Subs>>, kick: Arc<Notify>, timeout: Duration) {
    loop {
        kick.notified().await;
        let mut pause = Duration::from_millis(50);
        loop {
            let (missing, extra) = lock_subs(&subs).to_change();
            if missing.is_empty() && extra.is_empty() {
                break;
            }
            let attempt = async {
                // PING first: after a disconnection it makes the manager reconnect.
                redis::cmd("PING").query_async::<()>(&mut manager).await?;
                if !missing.is_empty() {
                    manager.subscribe(&missing).await?;
                }
                if !extra.is_empty() {
                    manager.unsubscribe(&extra).await?;
                }
                Ok::<(), redis::RedisError>(())
            };
            match tokio::time::timeout(timeout, attempt).await {
                Ok(Ok(())) => {
                    let mut s = lock_subs(&subs);
                    s.requested.extend(missing);
                    for c in &extra {
                        s.requested.remove(c);
                        s.confirmed.remove(c);
                    }
                    pause = Duration::from_millis(50);
                }
                Ok(Err(e)) => {
                    if e.is_unrecoverable_error() || e.is_io_error() {
                        lock_subs(&subs).connection_lost();
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

// ---------------------------------------------------------------- the store

pub struct RedisStore {
    conn: Arc<Conn>,
    sealer: Sealer,
    describe: String,
    token_key: String,
    lock_key: String,
    pending_prefix: String,
    channel: String,
    instance: String,
    watcher: u64,
    changes: watch::Receiver<u64>,
    timeout: Duration,
    lock_ttl: Duration,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        let mut s = lock_subs(&self.conn.subs);
        if let Some(ws) = s.channels.get_mut(&self.channel) {
            ws.retain(|w| w.id != self.watcher);
            if ws.is_empty() {
                s.channels.remove(&self.channel);
                // The supervisor unsubscribes if other Stores keep the connection alive;
                // if this was the last one, the connection closes instead.
                self.conn.kick.notify_one();
            }
        }
    }
}

impl RedisStore {
    pub async fn open(
        url: &str,
        namespace: &str,
        sealer: Sealer,
        timeout: Duration,
        lock_ttl: Duration,
        describe: String,
    ) -> Result<RedisStore, Error> {
        let conn = Conn::get(url, timeout, &describe)?;
        let cid = &sealer.client_id;
        let channel = format!("{namespace}:changes");
        let instance = random_hex(8);
        let watcher = conn.next_watcher.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(0u64);
        {
            let mut s = lock_subs(&conn.subs);
            if s.confirmed.contains(&channel) {
                // Already subscribed: this Store misses nothing from now on.
                bump(&tx);
            } else {
                conn.kick.notify_one();
            }
            s.channels.entry(channel.clone()).or_default().push(Watcher {
                id: watcher,
                instance: instance.clone(),
                client_id: cid.clone(),
                tx,
            });
        }
        Ok(RedisStore {
            token_key: format!("{namespace}:token:{cid}"),
            lock_key: format!("{namespace}:lock:{cid}"),
            pending_prefix: format!("{namespace}:pending:{cid}:"),
            conn,
            sealer,
            describe,
            channel,
            instance,
            watcher,
            changes: rx,
            timeout,
            lock_ttl,
        })
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn lock_ttl(&self) -> Duration {
        self.lock_ttl
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Runs one Redis call bounded by `limit`; every failure names the store. A call
    /// whose connection was refused is tried once more within the limit: it was never
    /// sent, and the manager has begun a new connection (after a Redis restart the
    /// first call would otherwise fail on the connection that died during the outage).
    ///
    /// `f` gets its own manager clone and returns an owned future: async closures that
    /// borrow would make the Store's futures non-`Send` (a rustc limitation).
    async fn call<T, F, Fut>(&self, limit: Duration, f: F) -> Result<T, Error>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let deadline = Instant::now() + limit;
        let mut tried = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, f(self.conn.manager.clone())).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) if e.is_connection_refusal() && !tried && Instant::now() < deadline => {
                    self.conn.connection_lost();
                    tried = true;
                }
                Ok(Err(e)) => return Err(self.redis_error(&e)),
                Err(_) => {
                    return Err(Error::new(
                        Status::Network,
                        format!("{}: Redis did not answer within {} ms", self.describe, limit.as_millis()),
                    ));
                }
            }
        }
    }

    /// One command, bounded by `limit`.
    async fn cmd<T: redis::FromRedisValue>(&self, limit: Duration, cmd: redis::Cmd) -> Result<T, Error> {
        self.call(limit, |mut m| {
            let cmd = cmd.clone();
            async move { cmd.query_async(&mut m).await }
        })
        .await
    }

    fn redis_error(&self, e: &redis::RedisError) -> Error {
        if e.is_unrecoverable_error() || e.is_io_error() {
            self.conn.connection_lost();
        }
        // The crate's messages hold error kinds and server replies, never our arguments.
        let status = if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
            Status::Network
        } else if matches!(e.kind(), redis::ErrorKind::AuthenticationFailed) {
            Status::InvalidArgument
        } else {
            Status::Network
        };
        Error::new(status, format!("{}: {e}", self.describe))
    }

    fn what(&self) -> String {
        format!("the Redis key {}", self.token_key)
    }

    async fn fetch(&self) -> Result<Option<(String, Vec<u8>)>, Error> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&self.token_key).arg("g").arg("r");
        let (g, r): (Option<String>, Option<Vec<u8>>) = self.cmd(self.timeout, cmd).await?;
        Ok(match (g, r) {
            (Some(g), Some(r)) => Some((g, r)),
            _ => None,
        })
    }

    /// Opens what `fetch` returned and checks the hash's generation field against the
    /// authenticated one (the Lua scripts compare the field).
    fn open_fetched(&self, g: &str, r: &[u8]) -> Result<Stored, Error> {
        let stored = self.sealer.open_token(r, &self.what())?;
        if g != stored.generation.to_string() {
            return Err(Error::invalid(format!(
                "{}: its generation field does not match the record (the key was modified)",
                self.what()
            )));
        }
        Ok(stored)
    }

    pub async fn load(&self) -> Result<Option<Stored>, Error> {
        match self.fetch().await? {
            None => Ok(None),
            Some((g, r)) => self.open_fetched(&g, &r).map(Some),
        }
    }

    pub async fn export(&self) -> Result<Option<Vec<u8>>, Error> {
        match self.fetch().await? {
            None => Ok(None),
            Some((g, r)) => {
                self.open_fetched(&g, &r)?;
                Ok(Some(r))
            }
        }
    }

    fn notice(&self, generation: u64) -> String {
        format!("{} {generation} {}", self.instance, self.sealer.client_id)
    }

    async fn write(
        &self,
        script: &'static Script,
        expected: String,
        generation: u64,
        record: Vec<u8>,
    ) -> Result<u64, SaveError> {
        let (key, channel, notice) = (self.token_key.clone(), self.channel.clone(), self.notice(generation));
        let record = Arc::new(record);
        let (done, current): (i64, String) = self
            .call(self.timeout, |mut m| {
                let (key, expected, record) = (key.clone(), expected.clone(), record.clone());
                let (channel, notice) = (channel.clone(), notice.clone());
                async move {
                    let mut inv = script.prepare_invoke();
                    inv.key(key).arg(expected).arg(generation.to_string()).arg(&record[..]).arg(channel).arg(notice);
                    inv.invoke_async(&mut m).await
                }
            })
            .await?;
        let current: u64 = current
            .parse()
            .map_err(|_| Error::invalid(format!("{} holds a generation that is not a number", self.what())))?;
        if done == 1 { Ok(current) } else { Err(SaveError::Stale { current }) }
    }

    pub async fn save(&self, expected: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        let next = expected + 1;
        let record = self.sealer.seal_token(next, token)?;
        self.write(&SAVE, expected.to_string(), next, record).await
    }

    pub async fn save_if_empty(&self, generation: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        let record = self.sealer.seal_token(generation, token)?;
        // SAVE compares with "0", which is what a missing hash reads as.
        self.write(&SAVE, "0".to_owned(), generation, record).await
    }

    pub async fn import(&self, record: &[u8]) -> Result<u64, SaveError> {
        let generation = self.sealer.open_token(record, "the imported record")?.generation;
        self.write(&IMPORT, String::new(), generation, record.to_vec()).await
    }

    pub async fn lock(&self, timeout: Duration) -> Result<RedisLock, Error> {
        let deadline = Instant::now() + timeout;
        let holder = random_hex(16);
        let ttl_ms = self.lock_ttl.as_millis().max(1) as u64;
        let mut pause = Duration::from_millis(2);
        loop {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            let mut cmd = redis::cmd("SET");
            cmd.arg(&self.lock_key).arg(&holder).arg("NX").arg("PX").arg(ttl_ms);
            let got: Option<String> = match self.cmd(left.min(self.timeout), cmd).await {
                Ok(got) => got,
                // The wait ran out during this attempt (a short wait, a slow answer): the
                // lock was not had in time, which is a timeout, not a Redis failure.
                Err(_) if left < self.timeout && Instant::now() >= deadline => {
                    return Err(timeout_error(&self.describe, "the store lock was held by another instance", timeout));
                }
                Err(e) => return Err(e),
            };
            if got.is_some() {
                return Ok(RedisLock {
                    conn: self.conn.clone(),
                    key: self.lock_key.clone(),
                    holder: Some(holder),
                    describe: self.describe.clone(),
                    timeout: self.timeout,
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(timeout_error(&self.describe, "the store lock was held by another instance", timeout));
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    pub async fn put_pending(&self, id: &str, blob: &[u8], ttl: Duration) -> Result<(), Error> {
        let record = self.sealer.seal_pending(id, blob)?;
        let key = format!("{}{id}", self.pending_prefix);
        let ttl_ms = ttl.as_millis().max(1) as u64;
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(&record).arg("PX").arg(ttl_ms);
        self.cmd::<()>(self.timeout, cmd).await
    }

    pub async fn take_pending(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let key = format!("{}{id}", self.pending_prefix);
        let what = format!("the Redis key {key}");
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(&key);
        let rec: Option<Vec<u8>> = self.cmd(self.timeout, cmd).await?;
        match rec {
            None => Ok(None),
            Some(r) => {
                let r = Zeroizing::new(r);
                self.sealer.open_pending(id, &r, &what).map(Some)
            }
        }
    }
}

/// A held Redis lock: the key and our random holder id.
pub struct RedisLock {
    conn: Arc<Conn>,
    key: String,
    holder: Option<String>,
    describe: String,
    timeout: Duration,
}

impl RedisLock {
    pub async fn release(mut self) -> Result<(), Error> {
        let Some(holder) = self.holder.take() else { return Ok(()) };
        let mut m = self.conn.manager.clone();
        let call = async { RELEASE.key(&self.key).arg(&holder).invoke_async::<i64>(&mut m).await };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                if e.is_unrecoverable_error() || e.is_io_error() {
                    self.conn.connection_lost();
                }
                Err(Error::new(Status::Network, format!("{}: cannot release the lock: {e}", self.describe)))
            }
            Err(_) => Err(Error::new(
                Status::Network,
                format!("{}: Redis did not answer within {} ms", self.describe, self.timeout.as_millis()),
            )),
        }
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        // Best effort: release() is the way; this covers an early return. The lock's TTL
        // frees it anyway when no runtime is there to send the release.
        let Some(holder) = self.holder.take() else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let (mut m, key, timeout) = (self.conn.manager.clone(), self.key.clone(), self.timeout);
        rt.spawn(async move {
            let _ = tokio::time::timeout(timeout, RELEASE.key(&key).arg(&holder).invoke_async::<i64>(&mut m)).await;
        });
    }
}
