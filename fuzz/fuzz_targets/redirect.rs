//! The redirect that ends an authorization request: `redirect::{parse, sanitize,
//! org_id_of_code}`, `state::{decode_state, encode_state, parse_redirect_state}`,
//! `PendingLogins`, `LoginOptions::from_json` and `uri::{is_loopback,
//! is_secure_or_loopback}`.
//!
//! Input: a UTF-8 string. When it holds a `\x01`, the part after it is base64url-encoded
//! and appended to the part before it as a `state` parameter, so the fuzzer reaches
//! states that decode without having to invent base64 of JSON by itself.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use url::Url;
use webex_auth::protocol::authorize::LoginOptions;
use webex_auth::protocol::redirect;
use webex_auth::protocol::state::{self, PendingLogin, PendingLogins};
use webex_auth::protocol::uri;
use zeroize::Zeroizing;

/// The query parameters that carry a credential: `sanitize` must drop every one of them.
const CREDENTIAL_PARAMS: &[&str] =
    &["code", "access_token", "refresh_token", "id_token", "token", "client_secret", "code_verifier"];

const NOW: i64 = 1_750_000_000_000;

/// Floats compare exactly: the library enables `serde_json/float_roundtrip` (finding
/// F1 in README.md). FUZZ_LOOSE_FLOATS allows a few ULP, for bisecting old builds.
fn strict_floats() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("FUZZ_LOOSE_FLOATS").is_none())
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !strict_floats() && (x.is_f64() || y.is_f64()) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (Value::Object(x), Value::Object(y)) => same_map(x, y),
        _ => a == b,
    }
}

fn same_map(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}

fn check_state_round_trip(m: &Map<String, Value>) {
    let enc = state::encode_state(m);
    assert!(
        enc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "encode_state must be unpadded base64url: {enc:?}"
    );
    let back = state::decode_state(&enc).expect("encode_state output must decode");
    assert!(same_map(&back, m), "decode_state(encode_state(m)) != m:\n  {m:?}\n  {back:?}");
}

fn check_decoded_state(raw: &str) {
    if let Some(m) = state::decode_state(raw) {
        check_state_round_trip(&m);
    }
    match state::parse_redirect_state(Some(raw)) {
        Ok(d) => {
            assert!(!d.csrf_token.is_empty());
            assert!(!d.app_state.contains_key(state::CSRF_KEY));
            assert!(!d.app_state.contains_key(state::EMAIL_HASH_KEY));
            let full = state::decode_state(raw).expect("parse_redirect_state accepted what decode_state refuses");
            assert_eq!(full.get(state::CSRF_KEY), Some(&Value::String(d.csrf_token.to_string())));
            assert_eq!(d.had_email_hash, full.contains_key(state::EMAIL_HASH_KEY));
            assert_eq!(d.app_state.len() + 1 + d.had_email_hash as usize, full.len());
            check_state_round_trip(&d.app_state);

            // The pending-login table finds exactly this token, and only until it expires.
            let mut table = PendingLogins::default();
            let login = |csrf: &str, expires_at: i64| PendingLogin {
                csrf_token: Zeroizing::new(csrf.to_owned()),
                code_verifier: Zeroizing::new("v".repeat(43)),
                app_state: d.app_state.clone(),
                redirect_uri: "https://app.example.com/cb".into(),
                nonce: None,
                created_at: NOW,
                expires_at,
            };
            let max = state::DEFAULT_MAX_PENDING_LOGINS;
            table.insert(login("0123456789abcdef0123456789abcdef", NOW + 600_000), NOW, max);
            table.insert(login(&d.csrf_token, NOW + 600_000), NOW, max);
            let i = table.find(&d.csrf_token, NOW).expect("a pending login for this csrf token");
            assert!(table.find(&d.csrf_token, NOW + 600_000).is_err(), "expired logins must not match");
            let removed = table.remove(i).expect("find gave an index that remove does not have");
            assert_eq!(removed.csrf_token.as_str(), d.csrf_token.as_str());
            assert!(removed.matches(&d.csrf_token, NOW).is_ok());
            assert!(table.remove(i + 1).is_none(), "remove past the end must give None");
        }
        Err(_) => {}
    }
}

fn first_pair(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// The query pairs other than the credentials and `state`, in order.
fn other_pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .filter(|(k, _)| k != "state" && !CREDENTIAL_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn check_redirect(input: &str) {
    let Ok((url, r)) = redirect::parse(input) else { return };
    check_uri_rules(&url);
    // The first occurrence of each parameter wins.
    assert_eq!(r.code, first_pair(&url, "code"));
    assert_eq!(r.state, first_pair(&url, "state"));
    assert_eq!(r.error, first_pair(&url, "error"));
    assert_eq!(r.error_description, first_pair(&url, "error_description"));
    assert_eq!(r.iss, first_pair(&url, "iss"));
    if let Some(code) = &r.code {
        if let Some(org) = redirect::org_id_of_code(code) {
            assert!(!org.is_empty() && !org.contains('_'));
        }
    }

    let decoded = state::parse_redirect_state(r.state.as_deref()).ok();
    let app = decoded.as_ref().map(|d| &d.app_state);
    for app_state in [app, None] {
        let clean = redirect::sanitize(&url, app_state);
        let re = Url::parse(&clean).unwrap_or_else(|e| panic!("sanitize gave {clean:?}, which does not parse: {e}"));
        assert!(
            re.query_pairs().all(|(k, _)| !CREDENTIAL_PARAMS.contains(&k.as_ref())),
            "sanitize left a credential parameter in {clean:?}"
        );
        assert!(re.fragment().is_none() && !clean.contains('#'), "sanitize left a fragment in {clean:?}");
        assert!(re.username().is_empty() && re.password().is_none(), "sanitize left user info in {clean:?}");
        // Nothing but the query, the fragment and user info changes (where the url crate
        // round-trips at all, finding F2). An opaque path (`mailto:x `) loses its trailing
        // spaces with its query and fragment: the WHATWG URL standard says so.
        if Url::parse(url.as_str()).as_ref() == Ok(&url) {
            let path = |u: &Url| if u.cannot_be_a_base() { u.path().trim_end_matches(' ').to_owned() } else { u.path().to_owned() };
            assert_eq!(
                (re.scheme(), re.host(), re.port(), path(&re)),
                (url.scheme(), url.host(), url.port(), path(&url)),
                "sanitize changed more than the query, fragment and user info: {clean:?}"
            );
        }
        // Every other parameter stays, in order.
        assert_eq!(other_pairs(&re), other_pairs(&url), "sanitize changed other parameters: {clean:?}");
        // `state` stays only when the app has fields of its own, and then carries only those.
        let keep_state = r.state.is_some() && app_state.is_some_and(|m| !m.is_empty());
        let states: Vec<_> = re.query_pairs().filter(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).collect();
        assert_eq!(!states.is_empty(), keep_state, "state presence wrong in {clean:?}");
        for s in &states {
            let m = state::decode_state(s).expect("sanitized state must decode");
            assert!(!m.contains_key(state::CSRF_KEY) && !m.contains_key(state::EMAIL_HASH_KEY));
            assert!(same_map(&m, app_state.unwrap()), "sanitized state {m:?} is not the app's {app_state:?}");
        }
        // Sanitizing is idempotent, wherever the url crate's own parse/serialize is: it is
        // not for some file: URLs with a Windows drive letter, e.g. "file://h//p:/" ->
        // "file://h/p:/" -> "file:///p:/" (finding F2 in README.md, not this crate's).
        if re.as_str() == clean {
            let (re_url, _) = redirect::parse(&clean).expect("sanitized URL must parse");
            assert_eq!(redirect::sanitize(&re_url, app_state), clean, "sanitize is not idempotent");
        }
    }
}

/// `uri::is_loopback` and `uri::is_secure_or_loopback` against the rule written out:
/// 127.0.0.0/8, ::1 or `localhost`; https with a host, or http to a loopback host.
fn check_uri_rules(url: &Url) {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.octets()[0] == 127,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    };
    assert_eq!(uri::is_loopback(url), loopback, "is_loopback({url})");
    let secure = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback,
        _ => false,
    };
    assert_eq!(uri::is_secure_or_loopback(url), secure, "is_secure_or_loopback({url})");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    let _ = LoginOptions::from_json(text).map(|o| {
        // Strict: no options, or exactly one JSON value with nothing after it.
        assert!(
            text.trim().is_empty() || serde_json::from_str::<Value>(text).is_ok(),
            "login options {text:?} accepted with text after the JSON value"
        );
        if let Some(s) = &o.state {
            assert!(!s.contains_key(state::CSRF_KEY) && !s.contains_key(state::EMAIL_HASH_KEY));
        }
        // docs/C-API.md: no options, or an object. Finding F5 (README.md): serde's derive
        // also reads an array, in field order; checked only with FUZZ_KNOWN_BUGS set.
        if std::env::var_os("FUZZ_KNOWN_BUGS").is_some() {
            assert!(
                text.trim().is_empty() || matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_))),
                "login options {text:?} are not an object, and were accepted"
            );
        }
    });
    if let Some(org) = redirect::org_id_of_code(text) {
        assert!(!org.is_empty() && !org.contains('_'));
    }

    match text.split_once('\x01') {
        Some((url_part, state_json)) => {
            let st = URL_SAFE_NO_PAD.encode(state_json);
            check_decoded_state(&st);
            let sep = if url_part.contains('?') { '&' } else { '?' };
            check_redirect(&format!("{url_part}{sep}state={st}"));
        }
        None => {
            check_decoded_state(text);
            check_redirect(text);
        }
    }
});
