//! Server answers read as JSON: `token::{parse_token_response, parse_jwt_login_response,
//! parse_saved_token, parse_seconds}`, `device::parse_device_authorization`,
//! `oauth_error::parse_error_body`, `device::check_verification_uris`, the supertoken's
//! save/restore round trip and its refresh planning (`proactive_refresh_at`,
//! `keepalive_due_at`, `inherit_refresh_token`).
#![no_main]

#[path = "common/messages.rs"]
mod messages;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use webex_auth::protocol::device::{self, PollState};
use webex_auth::protocol::jwt;
use webex_auth::protocol::oauth_error;
use webex_auth::protocol::token::{self, KEEPALIVE_FLOOR_MS, PROACTIVE_FLOOR_MS, Supertoken};

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
    // The previous refresh is a past (or just now) clock reading, as the engine gives it.
    let lasts = [None, Some(now), Some(now - 10_000), Some(now - 3_600_000)];
    for before in [0, 1, 60_000, 300_000, i64::MAX] {
        let w = t.refresh_window_ms(before);
        assert!(w >= 0 && w <= before.max(0));
        for last in lasts {
            check_proactive(t, before, last);
            check_keepalive(t, before, last);
        }
        let _ = t.is_fresh(now, 0, before);
        let _ = t.is_fresh(now, 30_000, before);
    }
    let _ = t.is_expired(now);
    let _ = t.can_refresh(now);
    check_inherit(t);
}

/// `proactive_refresh_at`: none for a token without a lifetime, a window <= 0, or a
/// lifetime under the 30 s floor; otherwise the start of the window, moved to at least
/// 30 s after the previous proactive refresh.
fn check_proactive(t: &Supertoken, before: i64, last: Option<i64>) {
    let due = t.proactive_refresh_at(before, last);
    let Some(at) = t.expires_at else {
        assert_eq!(due, None, "proactive refresh planned for a token without a lifetime");
        return;
    };
    let lifetime = at - t.obtained_at;
    if before <= 0 || lifetime < PROACTIVE_FLOOR_MS {
        assert_eq!(due, None, "proactive refresh for lifetime {lifetime} ms, window {before}");
        return;
    }
    let due = due.unwrap_or_else(|| panic!("no proactive refresh for lifetime {lifetime} ms, window {before}"));
    let start = at - t.refresh_window_ms(before);
    assert!(start <= at && start >= t.obtained_at + lifetime / 2 - 1, "window start {start} for {t:?}");
    match last {
        None => assert_eq!(due, start),
        Some(last) => {
            assert!(due >= last + PROACTIVE_FLOOR_MS, "proactive refresh {due} sooner than 30 s after {last}");
            assert_eq!(due, start.max(last + PROACTIVE_FLOOR_MS));
        }
    }
}

/// `keepalive_due_at`: only with a refresh token whose expiry is known, `keepalive`
/// before it, and never sooner than an hour after the previous keep-alive.
fn check_keepalive(t: &Supertoken, keepalive: i64, last: Option<i64>) {
    let due = t.keepalive_due_at(keepalive, last);
    let (Some(_), Some(rt_at)) = (&t.refresh_token, t.refresh_token_expires_at) else {
        assert_eq!(due, None, "keep-alive planned without a refresh token expiry");
        return;
    };
    if keepalive <= 0 {
        assert_eq!(due, None);
        return;
    }
    let due = due.expect("no keep-alive for a refresh token with an expiry");
    match last {
        None => assert_eq!(due, rt_at - keepalive),
        Some(last) => {
            assert!(due >= last + KEEPALIVE_FLOOR_MS, "keep-alive {due} sooner than an hour after {last}");
            assert_eq!(due, (rt_at - keepalive).max(last + KEEPALIVE_FLOOR_MS));
        }
    }
}

/// A refresh answer without a refresh token keeps the old one; its own
/// `refresh_token_expires_at` (a new `refresh_token_expires_in`) still wins.
fn check_inherit(t: &Supertoken) {
    assert_eq!(&t.clone().inherit_refresh_token(t), t);
    let mut bare = t.clone();
    bare.refresh_token = None;
    bare.refresh_token_expires_at = None;
    assert_eq!(&bare.clone().inherit_refresh_token(t), t, "nothing new: everything of the old refresh token stays");
    let mut moved = bare.clone();
    moved.refresh_token_expires_at = Some(t.obtained_at + 7_776_000_000);
    let got = moved.clone().inherit_refresh_token(t);
    assert_eq!(got.refresh_token, t.refresh_token);
    assert_eq!(got.refresh_token_expires_at, moved.refresh_token_expires_at, "a new refresh-token expiry is kept");
    // A new refresh token is never replaced by the old one.
    let mut fresh = bare;
    fresh.refresh_token = Some(webex_auth::Secret::new("rt-new".to_owned()));
    let got = fresh.clone().inherit_refresh_token(t);
    assert_eq!(got, fresh);
}

/// https with a host, or http to 127.0.0.0/8, ::1 or localhost.
fn uri_ok(raw: &str) -> bool {
    let Ok(u) = url::Url::parse(raw) else { return false };
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.octets()[0] == 127,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    };
    match u.scheme() {
        "https" => u.host().is_some(),
        "http" => loopback,
        _ => false,
    }
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
        assert!((0..=device::MAX_EXPIRES_IN_S).contains(&d.expires_in_s), "expires_in_s {}", d.expires_in_s);
        let st = PollState::new(d.interval_s);
        assert!((1000..=device::MAX_INTERVAL_MS).contains(&st.interval_ms));
        let both_ok = uri_ok(&d.verification_uri) && uri_ok(&d.verification_uri_complete);
        match device::check_verification_uris(&d) {
            Ok(()) => assert!(both_ok, "accepted {:?} / {:?}", d.verification_uri, d.verification_uri_complete),
            Err(e) => {
                assert!(!both_ok, "refused {:?} / {:?}", d.verification_uri, d.verification_uri_complete);
                assert_eq!(e.status(), webex_auth::Status::Http);
                let wording: Vec<String> = ["verification_uri", "verification_uri_complete"]
                    .iter()
                    .map(|k| format!("malformed device authorization response: `{k}` is not an https URL"))
                    .collect();
                for u in [&d.verification_uri, &d.verification_uri_complete] {
                    messages::assert_not_repeated(e.message(), u, &wording);
                }
            }
        }
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
        match token::parse_saved_token(text, now) {
            Ok(t) => {
                check_token(&t, now);
                // Strict: exactly one JSON object, nothing after it.
                assert!(
                    matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_))),
                    "parse_saved_token accepted {text:?}, which is not one JSON object"
                );
                for junk in ["x", "{}", ",", "]"] {
                    assert!(token::parse_saved_token(&format!("{text}{junk}"), now).is_err(), "{text:?} + {junk:?}");
                }
            }
            Err(e) => messages::assert_no_value_in_message(e.message(), text, &[]),
        }
    }

    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => check_object(&m),
        Ok(v) => check_value(&v),
        Err(_) => check_value(&Value::String(text.to_owned())),
    }
});
