//! The Redis store against a real redis-server started by each test on a free loopback
//! port (no persistence) and stopped when the test ends.

mod redis_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis_support::RedisServer;
use serde_json::json;
use tokio::time::timeout;
use webex_auth::Status;
use webex_auth::store::{SaveError, Store, StoreConfig};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const OTHER_KEY: &str = "HxwdGhsYGRYXFBUSExAREg8ODA0KCwgJBgcEBQIDAAE=";
const TOKEN: &[u8] = br#"{"access_token":"SECRET-ACCESS-4f1c2a","refresh_token":"SECRET-REFRESH-9b8e7d"}"#;
const CLIENT: &str = "C0ffee-client";
/// Bound for events that should come quickly; a healthy run never gets near it.
const LONG: Duration = Duration::from_secs(10);

fn config(url: &str, key: &str, ns: &str, timeout_ms: u64) -> StoreConfig {
    StoreConfig::from_json_value(&json!({"redis": url, "key": key, "namespace": ns}))
        .unwrap()
        .with_timeout(Duration::from_millis(timeout_ms))
}

async fn store(r: &RedisServer, ns: &str) -> Store {
    Store::open(&config(&r.url(), KEY, ns, 2000), CLIENT).await.unwrap()
}

/// A Store on its own connection: Stores of one process share one connection per
/// (URL, timeout), so another timeout stands for another process or machine.
async fn other_instance(r: &RedisServer, ns: &str, timeout_ms: u64) -> Store {
    Store::open(&config(&r.url(), KEY, ns, timeout_ms), CLIENT).await.unwrap()
}

fn clean(msg: &str) {
    for secret in [KEY, OTHER_KEY, "SECRET-ACCESS", "SECRET-REFRESH", "4f1c2a", "hunter2"] {
        assert!(!msg.contains(secret), "a message shows a secret: {msg}");
    }
}

/// Waits for the next change notice (bounded).
async fn next_change(rx: &mut tokio::sync::watch::Receiver<u64>) {
    timeout(LONG, rx.changed()).await.expect("no change notice came").unwrap();
}

#[tokio::test]
async fn round_trip_and_nothing_readable_in_redis() {
    let r = RedisServer::start();
    let s = store(&r, "rt").await;
    assert_eq!(s.describe(), format!("Redis store {} (namespace rt)", r.url()));
    assert!(s.load().await.unwrap().is_none());
    assert_eq!(s.save(0, Some(TOKEN)).await.unwrap(), 1);
    let got = store(&r, "rt").await.load().await.unwrap().unwrap();
    assert_eq!((got.generation, got.token.as_deref().map(Vec::as_slice)), (1, Some(TOKEN)));
    s.put_pending("abcd", b"SECRET-ACCESS-pending", Duration::from_secs(30)).await.unwrap();

    // What Redis holds: sealed records only.
    let mut raw = r.raw();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    assert_eq!(keys.len(), 2, "token hash and pending login");
    let hash: Vec<Vec<u8>> = redis::cmd("HGETALL").arg(format!("rt:token:{CLIENT}")).query(&mut raw).unwrap();
    let pending: Vec<u8> = redis::cmd("GET").arg(format!("rt:pending:{CLIENT}:abcd")).query(&mut raw).unwrap();
    for v in hash.iter().chain([&pending]) {
        assert!(!v.windows(6).any(|w| w == b"SECRET"), "plain text in Redis");
        assert!(!v.windows(12).any(|w| w == b"access_token"), "plain text in Redis");
    }
    let record = hash.chunks(2).find(|kv| kv[0] == b"r").map(|kv| &kv[1]).expect("field r");
    assert_eq!(&record[..4], b"WXAS");
    assert_eq!(record.len(), TOKEN.len() + webex_auth::store::format::OVERHEAD);

    assert_eq!(s.save(1, None).await.unwrap(), 2);
    let got = s.load().await.unwrap().unwrap();
    assert_eq!((got.generation, got.token.is_none()), (2, true));

    // Wrong key: refused with a message free of secrets.
    let wrong = Store::open(&config(&r.url(), OTHER_KEY, "rt", 2000), CLIENT).await.unwrap();
    let e = wrong.load().await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("another key") && e.message().contains("rt:token:"), "{e}");
    clean(e.message());
    // A pending blob put where a token belongs does not open as a token.
    let _: () = redis::cmd("HSET")
        .arg(format!("rt:token:{CLIENT}"))
        .arg("g")
        .arg("0")
        .arg("r")
        .arg(&pending)
        .query(&mut raw)
        .unwrap();
    let e = s.load().await.unwrap_err();
    assert!(e.message().contains("pending login"), "{e}");
    clean(e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_excludes_other_instances() {
    let r = RedisServer::start();
    let (a, b) = (store(&r, "lk").await, other_instance(&r, "lk", 2001).await);
    let held = a.lock(LONG).await.unwrap();
    let e = b.lock(Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(e.status(), Status::Timeout, "{e}");
    assert!(e.message().contains("Redis store"), "{e}");
    held.release().await.unwrap();
    b.lock(Duration::from_millis(500)).await.unwrap().release().await.unwrap();

    // Eight instances on four connections: never two inside at once.
    let inside = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let s = other_instance(&r, "lk", 3000 + i % 4).await;
        let (inside, count) = (inside.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let l = s.lock(LONG).await.unwrap();
                assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                let n = count.load(Ordering::SeqCst);
                tokio::task::yield_now().await;
                count.store(n + 1, Ordering::SeqCst);
                inside.store(false, Ordering::SeqCst);
                l.release().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), 80);
}

#[tokio::test]
async fn an_expired_lock_lets_another_in_and_its_release_spares_the_new_holder() {
    let r = RedisServer::start();
    let short = |t| config(&r.url(), KEY, "exp", t).with_lock_ttl(Duration::from_millis(300));
    let a = Store::open(&short(2000), CLIENT).await.unwrap();
    let b = Store::open(&short(2001), CLIENT).await.unwrap();
    let c = Store::open(&short(2002), CLIENT).await.unwrap();
    let stale = a.lock(LONG).await.unwrap();
    let t0 = Instant::now();
    // a "pauses" past its TTL; b gets in once the lock expired, not before.
    let fresh = b.lock(LONG).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(250), "got in after {:?}", t0.elapsed());
    let before: String = redis::cmd("GET").arg(format!("exp:lock:{CLIENT}")).query(&mut r.raw()).unwrap();
    stale.release().await.unwrap(); // must not delete b's lock
    let after: Option<String> = redis::cmd("GET").arg(format!("exp:lock:{CLIENT}")).query(&mut r.raw()).unwrap();
    assert_eq!(after.as_deref(), Some(before.as_str()), "the expired holder deleted the new holder's lock");
    let e = c.lock(Duration::from_millis(100)).await.unwrap_err();
    assert_eq!(e.status(), Status::Timeout);
    // And fencing: the paused holder's write, made with the generation it read, loses.
    let g = a.load().await.unwrap().map_or(0, |s| s.generation);
    assert_eq!(b.save(g, Some(b"new")).await.unwrap(), g + 1);
    assert_eq!(a.save(g, Some(b"old")).await, Err(SaveError::Stale { current: g + 1 }));
    fresh.release().await.unwrap();
    c.lock(Duration::from_millis(500)).await.unwrap().release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_generation_loses() {
    let r = RedisServer::start();
    let a = store(&r, "cas").await;
    assert_eq!(a.save(0, Some(b"first")).await.unwrap(), 1);
    assert_eq!(a.save(0, Some(b"late")).await, Err(SaveError::Stale { current: 1 }));
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let s = other_instance(&r, "cas", 3000 + i).await;
        tasks.push(tokio::spawn(async move { s.save(1, Some(&[b'0' + i as u8])).await }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(2) => won += 1,
            Err(SaveError::Stale { current: 2 }) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn change_notices_reach_other_instances_also_after_a_reconnect() {
    let mut r = RedisServer::start();
    let a = store(&r, "chg").await;
    let b = other_instance(&r, "chg", 1500).await;
    let (mut ra, mut rb) = (a.changes().unwrap(), b.changes().unwrap());
    // The first bump: subscribed (re-read now, nothing is missed from here on).
    next_change(&mut ra).await;
    next_change(&mut rb).await;

    // c shares a's connection; "elsewhere" is another namespace on it.
    let c = store(&r, "chg").await;
    let mut rc = c.changes().unwrap();
    next_change(&mut rc).await;
    let other = store(&r, "elsewhere").await;
    let mut ro = other.changes().unwrap();
    next_change(&mut ro).await;
    let foreign = Store::open(&config(&r.url(), KEY, "chg", 2000), "another-app").await.unwrap();
    let mut rf = foreign.changes().unwrap();
    next_change(&mut rf).await;
    let (va, vc) = (*ra.borrow_and_update(), *rc.borrow_and_update());

    let g = a.save(0, Some(b"one")).await.unwrap();
    next_change(&mut rb).await;
    assert_eq!(b.load().await.unwrap().unwrap().generation, g);
    b.save(g, Some(b"two")).await.unwrap();
    // c hears both saves, in order, through the same push path as a: once c has seen
    // both, a has seen both too, and must have been woken by b's only, not by its own.
    timeout(LONG, async {
        while *rc.borrow_and_update() < vc + 2 {
            rc.changed().await.unwrap();
        }
    })
    .await
    .expect("c did not hear both saves");
    assert_eq!(*rc.borrow(), vc + 2);
    assert_eq!(*ra.borrow_and_update(), va + 1, "a store was woken by its own save (or missed b's)");
    assert!(!ro.has_changed().unwrap(), "another namespace was woken");
    assert!(!rf.has_changed().unwrap(), "another client id was woken");

    // Restart Redis: each Store gets one bump once re-subscribed, then notices flow again.
    r.stop();
    r.restart();
    next_change(&mut ra).await;
    next_change(&mut rb).await;
    // Data did not survive the restart (no persistence): start again at 0.
    let g = b.save(0, Some(b"three")).await.unwrap();
    assert_eq!(g, 1);
    next_change(&mut ra).await;
    assert_eq!(a.load().await.unwrap().unwrap().token.as_deref().map(Vec::as_slice), Some(&b"three"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_logins_are_single_use_and_expire() {
    let r = RedisServer::start();
    let a = store(&r, "pend").await;
    let b = other_instance(&r, "pend", 2500).await;
    assert!(a.shares_pending_logins());
    for round in 0..20 {
        let id = format!("{:064x}", round);
        a.put_pending(&id, b"verifier+state", Duration::from_secs(30)).await.unwrap();
        let (x, y) = tokio::join!(a.take_pending(&id), b.take_pending(&id));
        let got: Vec<_> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "round {round}: a pending login was taken {} times", got.len());
        assert_eq!(got[0].as_slice(), b"verifier+state");
    }
    assert!(a.take_pending("never-put").await.unwrap().is_none());
    // A pending blob does not open under another id.
    a.put_pending("one", b"x", Duration::from_secs(30)).await.unwrap();
    let rec: Vec<u8> = redis::cmd("GET").arg(format!("pend:pending:{CLIENT}:one")).query(&mut r.raw()).unwrap();
    let _: () = redis::cmd("SET").arg(format!("pend:pending:{CLIENT}:two")).arg(rec).query(&mut r.raw()).unwrap();
    let e = a.take_pending("two").await.unwrap_err();
    assert!(e.message().contains("modified"), "{e}");

    // TTL: kept by Redis with its expiry, gone after it.
    let ttl = Duration::from_millis(400);
    a.put_pending("early", b"x", ttl).await.unwrap();
    a.put_pending("late", b"x", ttl).await.unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg(format!("pend:pending:{CLIENT}:late")).query(&mut r.raw()).unwrap();
    assert!(pttl > 0 && pttl <= 400, "PTTL {pttl}");
    assert!(a.take_pending("early").await.unwrap().is_some());
    tokio::time::sleep(ttl + Duration::from_millis(100)).await; // the event is the TTL passing
    assert!(a.take_pending("late").await.unwrap().is_none(), "still there after its TTL");
    let e = a.take_pending("bad id!").await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn redis_down_or_stuck_is_a_network_error_within_the_timeout_and_recovers() {
    let mut r = RedisServer::start();
    let s = Store::open(&config(&r.url(), KEY, "down", 700), CLIENT).await.unwrap();
    s.save(0, Some(TOKEN)).await.unwrap();
    let name = format!("Redis store {} (namespace down)", r.url());
    let check = |e: webex_auth::Error, t0: Instant| {
        assert_eq!(e.status(), Status::Network, "{e}");
        assert!(e.message().contains(&name), "{e}");
        assert!(t0.elapsed() < Duration::from_millis(700 + 500), "took {:?}", t0.elapsed());
        clean(e.message());
    };

    // Stuck (SIGSTOP): connections open, nothing answers.
    r.pause();
    let t0 = Instant::now();
    check(s.load().await.unwrap_err(), t0);
    let t0 = Instant::now();
    match s.save(1, Some(TOKEN)).await {
        Err(SaveError::Failed(e)) => check(e, t0),
        other => panic!("{other:?}"),
    }
    let t0 = Instant::now();
    check(s.lock(Duration::from_secs(5)).await.unwrap_err(), t0);
    r.resume();

    // Down (killed).
    r.stop();
    for _ in 0..3 {
        let t0 = Instant::now();
        check(s.load().await.unwrap_err(), t0);
    }
    let t0 = Instant::now();
    check(s.take_pending("x").await.unwrap_err(), t0);

    // Back: the same Store works again (no persistence, so the data is gone).
    r.restart();
    assert!(s.load().await.unwrap().is_none());
    assert_eq!(s.save(0, Some(TOKEN)).await.unwrap(), 1);
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_showing_it() {
    let r = RedisServer::start_with(&["--requirepass", "right-one"]);
    let url = format!("redis://:hunter2@127.0.0.1:{}/0", r.port);
    let cfg = StoreConfig::from_json_value(&json!({"redis": url, "key": KEY})).unwrap();
    assert!(!format!("{cfg:?}").contains("hunter2"));
    let s = Store::open(&cfg.with_timeout(Duration::from_secs(2)), CLIENT).await.unwrap();
    assert!(!s.describe().contains("hunter2"));
    let e = s.load().await.unwrap_err();
    clean(e.message());
    assert!(e.message().contains("Redis store redis://127.0.0.1"), "{e}");
    let good = format!("redis://:right-one@127.0.0.1:{}/0", r.port);
    let s = Store::open(&config(&good, KEY, "pw", 2000), CLIENT).await.unwrap();
    assert_eq!(s.save(0, Some(TOKEN)).await.unwrap(), 1);
}

#[tokio::test]
async fn migration_file_to_redis_and_back() {
    let r = RedisServer::start();
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store_redis-mig-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let file_cfg =
        StoreConfig::from_json_value(&json!({"path": d.join("tokens").to_str().unwrap(), "key": KEY})).unwrap();
    let file = Store::open(&file_cfg, CLIENT).await.unwrap();
    let redis = store(&r, "mig").await;
    let mut g = 0;
    for t in [&b"a"[..], b"b", TOKEN] {
        g = file.save(g, Some(t)).await.unwrap();
    }
    let rec = file.export().await.unwrap().unwrap();
    assert_eq!(redis.import(&rec).await.unwrap(), 3);
    assert_eq!(redis.export().await.unwrap().unwrap(), rec, "the record moved unchanged");
    let got = redis.load().await.unwrap().unwrap();
    assert_eq!((got.generation, got.token.as_deref().map(Vec::as_slice)), (3, Some(TOKEN)));
    // Importing the same or an older generation loses.
    assert_eq!(redis.import(&rec).await, Err(SaveError::Stale { current: 3 }));
    assert_eq!(redis.save(3, Some(b"newer")).await.unwrap(), 4);
    let back = redis.export().await.unwrap().unwrap();
    assert_eq!(file.import(&back).await.unwrap(), 4);
    let got = file.load().await.unwrap().unwrap();
    assert_eq!((got.generation, got.token.as_deref().map(Vec::as_slice)), (4, Some(&b"newer"[..])));
    // A record of another client id or key is refused on import.
    let other = Store::open(&config(&r.url(), KEY, "mig", 2000), "other-client").await.unwrap();
    match other.import(&back).await {
        Err(SaveError::Failed(e)) => assert!(e.message().contains("another client id"), "{e}"),
        x => panic!("{x:?}"),
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// rediss:// carries the store over TLS (rustls); the server's certificate is checked.
#[tokio::test]
async fn tls_connections_work_and_verify_the_certificate() {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store_redis-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let r = RedisServer::start_tls(&d);
    // Self-signed, so not trusted: refused, as a network error naming the store.
    let url = format!("rediss://127.0.0.1:{}/0", r.port);
    let s = Store::open(&config(&url, KEY, "tls", 2000), CLIENT).await.unwrap();
    let e = s.load().await.unwrap_err();
    assert_eq!(e.status(), Status::Network, "{e}");
    assert!(e.message().contains("Redis store rediss://127.0.0.1"), "{e}");
    clean(e.message());
    // Trusted (SSL_CERT_FILE names it; rustls-native-certs reads it), the same server
    // works over TLS: in a child process, as the variable is process-wide.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tls_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", d.join("cert.pem"))
        .env("WXA_TLS_URL", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("1 passed"), "the TLS child failed: {stdout} {stderr}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[tokio::test]
#[ignore = "run by tls_connections_work_and_verify_the_certificate as a child process"]
async fn tls_child() {
    let Ok(url) = std::env::var("WXA_TLS_URL") else { return };
    let s = Store::open(&config(&url, KEY, "tls", 2000), CLIENT).await.unwrap();
    assert_eq!(s.save(0, Some(TOKEN)).await.unwrap(), 1);
    assert_eq!(s.load().await.unwrap().unwrap().generation, 1);
}

/// Stores of one process share a connection per (URL, timeout); when the last one is
/// dropped, the connection closes and its supervisor task ends (it holds a clone of the
/// connection: were it still running, the connection would stay open).
#[tokio::test]
async fn dropping_the_last_store_closes_its_connection() {
    let r = RedisServer::start();
    let mut raw = r.raw();
    let clients = |raw: &mut redis::Connection| -> usize {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(raw).unwrap();
        list.lines().count()
    };
    assert_eq!(clients(&mut raw), 1);
    let (a, b) = (store(&r, "close").await, store(&r, "close").await);
    let mut rx = a.changes().unwrap();
    next_change(&mut rx).await;
    b.save(0, Some(b"x")).await.unwrap();
    let lock = a.lock(LONG).await.unwrap();
    lock.release().await.unwrap();
    assert_eq!(clients(&mut raw), 2, "two Stores, one shared connection");
    drop(a);
    assert_eq!(clients(&mut raw), 2);
    drop(b);
    let deadline = Instant::now() + LONG;
    while clients(&mut raw) != 1 {
        assert!(Instant::now() < deadline, "the connection of dropped Stores stayed open");
        tokio::time::sleep(Duration::from_millis(20)).await; // polling the server's view
    }
}

/// One run of load and save latency, file vs Redis, and bytes per token; printed for the
/// report (`--nocapture`). Asserts only that both work.
#[tokio::test]
async fn measure_latency_and_size() {
    let r = RedisServer::start();
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store_redis-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let file_cfg =
        StoreConfig::from_json_value(&json!({"path": d.join("tokens").to_str().unwrap(), "key": KEY})).unwrap();
    let token = vec![b'T'; 1500]; // about the size of an engine supertoken JSON
    let mut out = Vec::new();
    for (name, s) in [("file", Store::open(&file_cfg, CLIENT).await.unwrap()), ("redis", store(&r, "bench").await)] {
        let n = 200;
        let mut g = 0;
        let mut saves = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            g = s.save(g, Some(&token)).await.unwrap();
            saves.push(t0.elapsed());
        }
        let mut loads = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            assert_eq!(s.load().await.unwrap().unwrap().generation, g);
            loads.push(t0.elapsed());
        }
        saves.sort();
        loads.sort();
        let rec = s.export().await.unwrap().unwrap().len();
        if name == "redis" {
            let mem: i64 =
                redis::cmd("MEMORY").arg("USAGE").arg(format!("bench:token:{CLIENT}")).query(&mut r.raw()).unwrap();
            println!("MEASURE redis: MEMORY USAGE of the token hash {mem} bytes");
        }
        out.push((name, loads[n / 2], saves[n / 2], rec));
    }
    for (name, load, save, rec) in &out {
        println!(
            "MEASURE {name}: load p50 {load:?}, save p50 {save:?}, record {rec} bytes for a {} byte token",
            token.len()
        );
    }
    let (f, r) = (&out[0], &out[1]);
    println!(
        "MEASURE redis/file: load {:.2}x, save {:.2}x",
        r.1.as_secs_f64() / f.1.as_secs_f64(),
        r.2.as_secs_f64() / f.2.as_secs_f64()
    );
    std::fs::remove_dir_all(&d).unwrap();
}
