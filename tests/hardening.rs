//! Regression tests of issue #10 (hardening), one or more per item, against the emulator.
//! Items 1, 2 and 5 are also tested from C under valgrind (tests/c/test_hardening.c);
//! item 7's memory bound is measured in tests/backlog.rs, item 11 in tests/transport.rs.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use webex_auth::Status;

const REFRESH: &str = "refresh_token";

/// Polls the emulator's request log (the server's record, not a guess) until `n`
/// requests reached `endpoint`.
fn wait_requests(emu: &Emulator, endpoint: Endpoint, n: usize) {
    let t0 = Instant::now();
    while emu.requests(endpoint).len() < n {
        assert!(t0.elapsed() < LONG, "fewer than {n} requests at {endpoint:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------
// Item 2: logout and set_token win over a refresh in flight.

#[test]
fn logout_wins_over_a_refresh_in_flight() {
    let emu = emulator();
    let (client, rec, _) = logged_in(&emu, json!({}));
    emu.set_delay(Endpoint::Token, Duration::from_millis(800));
    let refresh = client.refresh().unwrap();
    wait_requests(&emu, Endpoint::Token, 1);
    let logout = client.logout().unwrap();
    assert_ok(&wait_result(&client, logout));
    let r = wait_result(&client, refresh);
    assert_failed(&r, "WXA_ERR_CANCELED");
    // Let the refresh's answer arrive at the engine (the server delay) before looking.
    rec.done(refresh);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(token_of(&client).is_none(), "the late refresh undid the logout");
    let events = rec.events();
    let logout_at = events.iter().position(|e| e.name == "logout").expect("logout event");
    assert!(
        !events[logout_at..].iter().any(|e| e.name == "token:refresh"),
        "token:refresh after logout: {:#?}",
        rec.summary()
    );
    // Nothing was re-armed: no proactive refresh either.
    assert_eq!(token_requests(&emu, REFRESH).len(), 1);
}

#[test]
fn set_token_wins_over_a_refresh_in_flight() {
    let emu = emulator();
    let (client, rec, _) = logged_in(&emu, json!({}));
    emu.set_delay(Endpoint::Token, Duration::from_millis(800));
    let refresh = client.refresh().unwrap();
    wait_requests(&emu, Endpoint::Token, 1);
    client
        .set_token(&json!({"access_token": "APP-TOKEN", "refresh_token": "APP-RT", "expires_in": 3600}).to_string())
        .unwrap();
    assert_failed(&wait_result(&client, refresh), "WXA_ERR_CANCELED");
    rec.done(refresh);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(access_token_of(&client), "APP-TOKEN");
    let last = rec.events().into_iter().rev().find(|e| e.name == "token:refresh").unwrap();
    assert_eq!(last.payload["access_token"], "APP-TOKEN", "{:#?}", rec.summary());
}

// ---------------------------------------------------------------------------------
// Item 3: no refresh storm.

#[test]
fn tokens_of_0_or_1_s_cause_no_refresh_storm() {
    for ttl in [0, 1] {
        let emu = emulator();
        emu.update_config(|c| c.access_token_ttl_s = ttl);
        let (client, rec, _) = logged_in(&emu, json!({}));
        // An observation window for an absence: nothing may be sent during it.
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(token_requests(&emu, REFRESH).len(), 0, "ttl {ttl}: proactive refreshes of a {ttl} s token");
        assert_eq!(rec.count_for("token:refresh", 0), 0);
        client.close();
    }
}

// ---------------------------------------------------------------------------------
// Item 4: a request that spends a credential is not retried after a possible 5xx.

#[test]
fn refresh_and_exchange_are_not_retried_after_500_502_504() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({"max_retries": 3}));
    for status in [500, 502, 504] {
        emu.clear_requests();
        emu.script(Endpoint::Token, vec![Scripted::status(status), Scripted::passthrough()]);
        let r = wait_result(&client, client.refresh().unwrap());
        assert_failed(&r, "WXA_ERR_HTTP");
        assert_eq!(r["http_status"], status);
        assert_eq!(emu.requests(Endpoint::Token).len(), 1, "refresh retried after {status}");
        assert_eq!(token_of(&client).unwrap()["refresh_token"], first["refresh_token"], "old token kept");
        emu.clear_scripts();
    }
    // The same for a code exchange.
    emu.clear_requests();
    let url = client.initiate_login("").unwrap();
    let redirect = browser_authorize(&url);
    emu.script(Endpoint::Token, vec![Scripted::status(502), Scripted::passthrough()]);
    let (op, _) = client.handle_redirect(&redirect).unwrap();
    assert_failed(&wait_result(&client, op), "WXA_ERR_HTTP");
    assert_eq!(emu.requests(Endpoint::Token).len(), 1, "exchange retried after 502");
}

#[test]
fn refresh_is_retried_after_429_and_503_and_others_keep_their_retries() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 2}));
    emu.script(
        Endpoint::Token,
        vec![Scripted::status(503).with_header("Retry-After", "0"), Scripted::status(429), Scripted::passthrough()],
    );
    assert_ok(&wait_result(&client, client.refresh().unwrap()));
    assert_eq!(emu.requests(Endpoint::Token).len(), 3, "503 and 429 are retried");
    // Client credentials spend nothing: a 502 is retried as before.
    emu.clear_requests();
    emu.script(Endpoint::Token, vec![Scripted::status(502), Scripted::passthrough()]);
    assert_ok(&wait_result(&client, client.client_credentials().unwrap()));
    assert_eq!(emu.requests(Endpoint::Token).len(), 2, "client credentials keep their retry policy");
}

// ---------------------------------------------------------------------------------
// Item 5: close (wxa_free) stops everything, background refreshes included.

/// Closes on another thread and fails (instead of hanging) when close does not return:
/// a background task that close did not stop keeps it waiting.
fn close_promptly(client: Client) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        client.close();
        let _ = tx.send(());
    });
    assert!(rx.recv_timeout(LONG).is_ok(), "close did not return: a task of the client still runs");
}

#[test]
fn close_stops_a_refresh_waiting_on_retry_after() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 2}));
    emu.script(Endpoint::Token, vec![Scripted::status(503).with_header("Retry-After", "2")]);
    let _op = client.refresh().unwrap();
    wait_requests(&emu, Endpoint::Token, 1);
    close_promptly(client);
    // An observation window for an absence: the retry would come after 2 s.
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(emu.requests(Endpoint::Token).len(), 1, "a request of a closed client reached the server");
}

#[test]
fn close_stops_a_shared_refresh_started_by_get_valid_token() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({}));
    emu.script(Endpoint::Token, vec![Scripted::status(503).with_header("Retry-After", "2")]);
    let rt = token_of(&client).unwrap()["refresh_token"].clone();
    client.set_token(&json!({"access_token": "A", "refresh_token": rt, "expires_in": 40}).to_string()).unwrap();
    // The window is capped at half the (40 s) lifetime: due in 20 s. Too slow for a
    // test; instead a get_valid_token asking for more than 40 s starts the refresh.
    let _ = client.get_valid_token(60).unwrap();
    wait_requests(&emu, Endpoint::Token, 1);
    close_promptly(client);
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
}

// ---------------------------------------------------------------------------------
// Item 6: slow callbacks cannot starve anyone else.

#[test]
fn callbacks_that_block_delay_only_their_own_client() {
    let emu = emulator();
    let gate = Arc::new(Gate::default());
    let blocked = Arc::new(AtomicUsize::new(0));
    let token = json!({"access_token": "T", "expires_in": 3600}).to_string();
    let clients: Vec<Client> = (0..520)
        .map(|_| {
            let (gate, blocked) = (gate.clone(), blocked.clone());
            let sink: EventSink = Arc::new(move |_, _, _| {
                blocked.fetch_add(1, Ordering::SeqCst);
                gate.wait();
            });
            let c = Client::new(&confidential(&emu).to_string(), Some(sink)).unwrap();
            c.set_token(&token).unwrap();
            c
        })
        .collect();
    // Dropped before the clients: a failing assertion opens the gate first, so their
    // close does not wait forever on the callbacks held there.
    let _open_on_failure = OpenOnDrop(gate.clone());
    let t0 = Instant::now();
    while blocked.load(Ordering::SeqCst) < 520 {
        assert!(t0.elapsed() < LONG, "only {} callbacks started", blocked.load(Ordering::SeqCst));
        std::thread::sleep(Duration::from_millis(10));
    }
    // An unrelated client on `localhost` (a name: DNS resolution runs on the runtime's
    // blocking pool, which blocked callbacks used to exhaust).
    let local = emu.api_url().replace("127.0.0.1", "localhost");
    let cfg = with(confidential(&emu), json!({"webex_api_url": local, "timeout_ms": 5000}));
    let rec = Recorder::new();
    let other = new_client(&cfg, &rec);
    let op = other.client_credentials().unwrap();
    assert_ok(&wait_result(&other, op));
    rec.wait_for_op("done", op, Duration::from_secs(5));
    gate.open();
    for c in clients {
        c.close();
    }
}

// ---------------------------------------------------------------------------------
// Item 8: secrets do not outlive their use.

#[test]
fn kept_results_hold_no_token_after_logout() {
    let emu = emulator();
    let client = new_client_no_sink(&confidential(&emu));
    let login_url = client.initiate_login("").unwrap();
    let (op, _) = client.handle_redirect(&browser_authorize(&login_url)).unwrap();
    let first = wait_result(&client, op);
    let refresh = client.refresh().unwrap();
    let r = wait_result(&client, refresh);
    assert!(r["access_token"].is_string() && first["access_token"].is_string());
    assert_ok(&wait_result(&client, client.logout().unwrap()));
    for op in [op, refresh] {
        let kept = wait_result(&client, op);
        assert_ok(&kept);
        for k in ["access_token", "refresh_token", "id_token"] {
            assert!(kept.get(k).is_none(), "op {op} still holds {k}: {kept}");
        }
        assert_eq!(kept["token_cleared"], true);
    }
}

#[test]
fn queued_events_lose_a_superseded_token() {
    let emu = emulator();
    let gate = Arc::new(Gate::default());
    let rec = Recorder::new();
    let sink = gated_sink(&gate, &rec);
    let client = Client::new(&confidential(&emu).to_string(), Some(sink)).unwrap();
    let _open_on_failure = OpenOnDrop(gate.clone());
    // The first event goes into the callback and waits there at the gate; what follows
    // waits in the queue.
    client.set_token(r#"{"access_token":"FIRST","expires_in":3600}"#).unwrap();
    gate.wait_for_a_waiter();
    let cc = client.client_credentials().unwrap();
    wait_result(&client, cc);
    let logout = client.logout().unwrap();
    wait_result(&client, logout);
    gate.open();
    rec.done(logout);
    let done = rec.done(cc);
    assert_eq!(done.payload["ok"], true);
    assert_eq!(done.payload["token_superseded"], true, "{}", done.payload);
    assert!(done.payload.get("access_token").is_none(), "{}", done.payload);
    let refreshes: Vec<Value> =
        rec.events().into_iter().filter(|e| e.name == "token:refresh").map(|e| e.payload).collect();
    assert_eq!(refreshes.len(), 1, "the token:refresh queued before the logout is dropped: {refreshes:?}");
    assert_eq!(refreshes[0]["access_token"], "FIRST", "only the one already in the callback");
}

// ---------------------------------------------------------------------------------
// Items 9 and 10: the app's state is the stored copy; the clean URL has no fragment.

#[test]
fn the_apps_state_comes_from_the_pending_login() {
    let emu = emulator();
    let client = new_client_no_sink(&confidential(&emu));
    let url = client.initiate_login(r#"{"state":{"return_to":"/inbox"}}"#).unwrap();
    let redirect = browser_authorize(&url);
    // An attacker rewrites the app's fields and keeps the CSRF token.
    let mut st = b64url_json(&query_param(&redirect, "state").unwrap());
    st["return_to"] = json!("https://evil.example/");
    st["extra"] = json!("injected");
    let forged = set_param(&redirect, "state", Some(&b64url(&st)));
    let (op, clean) = client.handle_redirect(&forged).unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_eq!(r["state"], json!({"return_to": "/inbox"}));
    assert_eq!(b64url_json(&query_param(&clean, "state").unwrap()), json!({"return_to": "/inbox"}));
}

#[test]
fn the_sanitized_url_drops_the_fragment_and_credentials() {
    let emu = emulator();
    let client = new_client_no_sink(&confidential(&emu));
    let url = client.initiate_login("").unwrap();
    let redirect = format!("{}&access_token=leak#access_token=leak2&x=1", browser_authorize(&url));
    let (op, clean) = client.handle_redirect(&redirect).unwrap();
    assert!(!clean.contains('#') && !clean.contains("leak") && !clean.contains("code="), "{clean}");
    assert_ok(&wait_result(&client, op));
}

// ---------------------------------------------------------------------------------
// Items 12 and 13: HS256 key length; strict JSON; no config value in a message.

#[test]
fn short_hs256_secrets_are_refused() {
    let emu = emulator();
    let short = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 31]);
    let e = webex_auth::create_jwt(&json!({"issuer": "i", "secret": short, "expires_in": 60}).to_string()).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("32"), "{}", e.message());
    let cfg = with(confidential(&emu), json!({"guest_issuer": "i", "guest_secret": short}));
    let e = Client::new(&cfg.to_string(), None).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("guest_secret") && e.message().contains("32"), "{}", e.message());
}

#[test]
fn trailing_text_after_json_is_refused_everywhere() {
    let emu = emulator();
    let cfg = confidential(&emu).to_string();
    let e = Client::new(&format!("{cfg} trailing"), None).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "config");
    let client = new_client_no_sink(&confidential(&emu));
    assert_eq!(client.initiate_login(r#"{"email":"a@b.c"} x"#).unwrap_err().status(), Status::InvalidArgument);
    assert_eq!(client.set_token(r#"{"access_token":"a"}{}"#).unwrap_err().status(), Status::InvalidArgument);
    let jwt = json!({"issuer": "i", "secret": emu.guest_secret_b64(), "expires_in": 60}).to_string();
    assert_eq!(webex_auth::create_jwt(&format!("{jwt},")).unwrap_err().status(), Status::InvalidArgument);
    assert!(webex_auth::create_jwt(&format!("{jwt}\n")).is_ok(), "trailing whitespace is fine");
}

#[test]
fn config_errors_never_repeat_a_value() {
    for (cfg, key) in [
        (json!({"client_id": "c", "client_secret": 123456789}), "client_secret"),
        (json!({"client_id": "c", "client_secret": ["s3cr3t-in-array"]}), "client_secret"),
        (json!({"client_id": "c", "client_auth": "s3cr3t-mode"}), "client_auth"),
        (json!({"client_id": "c", "proxy": "http://user:s3cr3t@[bad"}), "proxy"),
        (json!({"client_id": "c", "token_url": "ftp://s3cr3t.example/x"}), "token_url"),
        (json!({"client_id": "c", "guest_expires_in": "s3cr3t"}), "guest_expires_in"),
        (json!({"client_id": "c", "max_pending_logins": 0}), "max_pending_logins"),
    ] {
        let e = Client::new(&cfg.to_string(), None).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{cfg}");
        assert!(e.message().contains(key), "{cfg}: {}", e.message());
        for v in ["123456789", "s3cr3t"] {
            assert!(!e.message().contains(v), "{cfg}: the message repeats a value: {}", e.message());
        }
    }
}

// ---------------------------------------------------------------------------------
// Item 14: device login limits.

#[test]
fn device_expires_in_is_capped_and_verification_uris_are_checked() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let answer = |uri: &str, complete: &str, expires_in: i64| {
        Scripted::json(
            200,
            json!({"device_code": "d", "user_code": "ABCD-EFGH", "verification_uri": uri,
                   "verification_uri_complete": complete, "expires_in": expires_in, "interval": 5}),
        )
    };
    emu.script(Endpoint::DeviceAuthorize, vec![answer("https://v.example/d", "https://v.example/d?c=1", 86_400)]);
    let op = client.start_device_login().unwrap();
    let code = rec.wait_for_op("getUserCodeSuccess", op, LONG);
    assert_eq!(code.payload["expiresIn"], 1800, "a day-long device code is capped at 30 minutes");
    client.cancel(op).unwrap();
    rec.done(op);
    for (uri, complete) in [
        ("javascript:alert(1)", "https://v.example/d"),
        ("https://v.example/d", "http://evil.example/d?c=1"),
        ("https://v.example/d", "data:text/html,<b>hi</b>"),
    ] {
        emu.script(Endpoint::DeviceAuthorize, vec![answer(uri, complete, 300)]);
        let op = client.start_device_login().unwrap();
        let done = rec.done(op);
        assert_eq!(done.payload["ok"], false);
        assert_eq!(done.payload["status"], "WXA_ERR_HTTP");
        rec.wait_for_op("authorizationFailure", op, LONG);
        assert_eq!(rec.count_for("getUserCodeSuccess", op), 0, "{uri} {complete} was handed on");
        assert!(!rec.summary().iter().any(|s| s.contains("evil.example") || s.contains("javascript:")));
    }
}

// ---------------------------------------------------------------------------------
// Item 15: pending logins under load.

#[test]
fn pending_logins_default_to_1024_and_the_cap_is_configurable() {
    let emu = emulator();
    let client = new_client_no_sink(&confidential(&emu));
    let first = client.initiate_login("").unwrap();
    // 1023 anonymous hits on /login do not evict the first real login (the old cap was 64).
    for _ in 0..1023 {
        client.initiate_login("").unwrap();
    }
    let (op, _) = client.handle_redirect(&browser_authorize(&first)).unwrap();
    assert_ok(&wait_result(&client, op));

    let small = new_client_no_sink(&with(confidential(&emu), json!({"max_pending_logins": 2})));
    let oldest = small.initiate_login("").unwrap();
    let kept = small.initiate_login("").unwrap();
    small.initiate_login("").unwrap();
    let e = small.handle_redirect(&browser_authorize(&oldest)).unwrap_err();
    assert_eq!(e.status(), Status::StateMismatch, "the oldest login was evicted");
    let (op, _) = small.handle_redirect(&browser_authorize(&kept)).unwrap();
    assert_ok(&wait_result(&small, op));
}

fn process_threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).unwrap().trim().parse().unwrap()
}

#[test]
fn threads_do_not_grow_with_clients_or_events() {
    let emu = emulator();
    let delivered = Arc::new(AtomicUsize::new(0));
    let before = process_threads();
    let clients: Vec<Client> = (0..10_000)
        .map(|i| {
            let delivered = delivered.clone();
            let sink: EventSink = Arc::new(move |_, _, _| {
                delivered.fetch_add(1, Ordering::SeqCst);
            });
            let c = Client::new(&confidential(&emu).to_string(), Some(sink)).unwrap();
            c.set_token(&json!({"access_token": format!("T{i}"), "expires_in": 3600}).to_string()).unwrap();
            c
        })
        .collect();
    let t0 = Instant::now();
    while delivered.load(Ordering::SeqCst) < 10_000 {
        assert!(t0.elapsed() < LONG, "{} events delivered", delivered.load(Ordering::SeqCst));
        std::thread::yield_now();
    }
    let grown = process_threads().saturating_sub(before);
    // Other tests of this binary run beside this one and start threads of their own; a
    // thread per client (or per event) would be thousands.
    assert!(grown < 64, "threads grew by {grown} for 10,000 clients with one event each");
    drop(clients);
}
