//! Server answers read as JSON: `token::{parse_token_response, parse_jwt_login_response,
//! parse_saved_token, parse_seconds}`, `device::parse_device_authorization`,
//! `oauth_error::parse_error_body`, and the supertoken's save/restore round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use webex_auth::protocol::device::{self, PollState};
use webex_auth::protocol::jwt;
use webex_auth::protocol::oauth_error;
use webex_auth::protocol::token::{self, Supertoken};

const NOW: i64 = 1_750_000_000_000;
const MAX_SECONDS: i64 = (1 << 31) - 1;

/// What every parsed token must satisfy, whichever parser made it.
fn check_token(t: &Supertoken, now: i64) {
    assert!(!t.access_token.expose().is_empty(), "token with an empty access_token");
    assert_eq!(t.obtained_at, now);
    if let Some(r) = &t.refresh_token {
        assert!(!r.expose().is_empty(), "empty refresh_token kept");
    }

    // Saved and restored at the same instant, the token is the same token.
    let fields = t.to_json_fields(now);
    if let Some(at) = t.expires_at {
        let expires_in = fields["expires_in"].as_i64().expect("expires_in is an integer");
        assert!(expires_in >= 0);
        assert_eq!(fields["expires_at"].as_i64(), Some(at));
    }
    let json = Value::Object(fields).to_string();
    let back = token::parse_saved_token(&json, now)
        .unwrap_or_else(|e| panic!("to_json_fields output {json:?} does not restore: {e}"));
    assert_eq!(back.expires_at, t.expires_at, "expires_at changed across save/restore");
    assert_eq!(&back, t, "token changed across save/restore");

    // Planning never panics and stays consistent.
    for before in [0, 1, 60_000, 300_000, i64::MAX] {
        let w = t.refresh_window_ms(before);
        assert!(w >= 0 && w <= before);
        match t.refresh_due_at(before) {
            Some(due) => assert!(before > 0 && Some(due) <= t.expires_at),
            None => assert!(before <= 0 || t.expires_at.is_none()),
        }
        let _ = t.is_fresh(now, 0, before);
        let _ = t.is_fresh(now, 30_000, before);
    }
    let _ = t.is_expired(now);
    let _ = t.can_refresh(now);
    let inherited = t.clone().inherit_refresh_token(t);
    assert_eq!(&inherited, t);
}

fn check_object(m: &Map<String, Value>) {
    for now in [NOW, 0] {
        for (name, parsed) in [
            ("parse_token_response", token::parse_token_response(m, now)),
            ("parse_jwt_login_response", token::parse_jwt_login_response(m, now)),
        ] {
            if let Ok(t) = parsed {
                if let Some(at) = t.expires_at {
                    assert!(at >= now, "{name}: expires_at {at} before now {now}");
                }
                if let Some(at) = t.refresh_token_expires_at {
                    assert!(at >= now, "{name}: refresh_token_expires_at {at} before now {now}");
                }
                check_token(&t, now);
            }
        }
    }

    if let Ok(d) = device::parse_device_authorization(m) {
        assert!(!d.device_code.expose().is_empty());
        assert!(!d.user_code.is_empty());
        assert!(!d.verification_uri.is_empty());
        assert!(!d.verification_uri_complete.is_empty());
        assert!((1..=MAX_SECONDS).contains(&d.interval_s), "interval_s {}", d.interval_s);
        assert!((0..=MAX_SECONDS).contains(&d.expires_in_s), "expires_in_s {}", d.expires_in_s);
        let st = PollState::new(d.interval_s);
        assert!((1000..=device::MAX_INTERVAL_MS).contains(&st.interval_ms));
    }

    for status in [200u16, 400, 401, 403, 428, 429, 500, 503, 0, u16::MAX] {
        if let Some(e) = oauth_error::parse_error_body(m, status) {
            assert_eq!(e.http_status, Some(status));
            if let Some(code) = &e.error {
                assert!(!code.is_empty());
            }
            assert!(e.error.is_some() || e.error_description.is_some(), "error body with neither error nor description");
            let _ = oauth_error::to_error("token endpoint", e);
        }
    }

    // The scalar readers, on every value.
    for v in m.values() {
        check_value(v);
    }
}

fn check_value(v: &Value) {
    if let Some(n) = token::parse_seconds(v) {
        assert!((0..=MAX_SECONDS).contains(&n), "parse_seconds gave {n}");
    }
    if let Ok(n) = jwt::parse_expires_in(v) {
        assert!(n > 0 && n <= jwt::MAX_EXPIRES_IN_S, "parse_expires_in gave {n}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    for now in [NOW, 0] {
        if let Ok(t) = token::parse_saved_token(text, now) {
            check_token(&t, now);
        }
    }

    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => check_object(&m),
        Ok(v) => check_value(&v),
        Err(_) => check_value(&Value::String(text.to_owned())),
    }
});
