//! Tokens against the emulator: forced, single-flight, if-needed and proactive refresh;
//! failures that keep or clear the token; retries, timeouts and caps; client
//! credentials; set/get token; logout; server error shapes; secrets kept out of errors.

mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use webex_auth::Status;

const REFRESH: &str = "refresh_token";

fn refresh_result(client: &Client) -> Value {
    wait_result(client, client.refresh().unwrap())
}

#[test]
fn forced_refresh_gets_a_new_access_token_and_keeps_the_refresh_token() {
    let emu = emulator();
    let (client, rec, first) = logged_in(&emu, json!({}));
    let op = client.refresh().unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_ne!(r["access_token"], first["access_token"]);
    assert_eq!(r["refresh_token"], first["refresh_token"]);
    assert!(emu.is_access_token_valid(r["access_token"].as_str().unwrap()));
    let reqs = emu.requests(Endpoint::Token);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].form_value("grant_type"), Some(REFRESH));
    assert_eq!(reqs[0].form_value(REFRESH), first["refresh_token"].as_str());
    // self_contained_token is not sent on refresh.
    assert!(reqs[0].form_value("self_contained_token").is_none());
    let ev = rec.wait_for_op("token:refresh", op, LONG);
    assert_eq!(ev.payload["access_token"], r["access_token"]);
    assert_eq!(access_token_of(&client), r["access_token"].as_str().unwrap());
}

#[test]
fn refresh_is_single_flight_across_20_threads() {
    let emu = emulator();
    let (client, rec, first) = logged_in(&emu, json!({}));
    emu.set_delay(Endpoint::Token, Duration::from_millis(500));
    let barrier = Barrier::new(20);
    let ops: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    client.refresh().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = ops.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20, "distinct op ids: {ops:?}");
    let results: Vec<Value> = ops.iter().map(|op| wait_result(&client, *op)).collect();
    for r in &results {
        assert_ok(r);
        assert_eq!(r["access_token"], results[0]["access_token"]);
    }
    assert_ne!(results[0]["access_token"], first["access_token"]);
    assert_eq!(token_requests(&emu, REFRESH).len(), 1, "exactly one refresh request");
    for op in &ops {
        rec.done(*op);
    }
}

#[test]
fn get_valid_token_uses_a_fresh_token_without_a_request() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({}));
    let r = wait_result(&client, client.get_valid_token(60).unwrap());
    assert_ok(&r);
    assert_eq!(r["access_token"], first["access_token"]);
    assert!(emu.requests(Endpoint::Token).is_empty());
}

#[test]
fn get_valid_token_refreshes_when_the_token_is_too_short_lived() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({}));
    // Tokens live 3600 s; asking for 2 h forces a refresh.
    let r = wait_result(&client, client.get_valid_token(7200).unwrap());
    assert_ok(&r);
    assert_ne!(r["access_token"], first["access_token"]);
    assert_eq!(token_requests(&emu, REFRESH).len(), 1);
}

#[test]
fn get_valid_token_without_a_usable_token() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let r = wait_result(&client, client.get_valid_token(0).unwrap());
    assert_failed(&r, "WXA_ERR_NOT_AUTHORIZED");
    // An expired token without a refresh token: NOT_AUTHORIZED and `unauthorized`.
    client.set_token(&json!({"access_token": "old", "expires_at": now_ms() - 1000}).to_string()).unwrap();
    let op = client.get_valid_token(0).unwrap();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_NOT_AUTHORIZED");
    let ev = rec.wait_for_op("unauthorized", op, LONG);
    assert_eq!(ev.payload["status"], "WXA_ERR_NOT_AUTHORIZED");
    // Forced refresh without a refresh token: NOT_AUTHORIZED, nothing sent.
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_NOT_AUTHORIZED");
    assert!(emu.requests(Endpoint::Token).is_empty());
}

#[test]
fn proactive_refresh_happens_by_itself_inside_the_window() {
    let emu = emulator();
    // 32 s tokens (the shortest lifetime that gets a proactive refresh is 30 s), window
    // 300 s -> capped at half the lifetime: refresh 16 s after issue.
    emu.update_config(|c| c.access_token_ttl_s = 32);
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let first = login(&client);
    let logged_in_at = Instant::now();
    let ev = rec.wait_for_op("token:refresh", 0, Duration::from_secs(25));
    let after = ev.at - logged_in_at;
    assert!(after >= Duration::from_millis(15_000), "refreshed too early: {after:?}");
    assert!(after <= Duration::from_millis(19_000), "refreshed too late: {after:?}");
    assert_ne!(ev.payload["access_token"], first["access_token"]);
    assert!(ev.payload.get("op").is_none());
    assert!(!token_requests(&emu, REFRESH).is_empty());
    client.close();
}

#[test]
fn proactive_refresh_off_with_zero_window() {
    let emu = emulator();
    emu.update_config(|c| c.access_token_ttl_s = 2);
    let rec = Recorder::new();
    let client = new_client(&with(confidential(&emu), json!({"refresh_before_expiry_s": 0})), &rec);
    login(&client);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(token_requests(&emu, REFRESH).is_empty());
    assert_eq!(rec.count_for("token:refresh", 0), 0);
}

#[test]
fn invalid_grant_on_refresh_clears_the_token_and_emits_unauthorized() {
    let emu = emulator();
    let (client, rec, _) = logged_in(&emu, json!({}));
    emu.expire_refresh_tokens();
    let op = client.refresh().unwrap();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert_eq!(r["error"], "invalid_grant");
    assert_eq!(r["http_status"], 400);
    assert!(token_of(&client).is_none(), "token cleared");
    let ev = rec.wait_for("unauthorized", LONG);
    assert_eq!(ev.payload["status"], "WXA_ERR_NOT_AUTHORIZED");
    assert_eq!(token_requests(&emu, REFRESH).len(), 1, "invalid_grant is not retried");
    rec.done(op);
}

fn assert_token_kept(client: &Client, before: &Value) {
    let now = token_of(client).expect("token kept");
    assert_eq!(now["access_token"], before["access_token"]);
    assert_eq!(now["refresh_token"], before["refresh_token"]);
    assert_eq!(now["expires_at"], before["expires_at"]);
}

#[test]
fn server_errors_on_refresh_keep_the_old_token() {
    let emu = emulator();
    let (client, rec, _) = logged_in(&emu, json!({"max_retries": 1}));
    let before = token_of(&client).unwrap();

    // A 500 on a refresh is not retried: the server may have rotated the refresh token
    // before failing, and a second try could only earn invalid_grant (issue #10 item 4).
    emu.script(Endpoint::Token, vec![Scripted::json(500, json!({"message": "boom"})), Scripted::status(500)]);
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(r["http_status"], 500);
    assert_eq!(emu.requests(Endpoint::Token).len(), 1, "a 5xx on a refresh is not retried");
    assert_token_kept(&client, &before);
    emu.clear_scripts();

    // 200 with a body that is not JSON: not retried.
    emu.clear_requests();
    emu.script(Endpoint::Token, vec![Scripted::status(200).with_body("<html>oops</html>")]);
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
    assert_token_kept(&client, &before);

    // 200 JSON with a bad expires_in.
    emu.script(Endpoint::Token, vec![Scripted::json(200, json!({"access_token": "new", "expires_in": -5}))]);
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_token_kept(&client, &before);

    // 200 JSON without access_token.
    emu.script(Endpoint::Token, vec![Scripted::json(200, json!({"token_type": "Bearer"}))]);
    assert_failed(&refresh_result(&client), "WXA_ERR_HTTP");
    assert_token_kept(&client, &before);

    // Over 1 MiB: cut off unread.
    let big = format!(r#"{{"access_token":"new","expires_in":3600,"pad":"{}"}}"#, "x".repeat((1 << 20) + 10));
    emu.clear_requests();
    emu.script(Endpoint::Token, vec![Scripted::status(200).with_body(&big)]);
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
    assert_token_kept(&client, &before);

    // A 3xx is not followed.
    emu.script(Endpoint::Token, vec![Scripted::status(302).with_header("Location", "http://127.0.0.1:1/steal")]);
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_token_kept(&client, &before);

    // No token:refresh and no unauthorized for any of these.
    assert_eq!(rec.count("token:refresh"), 1, "only the login's: {:?}", rec.summary());
    assert_eq!(rec.count("unauthorized"), 0);
    // And the token still refreshes for real afterwards.
    assert_ok(&refresh_result(&client));
}

#[test]
fn retry_after_429_is_honoured() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 1}));
    emu.script(
        Endpoint::Token,
        vec![Scripted::json(429, json!({"message": "slow"})).with_header("Retry-After", "1"), Scripted::passthrough()],
    );
    let t0 = Instant::now();
    let r = refresh_result(&client);
    assert_ok(&r);
    assert!(t0.elapsed() >= Duration::from_millis(1000), "{:?}", t0.elapsed());
    let reqs = emu.requests(Endpoint::Token);
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].at_ms - reqs[0].at_ms >= 1000, "{} -> {}", reqs[0].at_ms, reqs[1].at_ms);
}

#[test]
fn rate_limited_beyond_max_retries() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 1}));
    let before = token_of(&client).unwrap();
    let too_many = || Scripted::json(429, json!({"message": "Too many requests"})).with_header("Retry-After", "0");
    emu.script(Endpoint::Token, vec![too_many(), too_many(), too_many()]);
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_RATE_LIMITED");
    assert_eq!(r["http_status"], 429);
    assert_eq!(emu.requests(Endpoint::Token).len(), 2);
    assert_token_kept(&client, &before);
}

#[test]
fn long_retry_after_fails_at_once() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 2}));
    emu.script(Endpoint::Token, vec![Scripted::status(429).with_header("Retry-After", "120")]);
    let t0 = Instant::now();
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_RATE_LIMITED");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
}

#[test]
fn service_unavailable_twice_then_ok() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 2}));
    emu.script(
        Endpoint::Token,
        vec![Scripted::status(503).with_header("Retry-After", "0"), Scripted::status(503), Scripted::passthrough()],
    );
    let r = refresh_result(&client);
    assert_ok(&r);
    assert_eq!(emu.requests(Endpoint::Token).len(), 3);
}

#[test]
fn timeouts_refresh_is_not_retried_client_credentials_is() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"timeout_ms": 300, "max_retries": 2}));
    let before = token_of(&client).unwrap();
    emu.set_delay(Endpoint::Token, Duration::from_millis(900));
    let t0 = Instant::now();
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_TIMEOUT");
    assert!(t0.elapsed() < Duration::from_millis(2000), "{:?}", t0.elapsed());
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(emu.requests(Endpoint::Token).len(), 1, "a refresh that may have been processed is not retried");
    assert_token_kept(&client, &before);

    emu.clear_requests();
    let r = wait_result(&client, client.client_credentials().unwrap());
    assert_failed(&r, "WXA_ERR_TIMEOUT");
    assert_eq!(emu.requests(Endpoint::Token).len(), 3, "client_credentials retried up to max_retries");
}

#[test]
fn dripping_server_times_out() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"timeout_ms": 400, "max_retries": 0}));
    // One byte per 100 ms: the whole-request deadline fires mid-body.
    emu.script(
        Endpoint::Token,
        vec![Scripted::json(200, json!({"access_token": "slowly", "expires_in": 3600})).dripped()],
    );
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_TIMEOUT");
}

#[test]
fn connection_refused_is_network() {
    let port = closed_port();
    let cfg = json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "webex_api_url": format!("http://127.0.0.1:{port}/v1"),
        "idbroker_url": format!("http://127.0.0.1:{port}"),
        "timeout_ms": 2000,
        "max_retries": 1,
    });
    let client = new_client(&cfg, &Recorder::new());
    let r = wait_result(&client, client.client_credentials().unwrap());
    assert_failed(&r, "WXA_ERR_NETWORK");
    client.set_token(&json!({"access_token": "a", "refresh_token": "r", "expires_in": 3600}).to_string()).unwrap();
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_NETWORK");
    assert_eq!(access_token_of(&client), "a");
}

#[test]
fn client_credentials_grant() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&with(confidential(&emu), json!({"scope": "spark:people_read"})), &rec);
    let op = client.client_credentials().unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert!(r.get("refresh_token").is_none(), "{r}");
    assert!(emu.is_access_token_valid(r["access_token"].as_str().unwrap()));
    let reqs = emu.requests(Endpoint::Token);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].form_value("grant_type"), Some("client_credentials"));
    assert_eq!(reqs[0].form_value("scope"), Some("spark:people_read"));
    assert_eq!(reqs[0].form_value("self_contained_token"), Some("true"));
    assert!(reqs[0].header("authorization").unwrap().starts_with("Basic "));
    rec.wait_for_op("token:refresh", op, LONG);
    assert_eq!(access_token_of(&client), r["access_token"].as_str().unwrap());
}

/// A refresh token expiry beyond the 7-day keep-alive window: importing it starts no
/// refresh (the test's refresh tokens are unknown to the emulator, so one would fail and
/// clear the token while the test reads it).
const THIRTY_DAYS_MS: i64 = 30 * 86_400_000;

#[test]
fn set_token_get_token_round_trip() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    assert!(token_of(&client).is_none());

    // expires_in form, unknown keys ignored.
    let t0 = now_ms();
    client
        .set_token(
            &json!({"access_token": "A1", "refresh_token": "R1", "expires_in": 100, "scope": "spark:all",
                    "refresh_token_expires_at": t0 + THIRTY_DAYS_MS, "saved_by": {"version": "9.9"}})
            .to_string(),
        )
        .unwrap();
    let t = token_of(&client).unwrap();
    assert_eq!(t["access_token"], "A1");
    assert_eq!(t["refresh_token"], "R1");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "spark:all");
    assert_eq!(t["refresh_token_expires_at"], t0 + THIRTY_DAYS_MS);
    let at = t["expires_at"].as_i64().unwrap();
    assert!((at - (t0 + 100_000)).abs() < 2000, "{at} vs {}", t0 + 100_000);
    assert!(t.get("saved_by").is_none());
    let ev = rec.wait_for_op("token:refresh", 0, LONG);
    assert_eq!(ev.payload["access_token"], "A1");

    // expires_at form; and expires_at wins over expires_in.
    let at = now_ms() + 50_000;
    client.set_token(&json!({"access_token": "A2", "expires_at": at}).to_string()).unwrap();
    assert_eq!(token_of(&client).unwrap()["expires_at"], at);
    client.set_token(&json!({"access_token": "A3", "expires_at": at, "expires_in": 5}).to_string()).unwrap();
    let t = token_of(&client).unwrap();
    assert_eq!(t["expires_at"], at);
    assert!(t.get("refresh_token").is_none(), "a restored token replaces the old one: {t}");

    // Bad input: refused, the token stays.
    for bad in ["{}", "[1]", "not json", r#"{"access_token":""}"#, r#"{"access_token":"x","expires_at":"soon"}"#] {
        let e = client.set_token(bad).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad}: {e}");
    }
    assert_eq!(access_token_of(&client), "A3");

    // A real token saved from one client restores into another and refreshes there.
    let source = new_client(&confidential(&emu), &Recorder::new());
    login(&source);
    let saved = source.get_token().unwrap();
    let restored = new_client(&confidential(&emu), &Recorder::new());
    restored.set_token(&saved).unwrap();
    let a: Value = serde_json::from_str(&saved).unwrap();
    let b = token_of(&restored).unwrap();
    for k in ["access_token", "refresh_token", "expires_at", "refresh_token_expires_at", "scope", "token_type"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert_ok(&refresh_result(&restored));
}

#[test]
fn logout_at_the_webex_endpoint() {
    let emu = emulator();
    let (client, rec, first) = logged_in(&emu, json!({}));
    let op = client.logout().unwrap();
    let r = wait_result(&client, op);
    assert_eq!(r, json!({"ok": true}));
    let reqs = emu.requests(Endpoint::Logout);
    assert_eq!(reqs.len(), 1);
    let body: Value = serde_json::from_str(&reqs[0].body).expect("JSON body");
    assert_eq!(body, json!({"token": first["refresh_token"], "cisService": "webex"}));
    assert!(emu.requests(Endpoint::Revoke).is_empty());
    assert!(token_of(&client).is_none());
    rec.wait_for_op("logout", op, LONG);
    assert!(!emu.is_access_token_valid(first["access_token"].as_str().unwrap()), "the grant is revoked");
}

#[test]
fn logout_clears_the_token_even_when_the_server_fails() {
    let emu = emulator();
    let (client, rec, _) = logged_in(&emu, json!({"max_retries": 1}));
    emu.script(
        Endpoint::Logout,
        vec![Scripted::json(500, json!({"message": "down"})), Scripted::json(500, json!({"message": "down"}))],
    );
    let op = client.logout().unwrap();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(r["http_status"], 500);
    assert!(token_of(&client).is_none(), "cleared anyway");
    rec.wait_for_op("logout", op, LONG);
    rec.done(op);
}

#[test]
fn logout_without_a_token() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let op = client.logout().unwrap();
    assert_ok(&wait_result(&client, op));
    assert!(emu.requests(Endpoint::Logout).is_empty());
    rec.wait_for_op("logout", op, LONG);
}

#[test]
fn logout_with_revoke_url_uses_rfc7009() {
    let emu = emulator();
    let (client, rec, first) = logged_in(&emu, json!({"revoke_url": emu.url(Endpoint::Revoke)}));
    let op = client.logout().unwrap();
    assert_ok(&wait_result(&client, op));
    let reqs = emu.requests(Endpoint::Revoke);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].form_value("token"), first["refresh_token"].as_str());
    assert_eq!(reqs[0].form_value("token_type_hint"), Some("refresh_token"));
    assert!(reqs[0].header("authorization").unwrap().starts_with("Basic "), "client auth as at the token endpoint");
    assert!(emu.requests(Endpoint::Logout).is_empty());
    assert!(token_of(&client).is_none());
    rec.wait_for_op("logout", op, LONG);
    assert!(!emu.is_access_token_valid(first["access_token"].as_str().unwrap()));

    // No refresh token (client credentials): the access token, hinted as such.
    emu.clear_requests();
    let cc = wait_result(&client, client.client_credentials().unwrap());
    assert_ok(&cc);
    assert_ok(&wait_result(&client, client.logout().unwrap()));
    let reqs = emu.requests(Endpoint::Revoke);
    assert_eq!(reqs[0].form_value("token"), cc["access_token"].as_str());
    assert_eq!(reqs[0].form_value("token_type_hint"), Some("access_token"));
}

#[test]
fn both_server_error_shapes_are_mapped() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({}));
    // RFC 6749 shape (not invalid_grant, which would clear the token).
    emu.script(
        Endpoint::Token,
        vec![Scripted::json(
            400,
            json!({"error": "invalid_request", "error_description": "bad form", "trackingId": "RFC_TRACK_1"}),
        )],
    );
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert_eq!(r["error"], "invalid_request");
    assert_eq!(r["error_description"], "bad form");
    assert_eq!(r["http_status"], 400);
    assert_eq!(r["tracking_id"], "RFC_TRACK_1");

    // Webex shape.
    emu.script(
        Endpoint::Token,
        vec![Scripted::json(
            401,
            json!({"message": "The request requires a valid access token.",
                   "errors": [{"description": "token is bad"}], "trackingId": "ROUTER_ABC123"}),
        )],
    );
    let r = refresh_result(&client);
    // No OAuth `error` code in a Webex sentence: an unexpected HTTP status (docs/C-API.md).
    assert_failed(&r, "WXA_ERR_HTTP");
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["http_status"], 401);
    assert_eq!(r["tracking_id"], "ROUTER_ABC123");
    assert_eq!(r["error_description"], "token is bad");

    // Webex shape with an error code in `message`.
    emu.script(
        Endpoint::Token,
        vec![Scripted::json(400, json!({"message": "invalid_scope", "trackingId": "ROUTER_2"}))],
    );
    let r = refresh_result(&client);
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert_eq!(r["error"], "invalid_scope");
    assert_eq!(r["tracking_id"], "ROUTER_2");
    assert!(token_of(&client).is_some());
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&with(confidential(&emu), json!({"timeout_ms": 300, "max_retries": 0})), &rec);
    let first = login(&client);
    let refresh_token = first["refresh_token"].as_str().unwrap().to_string();
    let mut failures = Vec::new();

    let scripts = vec![
        Scripted::json(500, json!({"message": "boom"})),
        Scripted::json(400, json!({"error": "invalid_request"})),
        Scripted::status(200).with_body("garbage"),
        Scripted::status(404),
        Scripted::json(200, json!({"access_token": "a"})).delayed(800),
    ];
    for s in scripts {
        emu.script(Endpoint::Token, vec![s]);
        let r = refresh_result(&client);
        assert_eq!(r["ok"], false, "{r}");
        failures.push(r.to_string());
    }
    emu.script(Endpoint::Logout, vec![Scripted::status(500)]);
    failures.push(wait_result(&client, client.logout().unwrap()).to_string());
    // A Rust-side error whose input held a refresh token.
    let e = client
        .set_token(&json!({"access_token": "x", "refresh_token": refresh_token, "expires_at": "bad"}).to_string())
        .unwrap_err();
    failures.push(format!("{e} {e:?}"));
    failures.push(format!("{client:?}"));
    // Every failure payload the sink saw (token payloads legitimately carry tokens).
    for ev in rec.events() {
        if ev.payload["ok"] == false || ev.name == "auth:error" || ev.name == "unauthorized" {
            failures.push(ev.payload.to_string());
        }
    }
    for f in &failures {
        assert!(!f.contains(CLIENT_SECRET), "client secret leaked: {f}");
        assert!(!f.contains(&refresh_token), "refresh token leaked: {f}");
    }
}

#[test]
fn a_refresh_answer_without_refresh_token_keeps_the_old_one() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({}));
    emu.script(Endpoint::Token, vec![Scripted::json(200, json!({"access_token": "NEW-ACCESS", "expires_in": 3600}))]);
    let r = refresh_result(&client);
    assert_ok(&r);
    assert_eq!(r["access_token"], "NEW-ACCESS");
    assert_eq!(r["refresh_token"], first["refresh_token"]);
    assert_eq!(token_of(&client).unwrap()["refresh_token"], first["refresh_token"]);
    // And that refresh token still works.
    assert_ok(&refresh_result(&client));
}

#[test]
fn retry_after_as_an_http_date() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({"max_retries": 1}));
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    emu.script(
        Endpoint::Token,
        vec![Scripted::status(503).with_header("Retry-After", &httpdate::fmt_http_date(at)), Scripted::passthrough()],
    );
    let t0 = Instant::now();
    assert_ok(&refresh_result(&client));
    // Second resolution: the date is 1 to 2 s ahead.
    assert!(t0.elapsed() >= Duration::from_millis(900), "{:?}", t0.elapsed());
    assert_eq!(emu.requests(Endpoint::Token).len(), 2);
}

#[test]
fn proactive_refresh_refused_emits_unauthorized_with_op_0() {
    let emu = emulator();
    emu.update_config(|c| c.access_token_ttl_s = 32);
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    login(&client);
    emu.expire_refresh_tokens();
    let ev = rec.wait_for("unauthorized", Duration::from_secs(25));
    assert_eq!(ev.op, 0, "belongs to no operation");
    assert_eq!(ev.payload["status"], "WXA_ERR_NOT_AUTHORIZED");
    assert!(token_of(&client).is_none());
    assert_eq!(rec.count_for("token:refresh", 0), 0);
    rec.assert_well_formed();
}

#[test]
fn body_cap_is_exactly_1_mib() {
    let emu = emulator();
    let (client, _rec, _) = logged_in(&emu, json!({}));
    let body_of_len = |len: usize| {
        let head = r#"{"access_token":"BIG","expires_in":3600,"pad":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    let exact = body_of_len(1 << 20);
    assert_eq!(exact.len(), 1 << 20);
    emu.script(Endpoint::Token, vec![Scripted::status(200).with_body(&exact)]);
    let r = refresh_result(&client);
    assert_ok(&r);
    assert_eq!(r["access_token"], "BIG");
    emu.script(Endpoint::Token, vec![Scripted::status(200).with_body(&body_of_len((1 << 20) + 1))]);
    assert_failed(&refresh_result(&client), "WXA_ERR_HTTP");
    assert_eq!(access_token_of(&client), "BIG");
}

#[test]
fn canceling_one_caller_of_a_shared_refresh_does_not_stop_the_others() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({}));
    emu.set_delay(Endpoint::Token, Duration::from_millis(500));
    let a = client.refresh().unwrap();
    let b = client.refresh().unwrap();
    client.cancel(a).unwrap();
    assert_failed(&wait_result(&client, a), "WXA_ERR_CANCELED");
    let r = wait_result(&client, b);
    assert_ok(&r);
    assert_ne!(r["access_token"], first["access_token"]);
    assert_eq!(token_requests(&emu, REFRESH).len(), 1);
    assert_eq!(access_token_of(&client), r["access_token"].as_str().unwrap());
}
