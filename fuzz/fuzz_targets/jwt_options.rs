//! Guest-issuer JWTs: `jwt::{parse_options, parse_expires_in, decode_secret}` and
//! `webex_auth::create_jwt`.
//!
//! Input: a UTF-8 string, used as the options JSON as is. When it does not start with
//! `{`, it is also split on `\x01` into issuer, secret, expires_in (a string, or a number
//! when it parses as one), subject and display name, which are put into an options
//! object, so the fuzzer reaches the signing path without inventing JSON and base64.
//!
//! Invariants: nothing panics; `create_jwt` succeeds exactly when `parse_options` does;
//! a JWT has three base64url parts, its header decodes to exactly
//! `{"alg":"HS256","typ":"JWT"}`, its claims carry the issuer and lifetime asked for,
//! and its signature is the HMAC-SHA256 of the first two parts under the decoded secret.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use sha2::Sha256;
use webex_auth::protocol::jwt;

const HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;

/// Splits a JWT and checks its shape; returns the claims.
fn check_shape(token: &str) -> Map<String, Value> {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT {token:?} does not have three parts");
    for p in &parts {
        assert!(
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "JWT part {p:?} is not unpadded base64url"
        );
    }
    let header = URL_SAFE_NO_PAD.decode(parts[0]).expect("header is base64url");
    assert_eq!(header, HEADER, "JWT header is {:?}", String::from_utf8_lossy(&header));
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature is base64url");
    assert_eq!(sig.len(), 32, "HS256 signature is 32 bytes");
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("payload is base64url");
    match serde_json::from_slice::<Value>(&payload).expect("payload is JSON") {
        Value::Object(m) => m,
        other => panic!("payload is not an object: {other}"),
    }
}

fn check(options: &str) {
    let parsed = jwt::parse_options(options);
    let created = webex_auth::create_jwt(options);
    assert_eq!(parsed.is_ok(), created.is_ok(), "parse_options and create_jwt disagree on {options:?}");
    let Ok((identity, expires_in)) = parsed else { return };
    assert!(expires_in > 0 && expires_in <= jwt::MAX_EXPIRES_IN_S, "expires_in {expires_in}");
    assert!(!identity.issuer.trim().is_empty());
    assert!(!identity.secret_key.is_empty());

    // A token signed at a fixed time: every claim and the signature are checked.
    let now_s = 1_750_000_000;
    let token = identity.sign(now_s, expires_in, "00000000-0000-4000-8000-000000000000").expect("sign");
    let claims = check_shape(&token);
    let keys: Vec<&str> = claims.keys().map(String::as_str).collect();
    assert_eq!(keys, ["sub", "name", "iss", "iat", "exp"]);
    assert_eq!(claims["iss"].as_str(), Some(identity.issuer.as_str()));
    assert_eq!(claims["iat"].as_i64(), Some(now_s));
    assert_eq!(claims["exp"].as_i64(), Some(now_s + expires_in));
    if let Some(s) = &identity.subject {
        assert_eq!(claims["sub"].as_str(), Some(s.as_str()));
    }
    if let Some(n) = &identity.display_name {
        assert_eq!(claims["name"].as_str(), Some(n.as_str()));
    }
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&identity.secret_key).unwrap();
    mac.update(signed.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).expect("signature does not verify");

    // create_jwt: same shape, same issuer, the same lifetime.
    let claims = check_shape(&created.unwrap());
    assert_eq!(claims["iss"].as_str(), Some(identity.issuer.as_str()));
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, expires_in);
}

fn structured(text: &str) -> String {
    let mut parts = text.split('\x01');
    let mut m = Map::new();
    for key in ["issuer", "secret", "expires_in", "subject", "display_name"] {
        let Some(p) = parts.next() else { break };
        let v = if key == "expires_in" {
            p.parse::<i64>().map(Value::from).or_else(|_| p.parse::<f64>().map(Value::from)).unwrap_or_else(|_| p.into())
        } else {
            Value::from(p)
        };
        m.insert(key.into(), v);
    }
    Value::Object(m).to_string()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    if let Ok(k) = jwt::decode_secret(text) {
        assert!(!k.is_empty());
    }
    if let Ok(n) = jwt::parse_expires_in(&Value::String(text.to_owned())) {
        assert!(n > 0 && n <= jwt::MAX_EXPIRES_IN_S, "parse_expires_in({text:?}) gave {n}");
    }

    check(text);
    if !text.trim_start().starts_with('{') {
        check(&structured(text));
    }
});
