//! Operations and events: ids, wait/cancel edge cases, delivery order and exclusivity,
//! re-entrant callbacks, close/free with work in flight, kept results, and the C ABI's
//! argument checking, all driven from Rust.

mod common;

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use webex_auth::Status;
use webex_auth::ffi::*;

/// A token that is fresh and has a refresh token (the emulator does not know it).
fn fake_token() -> String {
    json!({"access_token": "A", "refresh_token": "R", "expires_in": 3600}).to_string()
}

#[test]
fn op_ids_start_at_1_increase_and_are_per_client() {
    let emu = emulator();
    let client = new_client(&confidential(&emu), &Recorder::new());
    let mut ids = Vec::new();
    for i in 0..40 {
        let op = match i % 3 {
            0 => client.get_valid_token(0).unwrap(),
            1 => client.refresh().unwrap(),
            _ => {
                // A refused call in between must not disturb the sequence.
                assert!(client.handle_redirect("http://127.0.0.1/callback?code=x").is_err());
                client.logout().unwrap()
            }
        };
        ids.push(op);
    }
    assert_eq!(ids[0], 1);
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    for op in &ids {
        wait_result(&client, *op);
    }
    let other = new_client(&confidential(&emu), &Recorder::new());
    assert_eq!(other.get_valid_token(0).unwrap(), 1, "ids are per client");
}

#[test]
fn wait_and_cancel_on_unknown_and_ended_ops() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    for id in [0, 1, 999] {
        assert_eq!(client.wait(id, Some(Duration::ZERO)).unwrap_err().status(), Status::UnknownOperation, "wait {id}");
        assert_eq!(client.cancel(id).unwrap_err().status(), Status::UnknownOperation, "cancel {id}");
    }
    let op = client.get_valid_token(0).unwrap();
    let r1 = wait_result(&client, op);
    rec.done(op);
    // Cancel of an ended operation: harmless, the result does not change.
    client.cancel(op).unwrap();
    let r2 = wait_result(&client, op);
    assert_eq!(r1, r2, "waiting twice returns the same result");
    assert_eq!(rec.count_for("done", op), 1);
    assert_eq!(client.wait(op + 1, Some(Duration::ZERO)).unwrap_err().status(), Status::UnknownOperation);
}

#[test]
fn wait_times_out_then_cancel_ends_the_op() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    client.set_token(&fake_token()).unwrap();
    emu.set_delay(Endpoint::Token, Duration::from_millis(1500));
    let op = client.refresh().unwrap();
    let t0 = Instant::now();
    assert!(client.wait(op, Some(Duration::from_millis(100))).unwrap().is_none(), "still pending");
    assert!(t0.elapsed() >= Duration::from_millis(90));
    client.cancel(op).unwrap();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_CANCELED");
    assert!(t0.elapsed() < Duration::from_millis(1200), "cancel ends the op at once: {:?}", t0.elapsed());
    let done = rec.done(op);
    assert_eq!(done.payload["status"], "WXA_ERR_CANCELED");
    // A canceled operation is not an authorization failure.
    assert_eq!(rec.count_for("auth:error", op), 0);
    // The token is untouched by the cancel.
    assert_eq!(access_token_of(&client), "A");
}

#[test]
fn events_arrive_in_order_one_at_a_time() {
    let emu = emulator();
    let rec = Recorder::new();
    let busy = Arc::new(AtomicBool::new(false));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let sink: EventSink = {
        let (rec, busy, overlaps) = (rec.clone(), busy.clone(), overlaps.clone());
        Arc::new(move |kind, op, payload| {
            if busy.swap(true, Ordering::SeqCst) {
                overlaps.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(1));
            rec.push(kind, op, payload);
            busy.store(false, Ordering::SeqCst);
        })
    };
    let client = Client::new(&confidential(&emu).to_string(), Some(sink)).unwrap();
    let ops = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        // One thread changes the token 30 times: token:refresh must come in that order.
        s.spawn(|| {
            for i in 0..30 {
                client.set_token(&json!({"access_token": format!("T{i}"), "expires_in": 3600}).to_string()).unwrap();
            }
        });
        // Others start operations that fail at once (auth:error, then done).
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..15 {
                    let op = client.refresh().unwrap();
                    ops.lock().unwrap().push(op);
                }
            });
        }
    });
    let ops = ops.into_inner().unwrap();
    for op in &ops {
        rec.done(*op);
    }
    // A token:refresh still waiting is replaced by a newer one (the backlog holds only
    // the latest token), so the app sees an increasing subsequence that ends with T29.
    rec.wait_until("the last token:refresh carries T29", LONG, |evs| {
        evs.iter().rev().find(|e| e.name == "token:refresh").is_some_and(|e| e.payload["access_token"] == "T29")
    });
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "two callbacks ran at once");
    let tokens: Vec<usize> = rec
        .events()
        .iter()
        .filter(|e| e.name == "token:refresh")
        .map(|e| e.payload["access_token"].as_str().unwrap()[1..].parse().unwrap())
        .collect();
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "token:refresh out of order: {tokens:?}");
    for op in &ops {
        let names = rec.names_for(*op);
        assert_eq!(names.last().map(String::as_str), Some("done"), "op {op}: {names:?}");
        assert_eq!(names.iter().filter(|n| *n == "done").count(), 1, "op {op}: {names:?}");
    }
    rec.assert_well_formed();
}

/// A client whose sink can reach the client itself (through a Weak, so no cycle).
fn reentrant_client(cfg: &Value, on_event: impl Fn(&Client, &Ev) + Send + Sync + 'static) -> (Arc<Client>, Recorder) {
    let rec = Recorder::new();
    let slot: Arc<OnceLock<Weak<Client>>> = Arc::new(OnceLock::new());
    let sink: EventSink = {
        let (rec, slot) = (rec.clone(), slot.clone());
        Arc::new(move |kind, op, payload| {
            // Act first, record last: a test that saw the event also sees what the
            // callback did.
            let ev = Ev {
                name: kind.name().to_string(),
                kind,
                op,
                payload: serde_json::from_str(payload).unwrap_or(Value::Null),
                at: Instant::now(),
            };
            if let Some(c) = slot.get().and_then(Weak::upgrade) {
                on_event(&c, &ev);
            }
            rec.push(kind, op, payload);
        })
    };
    let client = Arc::new(Client::new(&cfg.to_string(), Some(sink)).unwrap());
    slot.set(Arc::downgrade(&client)).unwrap();
    (client, rec)
}

#[test]
fn a_callback_may_call_back_into_the_client() {
    let emu = emulator();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Arc::new(Mutex::new(None::<u64>));
    let (client, rec) = {
        let (seen, started) = (seen.clone(), started.clone());
        reentrant_client(&confidential(&emu), move |c, ev| {
            let mut seen = seen.lock().unwrap();
            match ev.name.as_str() {
                "token:refresh" => {
                    let t: Value = serde_json::from_str(&c.get_token().unwrap()).unwrap();
                    seen.push(format!("get_token={}", t["access_token"].as_str().unwrap()));
                }
                "done" => {
                    seen.push(format!("cancel={:?}", c.cancel(ev.op).map_err(|e| e.status())));
                    seen.push(format!("wait={:?}", c.wait(ev.op, Some(Duration::ZERO)).map_err(|e| e.status())));
                    let mut started = started.lock().unwrap();
                    if started.is_none() {
                        // Starting new work from a callback works too.
                        *started = Some(c.get_valid_token(0).unwrap());
                    }
                }
                _ => {}
            }
        })
    };
    client.set_token(&json!({"access_token": "CB1", "expires_in": 3600}).to_string()).unwrap();
    let op = client.get_valid_token(0).unwrap();
    assert_ok(&wait_result(&client, op));
    rec.done(op);
    let second = started.lock().unwrap().expect("op started from the callback");
    assert_ok(&wait_result(&client, second));
    rec.done(second);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&"get_token=CB1".to_string()), "{seen:?}");
    assert!(seen.contains(&"cancel=Ok(())".to_string()), "{seen:?}");
    assert!(
        seen.contains(&format!("wait={:?}", Err::<(), _>(Status::InvalidArgument))),
        "wait from inside the callback is refused: {seen:?}"
    );
}

#[test]
fn close_with_ops_in_flight_delivers_canceled_dones_then_nothing() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    login(&client);
    emu.clear_requests();
    emu.set_delay(Endpoint::Token, Duration::from_millis(1500));
    emu.set_delay(Endpoint::JwtLogin, Duration::from_millis(1500));
    let jwt = webex_auth::create_jwt(
        &json!({"issuer": emu.guest_issuer(), "secret": emu.guest_secret_b64(), "expires_in": "1h"}).to_string(),
    )
    .unwrap();
    let ops = [
        client.refresh().unwrap(),
        client.refresh().unwrap(),
        client.client_credentials().unwrap(),
        client.login_with_jwt(&jwt).unwrap(),
    ];
    // Let the requests reach the server (one shared refresh + client credentials + JWT).
    let t0 = Instant::now();
    while (emu.requests(Endpoint::Token).len() < 2 || emu.requests(Endpoint::JwtLogin).is_empty())
        && t0.elapsed() < LONG
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let t_close = Instant::now();
    client.close();
    assert!(t_close.elapsed() < Duration::from_millis(1000), "close waited for the server: {:?}", t_close.elapsed());
    // Delivered before close returned: no waiting here.
    let events = rec.events();
    for op in ops {
        let done: Vec<&Ev> = events.iter().filter(|e| e.op == op && e.name == "done").collect();
        assert_eq!(done.len(), 1, "op {op}: {:?}", rec.summary());
        assert_eq!(done[0].payload["status"], "WXA_ERR_CANCELED", "op {op}");
    }
    let n = rec.len();
    // An observation window for an absence: close() returned, so nothing may follow.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rec.len(), n, "events after close: {:?}", &rec.summary()[n..]);
    assert!(client.is_closed());
    assert_eq!(client.refresh().unwrap_err().status(), Status::InvalidArgument);
    client.close(); // idempotent
}

#[test]
fn close_from_inside_the_sink() {
    let emu = emulator();
    let closed_in = Arc::new(Mutex::new(None::<Duration>));
    let (client, rec) = {
        let closed_in = closed_in.clone();
        reentrant_client(&confidential(&emu), move |c, ev| {
            if ev.name == "done" && !c.is_closed() {
                let t = Instant::now();
                c.close();
                *closed_in.lock().unwrap() = Some(t.elapsed());
            }
        })
    };
    client.set_token(&fake_token()).unwrap();
    emu.set_delay(Endpoint::Token, Duration::from_millis(800));
    let slow = [client.refresh().unwrap(), client.client_credentials().unwrap()];
    let fast = client.get_valid_token(0).unwrap();
    // The sink acts first and records last: once the done is recorded, close() has
    // returned inside the callback — and it returns only after every task has stopped,
    // so nothing can be delivered any more.
    let done = rec.done(fast);
    assert_eq!(done.payload["ok"], true);
    let took = closed_in.lock().unwrap().expect("close ran inside the callback");
    assert!(took < Duration::from_millis(500), "close inside a callback blocked for {took:?}");
    let names = rec.names();
    assert_eq!(names.last().map(String::as_str), Some("done"), "{names:?}");
    assert_eq!(rec.events().last().unwrap().op, fast, "nothing after the closing callback: {:?}", rec.summary());
    for op in slow {
        assert_eq!(rec.count_for("done", op), 0, "op {op} delivered after close from the sink");
    }
    assert!(client.is_closed());
    drop(client);
}

#[test]
fn close_wakes_a_thread_blocked_in_wait() {
    let emu = emulator();
    let client = Arc::new(new_client(&confidential(&emu), &Recorder::new()));
    client.set_token(&fake_token()).unwrap();
    emu.set_delay(Endpoint::Token, Duration::from_secs(3));
    let op = client.refresh().unwrap();
    let waiter = {
        let client = client.clone();
        std::thread::Builder::new()
            .name("rust-waiter".into())
            .spawn(move || client.wait(op, None).map_err(|e| e.status()))
            .unwrap()
    };
    wait_until_thread_sleeps("rust-waiter");
    let t0 = Instant::now();
    client.close();
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    let woken = waiter.join().unwrap();
    assert!(
        matches!(woken, Err(Status::Canceled)) || matches!(&woken, Ok(Some(r)) if r.contains("WXA_ERR_CANCELED")),
        "{woken:?}"
    );
}

struct SendPtr(*mut wxa_client);
unsafe impl Send for SendPtr {}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(wxa_last_error()) }.to_string_lossy().into_owned()
}

fn c_client(cfg: &Value, on_event: wxa_event_fn, user_data: *mut c_void) -> *mut wxa_client {
    let cfg = cstr(&cfg.to_string());
    let mut c: *mut wxa_client = std::ptr::null_mut();
    assert_eq!(wxa_init(cfg.as_ptr(), on_event, user_data, &mut c), WXA_OK, "{}", last_error());
    assert!(!c.is_null());
    c
}

#[test]
fn wxa_free_wakes_a_thread_blocked_in_wxa_wait() {
    let emu = emulator();
    let c = c_client(&confidential(&emu), None, std::ptr::null_mut());
    let tok = cstr(&fake_token());
    assert_eq!(wxa_set_token(c, tok.as_ptr()), WXA_OK);
    emu.set_delay(Endpoint::Token, Duration::from_secs(3));
    let mut op: wxa_op = 0;
    assert_eq!(wxa_refresh(c, &mut op), WXA_OK);
    let p = SendPtr(c);
    let waiter = std::thread::Builder::new()
        .name("c-waiter".into())
        .spawn(move || {
            let p = p;
            let mut out: *mut c_char = std::ptr::null_mut();
            let st = wxa_wait(p.0, op, u32::MAX, &mut out);
            (st, out.is_null(), last_error())
        })
        .unwrap();
    wait_until_thread_sleeps("c-waiter");
    let t0 = Instant::now();
    wxa_free(c);
    assert!(t0.elapsed() < Duration::from_secs(2));
    let (st, untouched, msg) = waiter.join().unwrap();
    assert_eq!(st, WXA_ERR_CANCELED, "{msg}");
    assert!(untouched, "out-param written on failure");
}

#[test]
fn without_a_sink_results_stay_until_read() {
    let emu = emulator();
    let client = new_client_no_sink(&confidential(&emu));
    let n = 1100u64;
    for i in 1..=n {
        assert_eq!(client.get_valid_token(0).unwrap(), i);
    }
    // Every operation ends before any of them is read.
    let t0 = Instant::now();
    while client.running_operations() > 0 {
        assert!(t0.elapsed() < LONG, "operations still running");
        std::thread::yield_now();
    }
    for op in 1..=n {
        let r = client.wait(op, Some(LONG)).unwrap_or_else(|e| panic!("op {op} lost before being read: {e}"));
        assert!(r.is_some(), "op {op} still pending");
    }
    // Once read, only the most recent 1024 are kept.
    assert_eq!(client.wait(1, Some(Duration::ZERO)).unwrap_err().status(), Status::UnknownOperation);
    assert!(client.wait(n, Some(Duration::ZERO)).unwrap().is_some(), "read twice");
}

#[test]
fn with_a_sink_the_last_1024_results_are_kept() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let n = 1100u64;
    for i in 1..=n {
        let op = client.get_valid_token(0).unwrap();
        assert_eq!(op, i);
        // Sequential, so operations end in id order.
        wait_result(&client, op);
    }
    rec.wait_count("done", n as usize, LONG);
    let oldest_kept = n - 1024 + 1;
    assert_eq!(client.wait(oldest_kept - 1, Some(Duration::ZERO)).unwrap_err().status(), Status::UnknownOperation);
    assert!(client.wait(oldest_kept, Some(Duration::ZERO)).unwrap().is_some());
    assert!(client.wait(n, Some(Duration::ZERO)).unwrap().is_some());
}

// ---------------------------------------------------------------------------------
// The C ABI from Rust

#[test]
fn c_abi_argument_checks() {
    let emu = emulator();
    let cfg = cstr(&confidential(&emu).to_string());
    let sentinel_client = 0x10 as *mut wxa_client;

    // NULL config.
    let mut c = sentinel_client;
    assert_eq!(wxa_init(std::ptr::null(), None, std::ptr::null_mut(), &mut c), WXA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("config_json"), "{}", last_error());
    assert_eq!(c, sentinel_client, "out-param untouched");
    // NULL out-param wins over everything else.
    assert_eq!(wxa_init(std::ptr::null(), None, std::ptr::null_mut(), std::ptr::null_mut()), WXA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("out_client"), "{}", last_error());
    // Invalid UTF-8.
    let bad = CString::new(b"{\"client_id\":\"\xff\xfe\"}".to_vec()).unwrap();
    assert_eq!(wxa_init(bad.as_ptr(), None, std::ptr::null_mut(), &mut c), WXA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("UTF-8"), "{}", last_error());
    assert_eq!(c, sentinel_client);
    // Malformed config.
    let bad = cstr("{\"client_id\":");
    assert_eq!(wxa_init(bad.as_ptr(), None, std::ptr::null_mut(), &mut c), WXA_ERR_INVALID_ARGUMENT);
    assert!(!last_error().is_empty());

    let c = c_client(&confidential(&emu), None, std::ptr::null_mut());
    // NULL client.
    let mut op: wxa_op = 777;
    assert_eq!(wxa_refresh(std::ptr::null_mut(), &mut op), WXA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("client"), "{}", last_error());
    assert_eq!(op, 777);
    assert_eq!(wxa_refresh(c, std::ptr::null_mut()), WXA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("out_op"), "{}", last_error());
    assert_eq!(wxa_get_valid_token(std::ptr::null_mut(), 0, std::ptr::null_mut()), WXA_ERR_INVALID_ARGUMENT);
    assert_eq!(wxa_set_token(c, std::ptr::null()), WXA_ERR_INVALID_ARGUMENT);
    let bad_tok = CString::new(b"{\"access_token\":\"\xc3\x28\"}".to_vec()).unwrap();
    assert_eq!(wxa_set_token(c, bad_tok.as_ptr()), WXA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("UTF-8"), "{}", last_error());

    // Out-params untouched on failure.
    let sentinel_str = 0x20 as *mut c_char;
    let mut out = sentinel_str;
    assert_eq!(wxa_get_token(c, &mut out), WXA_ERR_NOT_AUTHORIZED);
    assert_eq!(out, sentinel_str);
    assert_eq!(wxa_wait(c, 0, 0, &mut out), WXA_ERR_UNKNOWN_OPERATION);
    assert_eq!(wxa_wait(c, 42, 0, &mut out), WXA_ERR_UNKNOWN_OPERATION);
    assert_eq!(out, sentinel_str);
    assert_eq!(wxa_wait(c, 1, 0, std::ptr::null_mut()), WXA_ERR_INVALID_ARGUMENT);
    assert_eq!(wxa_cancel(c, 0), WXA_ERR_UNKNOWN_OPERATION);
    assert_eq!(wxa_cancel(c, 12345), WXA_ERR_UNKNOWN_OPERATION);
    assert!(!last_error().is_empty());
    let url = cstr("not a url");
    let mut clean = sentinel_str;
    assert_eq!(wxa_handle_redirect(c, url.as_ptr(), &mut clean, &mut op), WXA_ERR_INVALID_ARGUMENT);
    let url = cstr("http://127.0.0.1/callback?code=abc&state=bogus");
    assert_eq!(wxa_handle_redirect(c, url.as_ptr(), &mut clean, &mut op), WXA_ERR_STATE_MISMATCH);
    assert!(!last_error().is_empty());
    assert_eq!((clean, op), (sentinel_str, 777));
    assert_eq!(wxa_exchange_code(c, std::ptr::null(), std::ptr::null(), &mut op), WXA_ERR_INVALID_ARGUMENT);
    assert_eq!(op, 777);

    // A pending operation: WXA_PENDING, out untouched.
    let tok = cstr(&fake_token());
    assert_eq!(wxa_set_token(c, tok.as_ptr()), WXA_OK);
    emu.set_delay(Endpoint::Token, Duration::from_millis(1000));
    assert_eq!(wxa_refresh(c, &mut op), WXA_OK);
    assert_eq!(wxa_wait(c, op, 10, &mut out), WXA_PENDING);
    assert_eq!(out, sentinel_str);
    assert_eq!(wxa_cancel(c, op), WXA_OK);
    assert_eq!(wxa_wait(c, op, 5000, &mut out), WXA_OK);
    let r = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
    wxa_string_free(out);
    assert!(r.contains("WXA_ERR_CANCELED"), "{r}");
    assert_eq!(wxa_cancel(c, op), WXA_OK, "cancel of an ended op");

    // NULL options are allowed for initiate_login.
    let mut url_out: *mut c_char = std::ptr::null_mut();
    assert_eq!(wxa_initiate_login(c, std::ptr::null(), &mut url_out), WXA_OK);
    assert!(unsafe { CStr::from_ptr(url_out) }.to_str().unwrap().contains("code_challenge="));
    wxa_string_free(url_out);

    wxa_free(c);
    wxa_free(std::ptr::null_mut());
    wxa_string_free(std::ptr::null_mut());
    let _ = cfg;
}

#[test]
fn c_abi_status_names_and_version() {
    let name = |s| unsafe { CStr::from_ptr(wxa_status_name(s)) }.to_str().unwrap().to_string();
    let expected = [
        "WXA_OK",
        "WXA_PENDING",
        "WXA_ERR_INVALID_ARGUMENT",
        "WXA_ERR_STATE_MISMATCH",
        "WXA_ERR_OAUTH",
        "WXA_ERR_HTTP",
        "WXA_ERR_NETWORK",
        "WXA_ERR_TIMEOUT",
        "WXA_ERR_RATE_LIMITED",
        "WXA_ERR_EXPIRED",
        "WXA_ERR_CANCELED",
        "WXA_ERR_NOT_AUTHORIZED",
        "WXA_ERR_UNKNOWN_OPERATION",
        "WXA_ERR_INTERNAL",
    ];
    for (i, n) in expected.iter().enumerate() {
        assert_eq!(name(i as i32), *n);
    }
    assert_eq!(name(999), "WXA_UNKNOWN_STATUS");
    assert_eq!(name(-1), "WXA_UNKNOWN_STATUS");
    let v = unsafe { CStr::from_ptr(wxa_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    assert_eq!(v, webex_auth::version());
}

/// What the C callback of the tests below sees and does.
#[derive(Default)]
struct CCtx {
    client: AtomicPtr<wxa_client>,
    events: Mutex<Vec<(i32, u64, String)>>,
    recorded: Condvar,
    wait_status: AtomicI32,
    free_on_done: AtomicBool,
    freed: AtomicBool,
}

unsafe extern "C" fn c_callback(ud: *mut c_void, ty: wxa_event_type, op: wxa_op, payload: *const c_char) {
    let ctx = unsafe { &*(ud as *const CCtx) };
    let payload = unsafe { CStr::from_ptr(payload) }.to_string_lossy().into_owned();
    // Act first, record last: a test that saw the event also sees what the callback did.
    if ty == WXA_EVENT_DONE {
        let c = ctx.client.load(Ordering::SeqCst);
        if ctx.free_on_done.load(Ordering::SeqCst) {
            if !ctx.freed.swap(true, Ordering::SeqCst) {
                wxa_free(c);
            }
        } else {
            let mut out: *mut c_char = std::ptr::null_mut();
            ctx.wait_status.store(wxa_wait(c, op, 0, &mut out), Ordering::SeqCst);
            // The token is readable from inside the callback.
            let mut tok: *mut c_char = std::ptr::null_mut();
            if wxa_get_token(c, &mut tok) == WXA_OK {
                wxa_string_free(tok);
            }
        }
    }
    ctx.events.lock().unwrap().push((ty, op, payload));
    ctx.recorded.notify_all();
}

fn c_events(ctx: &CCtx) -> Vec<(i32, u64, String)> {
    ctx.events.lock().unwrap().clone()
}

fn wait_c_done(ctx: &CCtx, op: wxa_op) {
    let deadline = Instant::now() + LONG;
    let mut events = ctx.events.lock().unwrap();
    while !events.iter().any(|(t, o, _)| *t == WXA_EVENT_DONE && *o == op) {
        let now = Instant::now();
        assert!(now < deadline, "no done for op {op}");
        events = ctx.recorded.wait_timeout(events, deadline - now).unwrap().0;
    }
}

#[test]
fn c_abi_full_login_with_callback_and_wait_refused_inside_it() {
    let emu = emulator();
    let ctx = Box::new(CCtx::default());
    let ud = &*ctx as *const CCtx as *mut c_void;
    let c = c_client(&confidential(&emu), Some(c_callback), ud);
    ctx.client.store(c, Ordering::SeqCst);

    let opts = cstr(r#"{"state":{"from":"c"}}"#);
    let mut url: *mut c_char = std::ptr::null_mut();
    assert_eq!(wxa_initiate_login(c, opts.as_ptr(), &mut url), WXA_OK);
    let authorize = unsafe { CStr::from_ptr(url) }.to_str().unwrap().to_string();
    wxa_string_free(url);
    let location = cstr(&browser_authorize(&authorize));
    let mut op: wxa_op = 0;
    assert_eq!(wxa_handle_redirect(c, location.as_ptr(), std::ptr::null_mut(), &mut op), WXA_OK);
    let mut out: *mut c_char = std::ptr::null_mut();
    assert_eq!(wxa_wait(c, op, 20_000, &mut out), WXA_OK);
    let r: Value = serde_json::from_str(unsafe { CStr::from_ptr(out) }.to_str().unwrap()).unwrap();
    wxa_string_free(out);
    assert_ok(&r);
    assert_eq!(r["state"], json!({"from": "c"}));
    wait_c_done(&ctx, op);
    assert_eq!(ctx.wait_status.load(Ordering::SeqCst), WXA_ERR_INVALID_ARGUMENT, "wxa_wait inside its own callback");
    let events = c_events(&ctx);
    let types: Vec<i32> = events.iter().filter(|(_, o, _)| *o == op).map(|(t, _, _)| *t).collect();
    assert_eq!(types, vec![WXA_EVENT_TOKEN_REFRESH, WXA_EVENT_DONE]);
    let done: Value = serde_json::from_str(&events.last().unwrap().2).unwrap();
    assert_eq!(done["type"], "done");
    assert_eq!(done["op"], op);
    wxa_free(c);
    drop(ctx);
}

#[test]
fn c_abi_wxa_free_from_inside_the_callback() {
    let emu = emulator();
    let ctx = Box::new(CCtx::default());
    ctx.free_on_done.store(true, Ordering::SeqCst);
    let ud = &*ctx as *const CCtx as *mut c_void;
    let c = c_client(&confidential(&emu), Some(c_callback), ud);
    ctx.client.store(c, Ordering::SeqCst);
    let tok = cstr(&fake_token());
    assert_eq!(wxa_set_token(c, tok.as_ptr()), WXA_OK);
    emu.set_delay(Endpoint::Token, Duration::from_millis(700));
    let mut slow: wxa_op = 0;
    assert_eq!(wxa_refresh(c, &mut slow), WXA_OK);
    let mut fast: wxa_op = 0;
    assert_eq!(wxa_get_valid_token(c, 0, &mut fast), WXA_OK);
    // From here the callback frees the client: this thread must not touch it again. The
    // callback acts first and records last, and wxa_free returns (inside it) only after
    // every task of the client stopped: once the done is recorded, nothing can follow.
    wait_c_done(&ctx, fast);
    assert!(ctx.freed.load(Ordering::SeqCst));
    let events = c_events(&ctx);
    let last = events.last().unwrap();
    assert_eq!((last.0, last.1), (WXA_EVENT_DONE, fast), "nothing after the freeing callback: {events:?}");
    assert!(!events.iter().any(|(_, o, _)| *o == slow), "{events:?}");
    drop(ctx);
}
