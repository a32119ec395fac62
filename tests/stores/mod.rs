//! Token-store helpers for the engine tests: store configs, per-test directories, reading
//! what the engine stored (through the store module itself, which decrypts), and putting
//! an already-expired token with a real refresh token into a store.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use webex_auth::store::{Store, StoreConfig};

use crate::common::*;

pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const OTHER_KEY: &str = "HxwdGhsYGRYXFBUSExAREg8ODA0KCwgJBgcEBQIDAAE=";

/// A fresh directory for one test, removed when the test ends (passing or not).
pub struct TestDir(pub PathBuf);

impl std::ops::Deref for TestDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn test_dir(name: &str) -> TestDir {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("engine-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TestDir(d)
}

pub fn file_store(path: &Path) -> Value {
    json!({"path": path.to_str().unwrap(), "key": KEY})
}

pub fn redis_store(url: &str, namespace: &str) -> Value {
    json!({"redis": url, "key": KEY, "namespace": namespace})
}

/// The confidential test client with `token_store` and `timeout_ms` set.
pub fn store_client_config(emu: &Emulator, store: &Value, timeout_ms: u64) -> Value {
    with(confidential(emu), json!({"token_store": store, "timeout_ms": timeout_ms}))
}

/// What the store holds for `client_id`: (generation, the engine's record JSON or
/// `None` for a logout), or `None` when nothing was ever stored.
pub fn stored(store: &Value, client_id: &str) -> Option<(u64, Option<Value>)> {
    let cfg = StoreConfig::from_json_value(store).unwrap().with_timeout(Duration::from_secs(5));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let s = Store::open(&cfg, client_id).await.expect("open the store");
        let got = s.load().await.expect("load the store")?;
        let record = got.token.map(|bytes| serde_json::from_slice::<Value>(&bytes).expect("the record is JSON"));
        Some((got.generation, record))
    })
}

/// The access token of the stored record, if it holds one.
pub fn stored_access_token(store: &Value) -> Option<String> {
    stored(store, CLIENT_ID).and_then(|(_, r)| r).and_then(|r| r["token"]["access_token"].as_str().map(str::to_owned))
}

/// Waits (bounded) until the stored record satisfies `pred`. A background write (after
/// `set_token`, or a write retried after a store failure) gives the app no signal, so
/// this polls the store itself; the pause between reads is not a guess at a duration.
pub fn wait_stored(
    store: &Value,
    what: &str,
    pred: impl Fn(Option<&(u64, Option<Value>)>) -> bool,
) -> Option<(u64, Option<Value>)> {
    let deadline = Instant::now() + LONG;
    loop {
        let got = stored(store, CLIENT_ID);
        if pred(got.as_ref()) {
            return got;
        }
        assert!(Instant::now() < deadline, "the store never showed {what}; it holds generation {:?}", got.map(|g| g.0));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) until `cond` holds, for conditions that give no signal to wait on
/// (what the emulator recorded, what Redis holds); the pause between looks is no guess.
pub fn poll_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {LONG:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `token` (a supertoken JSON) as already expired a minute ago, refresh token kept.
pub fn expired(token: &Value) -> Value {
    let mut t = token.clone();
    let m = t.as_object_mut().unwrap();
    m.remove("expires_in");
    m.insert("expires_at".into(), json!(now_ms() - 60_000));
    t
}

/// Logs in once through `config` (whose store receives the token), then replaces the
/// stored token with an already-expired copy that keeps its real refresh token, and
/// waits for that record. Returns the expired token; the emulator's log is cleared.
pub fn store_expired_token(emu: &Emulator, config: &Value) -> Value {
    let store = &config["token_store"];
    let client = new_client_no_sink(config);
    login(&client);
    let dead = expired(&token_of(&client).unwrap());
    client.set_token(&dead.to_string()).unwrap();
    let want = dead["expires_at"].clone();
    wait_stored(store, "the expired token", |s| {
        s.and_then(|(_, r)| r.as_ref()).is_some_and(|r| r["token"]["expires_at"] == want)
    });
    client.close();
    emu.clear_requests();
    dead
}

/// The refresh requests the emulator received.
pub fn refreshes(emu: &Emulator) -> usize {
    token_requests(emu, "refresh_token").len()
}
