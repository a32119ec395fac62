//! Guest-issuer JWTs against the emulator: create_jwt + login_with_jwt, rejected and
//! expired JWTs, interop with jsonwebtoken, and keeping guest sessions alive (re-signing
//! with a configured secret, or asking the app through `jwt:refresh`).

mod common;

use std::ffi::{CStr, CString, c_char};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use webex_auth::Status;
use webex_auth::ffi::*;

fn jwt_options(emu: &Emulator, extra: Value) -> Value {
    with(json!({"issuer": emu.guest_issuer(), "secret": emu.guest_secret_b64(), "expires_in": "1h"}), extra)
}

fn make_jwt(emu: &Emulator, extra: Value) -> String {
    webex_auth::create_jwt(&jwt_options(emu, extra).to_string()).expect("create_jwt")
}

fn claims_of(jwt: &str) -> Value {
    b64url_json(jwt.split('.').nth(1).expect("JWT payload"))
}

/// Verifies a JWT the way a third party would (jsonwebtoken), returning its claims.
fn verify_with_jsonwebtoken(jwt: &str, secret_b64: &str, issuer: &str) -> Value {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    let key = jsonwebtoken::DecodingKey::from_base64_secret(secret_b64).unwrap();
    jsonwebtoken::decode::<Value>(jwt, &key, &v).expect("jsonwebtoken verifies our JWT").claims
}

fn guest_config(emu: &Emulator, extra: Value) -> Value {
    with(confidential(emu), extra)
}

#[test]
fn login_with_a_created_jwt() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&guest_config(&emu, json!({})), &rec);
    let jwt = make_jwt(&emu, json!({"subject": "guest-42", "display_name": "Guest Forty-Two"}));
    let claims = verify_with_jsonwebtoken(&jwt, &emu.guest_secret_b64(), &emu.guest_issuer());
    assert_eq!(claims["sub"], "guest-42");
    assert_eq!(claims["name"], "Guest Forty-Two");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);

    let op = client.login_with_jwt(&jwt).unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    let access = r["access_token"].as_str().unwrap();
    assert!(emu.is_access_token_valid(access));
    assert_eq!(r["token_type"], "Bearer");
    assert!(r.get("refresh_token").is_none(), "guest tokens have no refresh token: {r}");
    let ttl = emu.config().guest_token_ttl_s as i64;
    assert!((r["expires_in"].as_i64().unwrap() - ttl).abs() <= 1, "{r}");
    let ev = rec.wait_for_op("token:refresh", op, LONG);
    assert_eq!(ev.payload["access_token"], json!(access));
    rec.done(op);
    assert_eq!(access_token_of(&client), access);

    let reqs = emu.requests(Endpoint::JwtLogin);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].header("authorization"), Some(jwt.as_str()), "the bare JWT, no scheme word");
    assert!(reqs[0].body.is_empty());
}

#[test]
fn default_subject_and_name() {
    let emu = emulator();
    let jwt = make_jwt(&emu, json!({"expires_in": 90}));
    let header = b64url_json(jwt.split('.').next().unwrap());
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
    let claims = verify_with_jsonwebtoken(&jwt, &emu.guest_secret_b64(), &emu.guest_issuer());
    let sub = claims["sub"].as_str().unwrap();
    let uuid = sub.strip_prefix("guest-user-").expect(sub);
    assert_eq!(uuid.len(), 36);
    assert_eq!(claims["name"], json!(format!("Guest User - {uuid}")));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 90);
}

#[test]
fn a_jwt_signed_with_a_wrong_secret_is_rejected() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&guest_config(&emu, json!({})), &rec);
    let wrong = base64::engine::general_purpose::STANDARD.encode("not-the-emulator-secret-0000000000");
    let jwt = make_jwt(&emu, json!({"secret": wrong}));
    let op = client.login_with_jwt(&jwt).unwrap();
    let r = wait_result(&client, op);
    // The emulator answers 401 in Webex's shape ({"message": a sentence, "trackingId"}):
    // no OAuth `error` code, so by docs/C-API.md this is an unexpected HTTP status.
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(r["http_status"], 401);
    assert!(r["tracking_id"].as_str().is_some_and(|t| t.starts_with("EMU_")), "{r}");
    assert!(r["error_description"].as_str().unwrap().contains("signature"), "{r}");
    rec.wait_for_op("auth:error", op, LONG);
    assert!(token_of(&client).is_none());
    assert_eq!(emu.requests(Endpoint::JwtLogin).len(), 1, "a 401 is not retried");
}

#[test]
fn an_expired_jwt_is_rejected() {
    let emu = emulator();
    let client = new_client(&guest_config(&emu, json!({})), &Recorder::new());
    let jwt = make_jwt(&emu, json!({"expires_in": 1}));
    let exp_ms = claims_of(&jwt)["exp"].as_i64().unwrap() * 1000;
    let wait = (exp_ms - now_ms() + 100).max(0) as u64;
    std::thread::sleep(Duration::from_millis(wait));
    let r = wait_result(&client, client.login_with_jwt(&jwt).unwrap());
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(r["http_status"], 401);
    assert!(r["error_description"].as_str().unwrap().contains("expired"), "{r}");
}

#[test]
fn a_jsonwebtoken_jwt_is_accepted_like_ours() {
    let emu = emulator();
    let client = new_client(&guest_config(&emu, json!({})), &Recorder::new());
    let now = now_ms() / 1000;
    let claims = json!({"sub": "jwt-lib-user", "name": "From jsonwebtoken", "iss": emu.guest_issuer(),
                        "iat": now, "exp": now + 600});
    let key = jsonwebtoken::EncodingKey::from_base64_secret(&emu.guest_secret_b64()).unwrap();
    let theirs =
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap();
    assert_ok(&wait_result(&client, client.login_with_jwt(&theirs).unwrap()));
    // Same inputs through create_jwt: the same header and claims.
    let ours =
        make_jwt(&emu, json!({"subject": "jwt-lib-user", "display_name": "From jsonwebtoken", "expires_in": 600}));
    // Same header (Rust's jsonwebtoken orders the keys differently from node's; ours is
    // node's byte for byte, checked in default_subject_and_name).
    assert_eq!(b64url_json(ours.split('.').next().unwrap()), b64url_json(theirs.split('.').next().unwrap()));
    let c = claims_of(&ours);
    for k in ["sub", "name", "iss"] {
        assert_eq!(c[k], claims[k], "{k}");
    }
    assert_ok(&wait_result(&client, client.login_with_jwt(&ours).unwrap()));
}

#[test]
fn bad_jwt_arguments_are_refused() {
    let emu = emulator();
    let client = new_client(&guest_config(&emu, json!({})), &Recorder::new());
    for bad in ["", "a.b", "a.b.c.d", "has space.b.c"] {
        assert_eq!(client.login_with_jwt(bad).unwrap_err().status(), Status::InvalidArgument, "{bad:?}");
    }
    assert!(emu.requests(Endpoint::JwtLogin).is_empty());
    let base = jwt_options(&emu, json!({}));
    for (extra, field) in [
        (json!({"issuer": null}), "issuer"),
        (json!({"secret": null}), "secret"),
        (json!({"secret": "***not base64***"}), "secret"),
        (json!({"expires_in": null}), "expires_in"),
        (json!({"expires_in": "30"}), "expires_in"),
        (json!({"expires_in": 0}), "expires_in"),
        (json!({"expires_in": -5}), "expires_in"),
        (json!({"expires_in": "100y"}), "expires_in"),
        (json!({"display_name": 5}), "display_name"),
    ] {
        let opts = with(base.clone(), extra.clone());
        let e = webex_auth::create_jwt(&opts.to_string()).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{extra}");
        assert!(e.message().contains(field), "{extra}: message {:?} does not name {field}", e.message());
        // The secret never shows in the message.
        assert!(!e.message().contains(&emu.guest_secret_b64()), "{}", e.message());
    }
    // Through the C ABI: same checks, out-param untouched.
    let opts = CString::new(with(base.clone(), json!({"secret": "%%%"})).to_string()).unwrap();
    let sentinel = 0x40 as *mut c_char;
    let mut out = sentinel;
    assert_eq!(wxa_create_jwt(opts.as_ptr(), &mut out), WXA_ERR_INVALID_ARGUMENT);
    assert_eq!(out, sentinel);
    assert!(unsafe { CStr::from_ptr(wxa_last_error()) }.to_str().unwrap().contains("secret"));
    assert_eq!(wxa_create_jwt(std::ptr::null(), &mut out), WXA_ERR_INVALID_ARGUMENT);
    let opts = CString::new(base.to_string()).unwrap();
    assert_eq!(wxa_create_jwt(opts.as_ptr(), std::ptr::null_mut()), WXA_ERR_INVALID_ARGUMENT);
    assert_eq!(wxa_create_jwt(opts.as_ptr(), &mut out), WXA_OK);
    let jwt = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
    wxa_string_free(out);
    verify_with_jsonwebtoken(&jwt, &emu.guest_secret_b64(), &emu.guest_issuer());
}

#[test]
fn guest_session_kept_alive_by_re_signing() {
    let emu = emulator();
    // 32 s guest tokens (the shortest lifetime that gets a proactive renewal is 30 s): the
    // window (300 s) is capped at half the lifetime: renewal 16 s after login.
    emu.update_config(|c| c.guest_token_ttl_s = 32);
    let rec = Recorder::new();
    let cfg = guest_config(
        &emu,
        json!({"guest_issuer": emu.guest_issuer(), "guest_secret": emu.guest_secret_b64(),
               "guest_subject": "kiosk-7", "guest_display_name": "Lobby Kiosk"}),
    );
    let client = new_client(&cfg, &rec);
    let first = wait_result(&client, client.login_with_jwt(&make_jwt(&emu, json!({}))).unwrap());
    assert_ok(&first);
    let t0 = Instant::now();
    let ev = rec.wait_for_op("token:refresh", 0, Duration::from_secs(25));
    let after = ev.at - t0;
    assert!(
        after >= Duration::from_millis(15_000) && after <= Duration::from_millis(19_000),
        "renewed after {after:?}"
    );
    assert_ne!(ev.payload["access_token"], first["access_token"]);
    assert!(emu.is_access_token_valid(ev.payload["access_token"].as_str().unwrap()));
    let reqs = emu.requests(Endpoint::JwtLogin);
    assert!(reqs.len() >= 2, "{} jwt logins", reqs.len());
    let resigned = reqs[1].header("authorization").unwrap();
    let claims = verify_with_jsonwebtoken(resigned, &emu.guest_secret_b64(), &emu.guest_issuer());
    assert_eq!(claims["sub"], "kiosk-7");
    assert_eq!(claims["name"], "Lobby Kiosk");
    assert_eq!(rec.count("jwt:refresh"), 0, "the engine signs by itself");
    assert!(emu.requests(Endpoint::Token).is_empty(), "no refresh-token grant for a guest");
    client.close();
}

#[test]
fn guest_session_without_secret_asks_the_app_with_jwt_refresh() {
    let emu = emulator();
    emu.update_config(|c| c.guest_token_ttl_s = 32);
    let rec = Recorder::new();
    let client = new_client(&guest_config(&emu, json!({})), &rec);
    let first = wait_result(&client, client.login_with_jwt(&make_jwt(&emu, json!({}))).unwrap());
    assert_ok(&first);
    let expires_at = first["expires_at"].as_i64().unwrap();
    let ev = rec.wait_for_op("jwt:refresh", 0, Duration::from_secs(25));
    assert_eq!(ev.payload["expires_at"], expires_at);
    assert!(now_ms() < expires_at, "jwt:refresh came after expiry");
    assert_eq!(emu.requests(Endpoint::JwtLogin).len(), 1, "the engine cannot sign without the secret");
    // The app answers with a fresh JWT.
    let op = client.login_with_jwt(&make_jwt(&emu, json!({}))).unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_ne!(r["access_token"], first["access_token"]);
    rec.wait_for_op("token:refresh", op, LONG);
    client.close();
}

#[test]
fn wxa_refresh_on_a_guest_session_re_signs() {
    let emu = emulator();
    let cfg = guest_config(&emu, json!({"guest_issuer": emu.guest_issuer(), "guest_secret": emu.guest_secret_b64()}));
    let cfg = CString::new(cfg.to_string()).unwrap();
    let mut c: *mut wxa_client = std::ptr::null_mut();
    assert_eq!(wxa_init(cfg.as_ptr(), None, std::ptr::null_mut(), &mut c), WXA_OK);
    let jwt = CString::new(make_jwt(&emu, json!({}))).unwrap();
    let mut op: wxa_op = 0;
    assert_eq!(wxa_login_with_jwt(c, jwt.as_ptr(), &mut op), WXA_OK);
    let result = |op: wxa_op| -> Value {
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(wxa_wait(c, op, 20_000, &mut out), WXA_OK);
        let v = serde_json::from_str(unsafe { CStr::from_ptr(out) }.to_str().unwrap()).unwrap();
        wxa_string_free(out);
        v
    };
    let first = result(op);
    assert_ok(&first);
    emu.clear_requests();

    assert_eq!(wxa_refresh(c, &mut op), WXA_OK);
    let second = result(op);
    assert_ok(&second);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(emu.requests(Endpoint::JwtLogin).len(), 1, "re-signed and re-exchanged");
    assert!(emu.requests(Endpoint::Token).is_empty(), "no refresh token needed");

    // get_valid_token asking for more than the guest token's life takes the same path.
    assert_eq!(wxa_get_valid_token(c, 7200, &mut op), WXA_OK);
    let third = result(op);
    assert_ok(&third);
    assert_ne!(third["access_token"], second["access_token"]);
    assert_eq!(emu.requests(Endpoint::JwtLogin).len(), 2);
    wxa_free(c);
}

#[test]
fn refresh_on_a_guest_session_without_secret_waits_for_the_apps_jwt() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&guest_config(&emu, json!({"timeout_ms": 3000})), &rec);
    let first = wait_result(&client, client.login_with_jwt(&make_jwt(&emu, json!({}))).unwrap());
    assert_ok(&first);

    // The app answers jwt:refresh with login_with_jwt: the refresh ends with that token.
    let op = client.refresh().unwrap();
    let ev = rec.wait_for_op("jwt:refresh", op, LONG);
    assert!(ev.payload["expires_at"].is_i64());
    let login = client.login_with_jwt(&make_jwt(&emu, json!({}))).unwrap();
    let fresh = wait_result(&client, login);
    assert_ok(&fresh);
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_eq!(r["access_token"], fresh["access_token"]);

    // Nobody answers: the refresh fails after the deadline and the token stays.
    let op = client.refresh().unwrap();
    rec.wait_for_op("jwt:refresh", op, LONG);
    let t0 = Instant::now();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_NOT_AUTHORIZED");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(access_token_of(&client), fresh["access_token"].as_str().unwrap());
}
