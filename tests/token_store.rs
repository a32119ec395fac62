//! Issue #12: the engine with a file token store, against the emulator, real files and
//! real child processes (this test binary re-runs itself as agents, see `agents`).
//! Every token change is written; an unreadable file fails `Client::new` and stays as it
//! was; N processes whose token expired at once spend one refresh; a process killed while
//! holding the lock blocks nobody; `token_rejected` refreshes once across threads and
//! processes; a failed write keeps the token and lands later.

mod agents;
mod common;
mod http_browser;
mod stores;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use agents::{Agent, broadcast, same_token_everywhere};
use common::*;
use serde_json::{Value, json};
use stores::*;
use webex_auth::Status;

#[test]
#[ignore = "run by the tests of this file as a child process"]
fn child_agent() {
    agents::agent_main();
}

/// Secrets that must never appear in an error message.
#[track_caller]
fn assert_no_secrets(msg: &str, token: &Value) {
    for s in [KEY, OTHER_KEY, token["access_token"].as_str().unwrap(), token["refresh_token"].as_str().unwrap()] {
        assert!(!msg.contains(s), "a message shows a secret: {msg}");
    }
}

#[test]
fn round_trip_file_mode_and_unreadable_files_fail_init_untouched() {
    let emu = emulator();
    let d = test_dir("init");
    let path = d.join("tokens");
    let store = file_store(&path);
    let cfg = store_client_config(&emu, &store, 5000);
    let a = new_client_no_sink(&cfg);
    login(&a);
    let token = token_of(&a).unwrap();

    // Round trip: another client (another process, as far as the file knows) starts
    // with the same token.
    let b = new_client_no_sink(&cfg);
    let loaded = token_of(&b).expect("the stored token is loaded at init");
    for k in ["access_token", "refresh_token", "expires_at", "refresh_token_expires_at", "scope", "token_type"] {
        assert_eq!(loaded[k], token[k], "{k}");
    }
    a.close();
    b.close();

    // 0600, and no token in the clear.
    for f in [path.clone(), d.join("tokens.write.lock")] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    let original = std::fs::read(&path).unwrap();
    for s in ["access_token", token["access_token"].as_str().unwrap(), token["refresh_token"].as_str().unwrap()] {
        assert!(!original.windows(s.len()).any(|w| w == s.as_bytes()), "the file shows {s:?} in the clear");
    }

    // Each unreadable variant: Client::new fails with a message that names the file and
    // says what is wrong, and the file keeps its bytes.
    let flipped = |i: usize| {
        let mut v = original.clone();
        v[i] ^= 0x40;
        v
    };
    let n = original.len();
    let cases: Vec<(&str, Value, Vec<u8>, &str)> = vec![
        (
            "wrong key",
            with(cfg.clone(), json!({"token_store": {"path": path.to_str(), "key": OTHER_KEY}})),
            original.clone(),
            "sealed with another key",
        ),
        (
            "foreign client id",
            with(cfg.clone(), json!({"client_id": "another-app"})),
            original.clone(),
            "written for another client id",
        ),
        ("tampered ciphertext", cfg.clone(), flipped(n / 2 + 20), "cannot be decrypted with this key or was modified"),
        ("tampered tag", cfg.clone(), flipped(n - 1), "cannot be decrypted with this key or was modified"),
        ("tampered generation", cfg.clone(), flipped(13), "cannot be decrypted with this key or was modified"),
        (
            "truncated by a byte",
            cfg.clone(),
            original[..n - 1].to_vec(),
            "cannot be decrypted with this key or was modified",
        ),
        ("truncated header", cfg.clone(), original[..20].to_vec(), "is truncated"),
        ("empty", cfg.clone(), Vec::new(), "is truncated"),
    ];
    for (what, config, bytes, expect) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let e = Client::new(&config.to_string(), None).expect_err(what);
        assert_eq!(e.status(), Status::InvalidArgument, "{what}: {e}");
        assert!(e.message().contains(expect), "{what}: expected {expect:?} in: {e}");
        assert!(e.message().contains(path.to_str().unwrap()), "{what}: the message names the file: {e}");
        assert_no_secrets(e.message(), &token);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: the file was changed");
    }

    // Put back, the file serves again: nothing was lost.
    std::fs::write(&path, &original).unwrap();
    let c = new_client_no_sink(&cfg);
    assert_eq!(token_of(&c).unwrap()["access_token"], token["access_token"]);
}

#[test]
fn every_token_change_is_written_and_logout_writes_its_absence() {
    let emu = emulator();
    emu.update_config(|c| c.device_interval_s = Some(1));
    let d = test_dir("writes");
    let store = file_store(&d.join("tokens"));
    let cfg = store_client_config(&emu, &store, 5000);
    let rec = Recorder::new();
    let c = new_client(&cfg, &rec);
    let mut generation = 0;

    // After each operation (its result says it is done, the write included), the store
    // holds exactly the client's token, one generation further.
    let mut check = |what: &str, guest: bool| {
        let (g, record) = stored(&store, CLIENT_ID).unwrap_or_else(|| panic!("{what}: nothing stored"));
        let record = record.unwrap_or_else(|| panic!("{what}: a logout is stored"));
        assert_eq!(g, generation + 1, "{what}: one write per change");
        generation = g;
        assert_eq!(record["token"]["access_token"], json!(access_token_of(&c)), "{what}");
        assert_eq!(record["guest"], json!(guest), "{what}");
    };

    login(&c);
    check("code exchange", false);

    let r = wait_result(&c, c.refresh().unwrap());
    assert_ok(&r);
    check("refresh", false);

    let r = wait_result(&c, c.client_credentials().unwrap());
    assert_ok(&r);
    check("client credentials", false);

    let op = c.start_device_login().unwrap();
    let code = rec.wait_for_op("getUserCodeSuccess", op, LONG);
    assert!(emu.approve_user_code(code.payload["userCode"].as_str().unwrap()));
    assert_ok(&wait_result(&c, op));
    check("device login", false);

    let jwt = webex_auth::create_jwt(
        &json!({"issuer": emu.guest_issuer(), "secret": emu.guest_secret_b64(), "subject": "g-1", "expires_in": "1h"})
            .to_string(),
    )
    .unwrap();
    assert_ok(&wait_result(&c, c.login_with_jwt(&jwt).unwrap()));
    check("JWT login", true);

    let (url, op) = c.start_loopback_login("").unwrap();
    assert_eq!(http_browser::sign_in(&url).status, 200);
    assert_ok(&wait_result(&c, op));
    check("loopback login", false);

    // set_token writes in the background (it returns at once): wait for the record.
    let imported = with(token_of(&c).unwrap(), json!({"access_token": "imported-access-token"}));
    c.set_token(&imported.to_string()).unwrap();
    let (g, _) = wait_stored(&store, "the imported token", |s| {
        s.and_then(|(_, r)| r.as_ref()).is_some_and(|r| r["token"]["access_token"] == "imported-access-token")
    })
    .unwrap();
    assert_eq!(g, generation + 1, "set_token: one write");
    generation = g;

    // Logout writes the absence of a token; a new client starts without one.
    let r = wait_result(&c, c.logout().unwrap());
    assert_ok(&r);
    assert!(r.get("store_error").is_none(), "{r}");
    let (g, record) = stored(&store, CLIENT_ID).unwrap();
    assert_eq!((g, record), (generation + 1, None), "logout stores a tombstone");
    assert!(token_of(&new_client_no_sink(&cfg)).is_none(), "a new client must not find a token after logout");
    rec.assert_well_formed();
}

#[test]
fn eight_processes_whose_token_expired_spend_one_refresh() {
    let emu = emulator();
    let d = test_dir("expired");
    let store = file_store(&d.join("tokens"));
    let cfg = store_client_config(&emu, &store, 10_000);
    let dead = store_expired_token(&emu, &cfg);

    let mut agents = Agent::spawn_ready(8, &cfg, 1);
    let reports = broadcast(&mut agents, &json!({"cmd": "get_valid_token"}));
    let token = same_token_everywhere(&reports);

    assert_eq!(refreshes(&emu), 1, "one refresh request for 8 processes");
    assert_ne!(token, dead["access_token"].as_str().unwrap());
    assert!(emu.is_access_token_valid(&token));
    assert_eq!(stored_access_token(&store).as_deref(), Some(token.as_str()));
    let expires_in = reports[0]["results"][0]["expires_in"].as_i64().unwrap();
    assert!(expires_in > 3000, "a fresh token: {expires_in}");
    for a in agents {
        a.finish();
    }
}

#[test]
fn a_process_killed_while_holding_the_lock_blocks_nobody() {
    let emu = emulator();
    let d = test_dir("killed");
    let path = d.join("tokens");
    let store = file_store(&path);
    let cfg = store_client_config(&emu, &store, 10_000);
    store_expired_token(&emu, &cfg);

    // The holder's refresh reaches the server (which spends nothing: Webex refresh tokens
    // are not rotated) and its answer hangs, so the holder sits inside the lock.
    emu.script(Endpoint::Token, vec![Scripted::passthrough().delayed(60_000)]);
    let mut holder = Agent::spawn(&cfg, 1);
    let mut others = Agent::spawn_ready(7, &cfg, 1);
    holder.ready();
    holder.send(&json!({"cmd": "get_valid_token"}));
    poll_until("the holder's refresh reaches the emulator", || refreshes(&emu) == 1);
    for a in &mut others {
        a.send(&json!({"cmd": "get_valid_token"}));
    }
    // Observation window for an absence: while the holder lives, nobody gets through.
    std::thread::sleep(Duration::from_millis(300));
    for a in &mut others {
        assert!(a.try_recv(Duration::ZERO).is_none(), "agent {} went past a held lock", a.pid);
    }

    holder.kill();
    let t0 = Instant::now();
    let reports: Vec<Value> = others.iter_mut().map(|a| a.recv(LONG)).collect();
    let waited = t0.elapsed();
    let token = same_token_everywhere(&reports);
    // Far below the 10 s the others would wait for a lock that outlived its holder.
    assert!(waited < Duration::from_secs(5), "the dead holder's lock held the others {waited:?}");
    assert_eq!(refreshes(&emu), 2, "the killed holder's refresh and exactly one more");
    assert!(emu.is_access_token_valid(&token));
    assert_eq!(stored_access_token(&store).as_deref(), Some(token.as_str()));
    for a in others {
        a.finish();
    }
}

#[test]
fn token_rejected_in_eight_processes_refreshes_once() {
    let emu = emulator();
    let d = test_dir("rejected");
    let store = file_store(&d.join("tokens"));
    let cfg = store_client_config(&emu, &store, 10_000);
    let first = new_client_no_sink(&cfg);
    login(&first);
    let old = access_token_of(&first);
    first.close();
    emu.clear_requests();

    let mut agents = Agent::spawn_ready(8, &cfg, 2);
    let reports = broadcast(&mut agents, &json!({"cmd": "token_rejected", "access_token": old}));
    let token = same_token_everywhere(&reports);
    assert_eq!(refreshes(&emu), 1, "16 clients in 8 processes saw the same 401: one refresh");
    assert_ne!(token, old);
    assert!(emu.is_access_token_valid(&token));

    // A late 401 for the old token changes nothing: every client already has the new one.
    let reports = broadcast(&mut agents, &json!({"cmd": "token_rejected", "access_token": old}));
    assert_eq!(same_token_everywhere(&reports), token);
    assert_eq!(refreshes(&emu), 1, "a rejected token that is no longer current is not refreshed again");
    for a in agents {
        a.finish();
    }
}

/// Compare-and-refresh in one process: M threads with the same rejected token, one
/// refresh; with and without a store.
#[test]
fn threads_rejecting_the_same_token_refresh_once() {
    let emu = emulator();
    let d = test_dir("threads");
    let with_store = store_client_config(&emu, &file_store(&d.join("tokens")), 5000);
    for cfg in [confidential(&emu), with_store] {
        let c = new_client_no_sink(&cfg);
        login(&c);
        let old = access_token_of(&c);
        emu.clear_requests();
        let results = |token: &str| -> Vec<Value> {
            let barrier = std::sync::Barrier::new(16);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..16)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            wait_result(&c, c.token_rejected(token).unwrap())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        };
        let new: Vec<Value> = results(&old);
        assert_eq!(refreshes(&emu), 1, "{cfg}");
        for r in &new {
            assert_ok(r);
            assert_eq!(r["access_token"], new[0]["access_token"]);
        }
        assert_ne!(new[0]["access_token"], json!(old));
        for r in results(&old) {
            assert_eq!(r["access_token"], new[0]["access_token"]);
        }
        assert_eq!(refreshes(&emu), 1, "the old token again: no refresh");
    }
}

#[test]
fn a_failed_write_keeps_the_token_and_lands_once_the_store_is_back() {
    let emu = emulator();
    let d = test_dir("failing");
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let store = file_store(&sub.join("tokens"));
    let cfg = store_client_config(&emu, &store, 5000);
    let c = new_client_no_sink(&cfg);
    login(&c);
    let (g1, _) = stored(&store, CLIENT_ID).unwrap();

    // The store's directory turns into a plain file: every write fails (ENOTDIR). (A
    // read-only directory would not stop a test running as root.)
    let away = d.join("sub.away");
    std::fs::rename(&sub, &away).unwrap();
    std::fs::write(&sub, b"not a directory").unwrap();
    let r = wait_result(&c, c.client_credentials().unwrap());
    assert_ok(&r);
    let msg = r["store_error"].as_str().unwrap_or_else(|| panic!("no store_error in {r}"));
    assert!(msg.contains("file store") && msg.contains(sub.to_str().unwrap()), "{msg}");
    let token = token_of(&c).unwrap();
    assert_eq!(token["access_token"], r["access_token"], "the token is kept in memory");
    assert!(!msg.contains(token["access_token"].as_str().unwrap()));

    // The directory is back: the retried write lands, without any call from the app.
    std::fs::remove_file(&sub).unwrap();
    std::fs::rename(&away, &sub).unwrap();
    let (g2, record) = wait_stored(&store, "the retried write", |s| {
        s.and_then(|(_, r)| r.as_ref()).is_some_and(|r| r["token"]["access_token"] == token["access_token"])
    })
    .unwrap();
    assert_eq!(g2, g1 + 1);
    assert_eq!(record.unwrap()["token"]["refresh_token"], token["refresh_token"]);
    assert_eq!(token_of(&new_client_no_sink(&cfg)).unwrap()["access_token"], token["access_token"]);
}

#[test]
fn a_deleted_store_file_gets_the_token_back_at_the_next_refresh() {
    let emu = emulator();
    let d = test_dir("deleted");
    let path = d.join("tokens");
    let store = file_store(&path);
    let cfg = store_client_config(&emu, &store, 5000);
    let c = new_client_no_sink(&cfg);
    login(&c);
    let (g1, _) = stored(&store, CLIENT_ID).unwrap();
    std::fs::remove_file(&path).unwrap();
    // The refresh's write expects generation g1 and finds nothing: the store lost its
    // record, and this answer is the newest there is. It is written under a generation
    // above g1, so that readers who remember g1 see a change.
    let r = wait_result(&c, c.refresh().unwrap());
    assert_ok(&r);
    let (g, record) = stored(&store, CLIENT_ID).expect("the refreshed token is written again");
    assert_eq!(record.unwrap()["token"]["access_token"], r["access_token"]);
    assert_eq!(g, g1 + 1);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

/// A record rewritten with the very token a client holds (an import of the same token,
/// a store putting back what it lost) is no newer token: a forced refresh still renews.
#[test]
fn a_forced_refresh_renews_even_when_its_own_token_was_rewritten() {
    let emu = emulator();
    let d = test_dir("rewritten");
    let store = file_store(&d.join("tokens"));
    let cfg = store_client_config(&emu, &store, 5000);
    let a = new_client_no_sink(&cfg);
    login(&a);
    let b = new_client_no_sink(&cfg);
    let token = token_of(&a).unwrap();
    let (g1, _) = stored(&store, CLIENT_ID).unwrap();
    a.set_token(&token.to_string()).unwrap();
    wait_stored(&store, "the rewritten record", |s| s.is_some_and(|(g, _)| *g == g1 + 1));
    emu.clear_requests();
    let r = wait_result(&b, b.refresh().unwrap());
    assert_ok(&r);
    assert_ne!(r["access_token"], token["access_token"], "the forced refresh returned the old token");
    assert_eq!(refreshes(&emu), 1);
}
