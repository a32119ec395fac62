//! Where tokens and pending logins live between processes and machines: an encrypted
//! file with its lock, or Redis (lock with expiry, generations, change notices). Bytes,
//! crypto and locks; no OAuth policy: the engine hands over opaque bytes (its supertoken
//! JSON) and decides when to read, lock and write. Nothing here logs, and no error or
//! `Debug` output carries a key, a token or a Redis password.
//!
//! Both backends store the same sealed record (see `format`), so `export` from one and
//! `import` into the other moves a token without re-encrypting it.
//!
//! Everything is async on tokio and nothing blocks a runtime thread: file I/O runs in
//! `spawn_blocking`, file locks are taken by non-blocking try-lock polling until a
//! deadline, and every Redis call is bounded by the store's timeout.
//!
//! Choices a reader may not expect, and why (the users' side: docs/PROTOCOL.md, "Token store"):
//! - `StoreConfig` also carries the per-call timeout and the Redis lock TTL (set with
//!   `with_timeout` / `with_lock_ttl`; the JSON keys stay the contract's), because
//!   `Store::open` has no other place to receive them.
//! - The file store keeps a second lock file, `<path>.write.lock`, held only for the
//!   few milliseconds of a compare-and-set. `save` cannot take `<path>.lock` itself:
//!   flock locks belong to an open file, so a `save` made while the same process holds
//!   the `lock()` would wait for itself.
//! - `export` / `import` move sealed records between stores (migration).
//! - `shares_pending_logins` tells the engine whether `put_pending` is supported.
//! - `save_if_empty` and `lock_ttl` (added with the engine's fleet tests): the engine
//!   puts a token back into a store that lost its data under a generation no reader
//!   remembers, and waits for a lock at least as long as a dead holder keeps it.

#![forbid(unsafe_code)]

mod file;
pub mod format;
mod redis;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{Error, Status};
use format::{Key, Kind};

/// The Redis namespace when the config gives none.
pub const DEFAULT_NAMESPACE: &str = "webex-auth";
/// The per-call timeout when the engine sets none (it passes its `timeout_ms`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed `token_store` config value. `Debug` shows no key and no Redis password.
#[derive(Clone)]
pub struct StoreConfig {
    backend: Backend,
    key: Key,
    timeout: Duration,
    lock_ttl: Option<Duration>,
}

#[derive(Clone)]
enum Backend {
    File { path: PathBuf },
    Redis { url: Zeroizing<String>, namespace: String },
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("store", &self.describe())
            .field("key", &"***")
            .field("timeout", &self.timeout)
            .field("lock_ttl", &self.lock_ttl)
            .finish()
    }
}

const CONFIG_KEYS: [&str; 5] = ["path", "redis", "key", "key_file", "namespace"];

impl StoreConfig {
    /// Parses the `token_store` config value:
    /// `{"path": "...", "key" | "key_file": "..."}` or
    /// `{"redis": "redis://host:port/db", "key" | "key_file": "...", "namespace": "..."}`.
    /// Errors (`WXA_ERR_INVALID_ARGUMENT`) name the key, never its value.
    /// `key_file` is read here, synchronously: call it where config is parsed, not on a
    /// runtime thread.
    pub fn from_json_value(value: &Value) -> Result<StoreConfig, Error> {
        let obj = value.as_object().ok_or_else(|| Error::invalid("config `token_store` must be an object"))?;
        for k in obj.keys() {
            if !CONFIG_KEYS.contains(&k.as_str()) {
                return Err(Error::invalid(format!(
                    "config `token_store` has unknown key `{k}` (expected one of: {})",
                    CONFIG_KEYS.join(", ")
                )));
            }
        }
        let string = |name: &str| -> Result<Option<&str>, Error> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::invalid(format!("config `token_store.{name}` must be a string"))),
            }
        };
        let key = match (string("key")?, string("key_file")?) {
            (Some(k), None) => decode_key(k, "token_store.key")?,
            (None, Some(f)) => {
                let text = Zeroizing::new(std::fs::read_to_string(f).map_err(|e| {
                    Error::invalid(format!("config `token_store.key_file` cannot be read: {}", e.kind()))
                })?);
                decode_key(&text, "token_store.key_file")?
            }
            (Some(_), Some(_)) => {
                return Err(Error::invalid("config `token_store` takes `key` or `key_file`, not both"));
            }
            (None, None) => return Err(Error::invalid("config `token_store` needs `key` or `key_file`")),
        };
        let backend = match (string("path")?, string("redis")?) {
            (Some(path), None) => {
                if obj.contains_key("namespace") {
                    return Err(Error::invalid("config `token_store.namespace` applies to a Redis store only"));
                }
                if path.is_empty() {
                    return Err(Error::invalid("config `token_store.path` is empty"));
                }
                Backend::File { path: PathBuf::from(path) }
            }
            (None, Some(url)) => {
                redis::check_url(url)?;
                let namespace = string("namespace")?.unwrap_or(DEFAULT_NAMESPACE);
                check_name(namespace, "config `token_store.namespace`", 200)?;
                Backend::Redis { url: Zeroizing::new(url.to_owned()), namespace: namespace.to_owned() }
            }
            (Some(_), Some(_)) => {
                return Err(Error::invalid("config `token_store` takes `path` or `redis`, not both"));
            }
            (None, None) => return Err(Error::invalid("config `token_store` needs `path` or `redis`")),
        };
        Ok(StoreConfig { backend, key, timeout: DEFAULT_TIMEOUT, lock_ttl: None })
    }

    /// The bound on every store call (Redis round trips, waits for the file's write lock).
    pub fn with_timeout(mut self, timeout: Duration) -> StoreConfig {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a Redis lock lives when its holder never releases it (crashed or paused).
    /// Default: twice the timeout. File locks need none: they die with their process.
    pub fn with_lock_ttl(mut self, ttl: Duration) -> StoreConfig {
        self.lock_ttl = Some(ttl.max(Duration::from_millis(1)));
        self
    }

    /// "file store /path" or "Redis store redis://host:6379/0 (namespace n)", no secrets.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::File { path } => format!("file store {}", path.display()),
            Backend::Redis { url, namespace } => {
                format!("Redis store {} (namespace {namespace})", redis::redact_url(url))
            }
        }
    }

    pub fn is_redis(&self) -> bool {
        matches!(self.backend, Backend::Redis { .. })
    }
}

fn decode_key(text: &str, name: &str) -> Result<Key, Error> {
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let text = text.trim();
    let bytes =
        [GeneralPurpose::new(&base64::alphabet::STANDARD, cfg), GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg)]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| Error::invalid(format!("config `{name}` is not base64")))?;
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::invalid(format!("config `{name}` must decode to 32 bytes, not {}", bytes.len())))?;
    Ok(Key::from_bytes(arr))
}

/// Names that become parts of Redis keys: printable, no spaces, bounded.
fn check_name(s: &str, what: &str, max: usize) -> Result<(), Error> {
    if s.is_empty() || s.len() > max || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(format!("{what} must be 1 to {max} bytes without spaces or control characters")));
    }
    Ok(())
}

/// What `load` found: a generation and the token bytes, or `None` after a logout.
pub struct Stored {
    pub generation: u64,
    pub token: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stored")
            .field("generation", &self.generation)
            .field("token", &self.token.as_ref().map(|t| format!("<{} bytes>", t.len())))
            .finish()
    }
}

/// Why a `save` or `import` did not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    /// Another writer got there first: the stored generation is `current`.
    Stale {
        current: u64,
    },
    Failed(Error),
}

impl From<Error> for SaveError {
    fn from(e: Error) -> SaveError {
        SaveError::Failed(e)
    }
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::Stale { current } => write!(f, "the store holds a newer generation ({current})"),
            SaveError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SaveError {}

/// Seals and opens records for one client id with one key.
struct Sealer {
    key: Key,
    client_id: String,
}

impl Sealer {
    fn seal_token(&self, generation: u64, token: Option<&[u8]>) -> Result<Vec<u8>, Error> {
        format::seal(&self.key, Kind::Token, generation, &self.client_id, "", token)
    }

    fn open_token(&self, record: &[u8], what: &str) -> Result<Stored, Error> {
        let o = format::open(&self.key, Kind::Token, &self.client_id, "", record, what)?;
        Ok(Stored { generation: o.generation, token: o.payload })
    }

    fn seal_pending(&self, id: &str, blob: &[u8]) -> Result<Vec<u8>, Error> {
        format::seal(&self.key, Kind::Pending, 0, &self.client_id, id, Some(blob))
    }

    fn open_pending(&self, id: &str, record: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        let o = format::open(&self.key, Kind::Pending, &self.client_id, id, record, what)?;
        o.payload.ok_or_else(|| Error::invalid(format!("{what} holds no pending login")))
    }
}

/// The store of one client: a file or a Redis namespace.
pub struct Store {
    backend: StoreBackend,
}

enum StoreBackend {
    File(file::FileStore),
    Redis(Box<redis::RedisStore>),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Store").field(&self.describe()).finish()
    }
}

impl Store {
    /// Opens the store for `client_id`. File: no I/O (the file may not exist yet).
    /// Redis: no round trip either: the connection (one per Redis URL and timeout,
    /// shared by every Store of the process) is made on first use and the change-notice
    /// subscription in the background, so a client can be created while Redis is down;
    /// calls then fail with `WXA_ERR_NETWORK` until it is back. Must run inside a tokio
    /// runtime (it spawns the connection's supervisor task there).
    pub async fn open(cfg: &StoreConfig, client_id: &str) -> Result<Store, Error> {
        if client_id.is_empty() {
            return Err(Error::invalid("the store needs a client id"));
        }
        let sealer = Sealer { key: cfg.key.clone(), client_id: client_id.to_owned() };
        let backend = match &cfg.backend {
            Backend::File { path } => StoreBackend::File(file::FileStore::new(path.clone(), sealer, cfg.timeout)),
            Backend::Redis { url, namespace } => {
                check_name(client_id, "the client id (part of the Redis keys)", 512)?;
                let ttl = cfg.lock_ttl.unwrap_or(cfg.timeout * 2);
                StoreBackend::Redis(Box::new(
                    redis::RedisStore::open(url, namespace, sealer, cfg.timeout, ttl, cfg.describe()).await?,
                ))
            }
        };
        Ok(Store { backend })
    }

    /// The stored token and its generation; `None` when nothing was ever stored.
    pub async fn load(&self) -> Result<Option<Stored>, Error> {
        match &self.backend {
            StoreBackend::File(s) => s.load().await,
            StoreBackend::Redis(s) => s.load().await,
        }
    }

    /// Takes the single-flight lock (across threads, processes and, on Redis, machines),
    /// waiting at most `timeout`; `WXA_ERR_TIMEOUT` when another holder kept it.
    pub async fn lock(&self, timeout: Duration) -> Result<StoreLock, Error> {
        match &self.backend {
            StoreBackend::File(s) => Ok(StoreLock { inner: LockInner::File(s.lock(timeout).await?) }),
            StoreBackend::Redis(s) => Ok(StoreLock { inner: LockInner::Redis(s.lock(timeout).await?) }),
        }
    }

    /// Compare-and-set: writes `token` (None = logged out) as generation
    /// `expected_generation + 1` iff the stored generation is `expected_generation`
    /// (0 = nothing stored). Returns the new generation.
    pub async fn save(&self, expected_generation: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        match &self.backend {
            StoreBackend::File(s) => s.save(expected_generation, token).await,
            StoreBackend::Redis(s) => s.save(expected_generation, token).await,
        }
    }

    /// Writes `token` as `generation` (at least 1) iff nothing is stored: for putting a
    /// token back into a store that lost its data, under a generation above every one
    /// readers may remember from before the loss (a reused generation would look
    /// unchanged to them). `SaveError::Stale` when something is stored.
    pub async fn save_if_empty(&self, generation: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        let generation = generation.max(1);
        match &self.backend {
            StoreBackend::File(s) => s.save_if_empty(generation, token).await,
            StoreBackend::Redis(s) => s.save_if_empty(generation, token).await,
        }
    }

    /// Redis: a receiver whose value changes on every change notice from another
    /// instance, and once each time the change-notice subscription is (re)established
    /// (first connect and every reconnect), so the engine re-reads then. File: `None`.
    pub fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        match &self.backend {
            StoreBackend::File(_) => None,
            StoreBackend::Redis(s) => Some(s.changes()),
        }
    }

    /// How long a lock outlives a holder that never releases it (crashed, paused):
    /// Redis, the lock's TTL; file, `None` (the lock dies with its process). A waiter
    /// that must get past a dead holder waits at least this long.
    pub fn lock_ttl(&self) -> Option<Duration> {
        match &self.backend {
            StoreBackend::File(_) => None,
            StoreBackend::Redis(s) => Some(s.lock_ttl()),
        }
    }

    /// Whether pending logins are shared (Redis); the file store keeps none.
    pub fn shares_pending_logins(&self) -> bool {
        matches!(self.backend, StoreBackend::Redis(_))
    }

    /// Keeps a pending login for `ttl` (Redis only; the file store refuses with
    /// `WXA_ERR_INVALID_ARGUMENT`). `id`: 1-128 of `[A-Za-z0-9_-]`.
    pub async fn put_pending(&self, id: &str, blob: &[u8], ttl: Duration) -> Result<(), Error> {
        check_pending_id(id)?;
        match &self.backend {
            StoreBackend::File(s) => Err(no_pending(s.describe())),
            StoreBackend::Redis(s) => s.put_pending(id, blob, ttl).await,
        }
    }

    /// Takes a pending login: single use across the fleet (GETDEL).
    pub async fn take_pending(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        check_pending_id(id)?;
        match &self.backend {
            StoreBackend::File(s) => Err(no_pending(s.describe())),
            StoreBackend::Redis(s) => s.take_pending(id).await,
        }
    }

    /// The stored record as it is (still sealed), checked to open with this store's key
    /// and client id; `None` when nothing is stored. For migration between stores.
    pub async fn export(&self) -> Result<Option<Vec<u8>>, Error> {
        match &self.backend {
            StoreBackend::File(s) => s.export().await,
            StoreBackend::Redis(s) => s.export().await,
        }
    }

    /// Writes a sealed record from `export` unchanged, keeping its generation, iff the
    /// record opens with this store's key and client id and its generation is greater
    /// than the stored one (`SaveError::Stale` otherwise). Returns that generation.
    pub async fn import(&self, record: &[u8]) -> Result<u64, SaveError> {
        match &self.backend {
            StoreBackend::File(s) => s.import(record).await,
            StoreBackend::Redis(s) => s.import(record).await,
        }
    }

    /// "file store /path" or "Redis store redis://host:6379/0 (namespace n)".
    pub fn describe(&self) -> String {
        match &self.backend {
            StoreBackend::File(s) => s.describe().to_owned(),
            StoreBackend::Redis(s) => s.describe().to_owned(),
        }
    }
}

fn check_pending_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::invalid("a pending login id must be 1 to 128 of A-Z a-z 0-9 - _"));
    }
    Ok(())
}

fn no_pending(describe: &str) -> Error {
    Error::invalid(format!("{describe} keeps no pending logins (only a Redis store shares them)"))
}

/// The single-flight lock. `release` says when it is gone; dropping it releases too
/// (file: at once; Redis: by a spawned compare-and-delete, best effort).
pub struct StoreLock {
    inner: LockInner,
}

enum LockInner {
    File(file::FileLock),
    Redis(redis::RedisLock),
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

impl StoreLock {
    /// Releases the lock. Redis: only if this holder still owns it (an expired lock
    /// that another instance took is left alone); Ok either way.
    pub async fn release(self) -> Result<(), Error> {
        match self.inner {
            LockInner::File(l) => l.release(),
            LockInner::Redis(l) => l.release().await,
        }
    }
}

/// A timeout error that names the store.
fn timeout_error(describe: &str, what: &str, timeout: Duration) -> Error {
    Error::new(Status::Timeout, format!("{describe}: {what} within {} ms", timeout.as_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn parses_file_and_redis_configs() {
        let c = StoreConfig::from_json_value(&json!({"path": "/tmp/x", "key": KEY})).unwrap();
        assert_eq!(c.describe(), "file store /tmp/x");
        let c = StoreConfig::from_json_value(&json!({"redis": "redis://:pw@127.0.0.1:6379/2", "key": KEY})).unwrap();
        assert_eq!(c.describe(), "Redis store redis://127.0.0.1:6379/2 (namespace webex-auth)");
        assert!(!format!("{c:?}").contains("pw"));
        assert!(!format!("{c:?}").contains(KEY));
        let c = StoreConfig::from_json_value(
            &json!({"redis": "rediss://u:pw@redis.example:6380/0", "key": KEY, "namespace": "app1"}),
        )
        .unwrap();
        assert_eq!(c.describe(), "Redis store rediss://u@redis.example:6380/0 (namespace app1)");
        let e =
            StoreConfig::from_json_value(&json!({"redis": "redis://h", "key": KEY, "namespace": "a b"})).unwrap_err();
        assert!(e.message().contains("token_store.namespace"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key": KEY, "namespace": "n"})).unwrap_err();
        assert!(e.message().contains("token_store.namespace"), "{e}");
    }

    #[test]
    fn key_forms_and_lengths() {
        // url-safe alphabet, no padding
        let raw = [0xfbu8; 32];
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        assert!(StoreConfig::from_json_value(&json!({"path": "p", "key": url_safe})).is_ok());
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key": short.clone()})).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("token_store.key") && e.message().contains("31"), "{e}");
        assert!(!e.message().contains(&short));
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key": "not base64!!"})).unwrap_err();
        assert!(e.message().contains("token_store.key") && !e.message().contains("not base64!!"), "{e}");
    }

    #[test]
    fn refuses_unknown_keys_and_bad_combinations() {
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key": KEY, "kee": 1})).unwrap_err();
        assert!(e.message().contains("`kee`"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key": KEY, "key_file": "f"})).unwrap_err();
        assert!(e.message().contains("not both"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"path": "p"})).unwrap_err();
        assert!(e.message().contains("key_file"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"path": "p", "redis": "redis://h", "key": KEY})).unwrap_err();
        assert!(e.message().contains("not both"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"redis": "http://h", "key": KEY})).unwrap_err();
        assert!(e.message().contains("redis://"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"redis": "redis://u:sekrit@h:1/x", "key": KEY})).unwrap_err();
        assert!(!e.message().contains("sekrit"), "{e}");
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key": 5})).unwrap_err();
        assert!(e.message().contains("token_store.key") && !e.message().contains('5'), "{e}");
    }

    #[test]
    fn key_file_is_read_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("wxa-store-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k");
        std::fs::write(&f, format!("  {KEY}\n")).unwrap();
        let c = StoreConfig::from_json_value(&json!({"path": "p", "key_file": f.to_str().unwrap()})).unwrap();
        assert_eq!(c.describe(), "file store p");
        let e = StoreConfig::from_json_value(&json!({"path": "p", "key_file": dir.join("none").to_str().unwrap()}))
            .unwrap_err();
        assert!(e.message().contains("token_store.key_file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod send_tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The engine spawns store calls on its runtime: their futures must be Send.
    #[allow(dead_code, unused_must_use)]
    fn futures_are_send(s: &Store, cfg: &StoreConfig) {
        assert_send(&Store::open(cfg, "c"));
        assert_send(&s.load());
        assert_send(&s.save(0, None));
        assert_send(&s.lock(Duration::ZERO));
        assert_send(&s.put_pending("x", b"", Duration::ZERO));
        assert_send(&s.take_pending("x"));
        assert_send(&s.export());
        assert_send(&s.import(b""));
    }

    #[allow(dead_code, unused_must_use)]
    fn release_is_send(l: StoreLock) {
        assert_send(&l.release());
    }

    #[test]
    fn store_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Store>();
        check::<StoreLock>();
        check::<StoreConfig>();
    }
}
