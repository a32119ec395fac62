//! The encrypted file store against real files: crypto failures, atomic replacement,
//! compare-and-set fencing, and the lock across real processes (this test binary
//! re-runs itself as child processes, see `child_*`).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use webex_auth::Status;
use webex_auth::store::{SaveError, Store, StoreConfig, format};

const TOKEN: &[u8] = br#"{"access_token":"SECRET-ACCESS-4f1c2a","refresh_token":"SECRET-REFRESH-9b8e7d"}"#;
const CLIENT: &str = "C0ffee-client";

mod common;
mod stores;

use stores::{KEY, OTHER_KEY, test_dir as dir};

fn config(path: &Path, key: &str) -> StoreConfig {
    StoreConfig::from_json_value(&json!({"path": path.to_str().unwrap(), "key": key}))
        .unwrap()
        .with_timeout(Duration::from_secs(5))
}

async fn store(path: &Path) -> Store {
    Store::open(&config(path, KEY), CLIENT).await.unwrap()
}

/// Every store error must be free of the key and the token.
fn clean(msg: &str) {
    for secret in [KEY, OTHER_KEY, "SECRET-ACCESS", "SECRET-REFRESH", "4f1c2a"] {
        assert!(!msg.contains(secret), "a message shows a secret: {msg}");
    }
}

fn load_err(e: webex_auth::Error, expect: &str) {
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(e.message().contains(expect), "expected '{expect}' in: {e}");
    clean(e.message());
}

#[tokio::test]
async fn round_trip_and_tombstone() {
    let d = dir("round-trip");
    let p = d.join("tokens");
    let s = store(&p).await;
    assert!(s.load().await.unwrap().is_none());
    assert_eq!(s.save(0, Some(TOKEN)).await.unwrap(), 1);
    let got = s.load().await.unwrap().unwrap();
    assert_eq!(got.generation, 1);
    assert_eq!(got.token.as_deref().map(Vec::as_slice), Some(TOKEN));
    // A second Store (another instance of the app) reads the same.
    let got = store(&p).await.load().await.unwrap().unwrap();
    assert_eq!(got.token.as_deref().map(Vec::as_slice), Some(TOKEN));
    assert_eq!(s.save(1, None).await.unwrap(), 2);
    let got = s.load().await.unwrap().unwrap();
    assert_eq!((got.generation, got.token.is_none()), (2, true));
    // The bytes on disk: record overhead only, and no token in the clear.
    assert_eq!(s.save(2, Some(TOKEN)).await.unwrap(), 3);
    let raw = std::fs::read(&p).unwrap();
    assert_eq!(raw.len(), TOKEN.len() + format::OVERHEAD);
    assert!(!raw.windows(6).any(|w| w == b"SECRET"));
    assert!(s.describe().starts_with("file store ") && s.describe().ends_with("tokens"));
    assert!(s.changes().is_none());
    assert!(!format!("{got:?}").contains("SECRET"));
}

#[tokio::test]
async fn wrong_key_foreign_client_and_unknown_version_are_refused_and_leave_the_file() {
    let d = dir("refusals");
    let p = d.join("tokens");
    store(&p).await.save(0, Some(TOKEN)).await.unwrap();
    let original = std::fs::read(&p).unwrap();

    let wrong = Store::open(&config(&p, OTHER_KEY), CLIENT).await.unwrap();
    load_err(wrong.load().await.unwrap_err(), "another key");
    match wrong.save(1, Some(b"x")).await {
        Err(SaveError::Failed(e)) => load_err(e, "another key"),
        other => panic!("a save over an unreadable file must fail: {other:?}"),
    }
    let foreign = Store::open(&config(&p, KEY), "another-app").await.unwrap();
    load_err(foreign.load().await.unwrap_err(), "another client id");
    assert_eq!(std::fs::read(&p).unwrap(), original, "a refused file must stay as it was");

    let mut v2 = original.clone();
    v2[4] = 2;
    std::fs::write(&p, &v2).unwrap();
    load_err(store(&p).await.load().await.unwrap_err(), "unknown format version 2");
    std::fs::write(&p, b"{\"access_token\":\"plain\"}......................................................").unwrap();
    load_err(store(&p).await.load().await.unwrap_err(), "not a webex-auth store record");
}

#[tokio::test]
async fn every_tampered_byte_is_detected() {
    let d = dir("tamper");
    let p = d.join("tokens");
    let s = store(&p).await;
    s.save(0, Some(TOKEN)).await.unwrap();
    let original = std::fs::read(&p).unwrap();
    // Every byte: header (magic, version, kind, generation, client tag, key id), nonce,
    // ciphertext and tag.
    for i in 0..original.len() {
        let mut t = original.clone();
        t[i] ^= 0x01;
        std::fs::write(&p, &t).unwrap();
        let e = s.load().await.expect_err(&format!("byte {i} flipped was accepted"));
        assert_eq!(e.status(), Status::InvalidArgument, "byte {i}: {e}");
        clean(e.message());
        let region = match i {
            0..4 => "not a webex-auth store record",
            4 => "unknown format version",
            5 => "holds",
            14..22 => "another client id",
            22..30 => "another key",
            _ => "cannot be decrypted with this key or was modified",
        };
        assert!(e.message().contains(region), "byte {i}: {e}");
        assert_eq!(std::fs::read(&p).unwrap(), t, "byte {i}: the file was changed by a load");
    }
}

#[tokio::test]
async fn truncated_files_are_refused() {
    let d = dir("truncated");
    let p = d.join("tokens");
    let s = store(&p).await;
    s.save(0, Some(TOKEN)).await.unwrap();
    let original = std::fs::read(&p).unwrap();
    for len in [0, 1, 4, 29, 30, 53, 54, format::OVERHEAD - 1, format::OVERHEAD, original.len() - 1] {
        std::fs::write(&p, &original[..len]).unwrap();
        let e = s.load().await.expect_err(&format!("{len} bytes accepted"));
        let expect = if len < format::OVERHEAD { "truncated" } else { "cannot be decrypted" };
        load_err(e, expect);
        match s.save(1, Some(TOKEN)).await {
            Err(SaveError::Failed(e)) => clean(e.message()),
            other => panic!("save over a truncated file: {other:?}"),
        }
        assert_eq!(std::fs::read(&p).unwrap().len(), len);
    }
}

#[tokio::test]
async fn files_are_0600_from_creation() {
    let d = dir("mode");
    std::fs::set_permissions(&*d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = d.join("tokens");
    let s = Arc::new(store(&p).await);
    s.save(0, Some(TOKEN)).await.unwrap();
    drop(s.lock(Duration::from_secs(1)).await.unwrap());
    for f in ["tokens", "tokens.lock", "tokens.write.lock"] {
        let mode = std::fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    // Watch the directory while saving: every temp file seen must already be 0600.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (d, stop, seen) = (d.clone(), stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.file_name().to_string_lossy().contains(".tmp-") {
                        if let Ok(m) = e.metadata() {
                            assert_eq!(m.permissions().mode() & 0o077, 0, "a temp file was readable by others");
                            seen.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    };
    let mut generation = 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.load(Ordering::Relaxed) == 0 && !watcher.is_finished() && Instant::now() < deadline {
        generation = s.save(generation, Some(TOKEN)).await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("the watcher saw a readable temp file");
    assert!(seen.load(Ordering::Relaxed) > 0, "no temp file was ever seen");
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&*d)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_sees_a_partial_file() {
    let d = dir("atomic");
    let p = d.join("tokens");
    let writer = store(&p).await;
    writer.save(0, Some(b"short")).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // A reader in another thread, reading the raw file and opening it with its own Store.
    let reader = {
        let (p, stop) = (p.clone(), stop.clone());
        tokio::spawn(async move {
            let r = store(&p).await;
            let mut reads = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let got = r.load().await.expect("a load saw a partial or mixed file").unwrap();
                let t = got.token.unwrap();
                assert!(t.as_slice() == b"short" || t.len() == 64 * 1024, "unexpected token of {} bytes", t.len());
                reads += 1;
            }
            reads
        })
    };
    let long = vec![b'L'; 64 * 1024];
    let mut generation = 1;
    for i in 0..100 {
        let t: &[u8] = if i % 2 == 0 { &long } else { b"short" };
        generation = writer.save(generation, Some(t)).await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.await.unwrap();
    assert!(reads > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_generation_loses() {
    let d = dir("cas");
    let p = d.join("tokens");
    let a = store(&p).await;
    assert_eq!(a.save(0, Some(b"first")).await.unwrap(), 1);
    assert_eq!(a.save(0, Some(b"late")).await, Err(SaveError::Stale { current: 1 }));
    // Eight instances race from generation 1: exactly one writes generation 2.
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move { store(&p).await.save(1, Some(&[b'0' + i])).await }));
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
    // A save while the same process holds the engine lock does not wait for itself.
    let held = a.lock(Duration::from_secs(1)).await.unwrap();
    assert_eq!(a.save(2, None).await.unwrap(), 3);
    held.release().await.unwrap();
}

#[tokio::test]
async fn lock_times_out_with_a_clear_error() {
    let d = dir("lock-timeout");
    let p = d.join("tokens");
    let (a, b) = (store(&p).await, store(&p).await);
    let held = a.lock(Duration::from_secs(1)).await.unwrap();
    let t0 = Instant::now();
    let e = b.lock(Duration::from_millis(200)).await.unwrap_err();
    assert!(t0.elapsed() >= Duration::from_millis(200) && t0.elapsed() < Duration::from_secs(3));
    assert_eq!(e.status(), Status::Timeout, "{e}");
    assert!(e.message().contains(p.to_str().unwrap()), "{e}");
    held.release().await.unwrap();
    b.lock(Duration::from_millis(200)).await.unwrap().release().await.unwrap();
}

#[tokio::test]
async fn io_errors_name_the_file() {
    let d = dir("io");
    let p = d.join("no-such-dir").join("tokens");
    let s = store(&p).await;
    assert!(s.load().await.unwrap().is_none());
    let e = match s.save(0, Some(TOKEN)).await {
        Err(SaveError::Failed(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(e.message().contains(p.parent().unwrap().to_str().unwrap()), "{e}");
    clean(e.message());
    let pending = s.put_pending("abc", b"x", Duration::from_secs(1)).await.unwrap_err();
    assert!(!s.shares_pending_logins());
    assert_eq!(pending.status(), Status::InvalidArgument);
}

// ------------------------------------------------------------------ across processes

const CHILD_ENV: &str = "WXA_STORE_FILE_CHILD";

fn child(test: &str, path: &Path, extra: &[(&str, String)]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

/// Child: N times, take the lock, do a deliberately non-atomic read-modify-write of a
/// counter file and log enter/exit around it, release.
#[test]
#[ignore = "run by lock_excludes_other_processes as a child process"]
fn child_counter_worker() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let rounds: usize = std::env::var("WXA_ROUNDS").unwrap().parse().unwrap();
    let path = PathBuf::from(path);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let s = store(&path).await;
        let counter = path.with_extension("counter");
        let log = path.with_extension("log");
        for _ in 0..rounds {
            let l = s.lock(Duration::from_secs(60)).await.unwrap();
            append(&log, &format!("enter {}\n", std::process::id()));
            let n: u64 = std::fs::read_to_string(&counter).unwrap().trim().parse().unwrap();
            for _ in 0..20 {
                std::thread::yield_now();
            }
            std::fs::write(&counter, (n + 1).to_string()).unwrap();
            append(&log, &format!("exit {}\n", std::process::id()));
            l.release().await.unwrap();
        }
    });
}

fn append(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

#[test]
fn lock_excludes_other_processes() {
    let d = dir("processes");
    let p = d.join("tokens");
    std::fs::write(p.with_extension("counter"), "0").unwrap();
    let (procs, rounds) = (4, 40);
    let children: Vec<_> = (0..procs)
        .map(|_| child("child_counter_worker", &p, &[("WXA_ROUNDS", rounds.to_string())]).spawn().unwrap())
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a child failed");
    }
    let n: usize = std::fs::read_to_string(p.with_extension("counter")).unwrap().trim().parse().unwrap();
    assert_eq!(n, procs * rounds, "increments were lost: two processes held the lock at once");
    let log = std::fs::read_to_string(p.with_extension("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2 * procs * rounds);
    for pair in lines.chunks(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(a.starts_with("enter ") && b.starts_with("exit ") && a[6..] == b[5..], "overlap: {a} / {b}");
    }
}

/// Child: take the lock, say so on stdout, then wait to be killed.
#[test]
#[ignore = "run by a_killed_holder_does_not_block_others as a child process"]
fn child_hold_until_killed() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let s = store(Path::new(&path)).await;
        let _lock = s.lock(Duration::from_secs(10)).await.unwrap();
        // libtest prints "test name ... " before this on the same line: a marker.
        println!("WXA-CHILD-LOCKED");
        std::io::stdout().flush().unwrap();
        // Blocks until the parent kills us (it never writes to our stdin).
        let mut buf = [0u8; 1];
        let _ = std::io::stdin().read(&mut buf);
        panic!("the parent was supposed to SIGKILL this child");
    });
}

#[tokio::test]
async fn a_killed_holder_does_not_block_others() {
    let d = dir("sigkill");
    let p = d.join("tokens");
    let mut holder = child("child_hold_until_killed", &p, &[]).spawn().unwrap();
    // Wait (bounded) for the child to say it holds the lock.
    let out = BufReader::new(holder.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            if line.contains("WXA-CHILD-LOCKED") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = holder.kill();
        panic!("the holder never took the lock");
    }
    let s = store(&p).await;
    let e = s.lock(Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(e.status(), Status::Timeout, "the child's lock must exclude us: {e}");
    holder.kill().unwrap(); // SIGKILL: no destructor, no unlock
    holder.wait().unwrap();
    let t0 = Instant::now();
    let l = s.lock(Duration::from_secs(10)).await.expect("the dead holder's lock blocks us");
    assert!(t0.elapsed() < Duration::from_secs(2), "took {:?}", t0.elapsed());
    l.release().await.unwrap();
}
