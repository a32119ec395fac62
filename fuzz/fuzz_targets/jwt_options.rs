//! Guest-issuer JWTs: `jwt::{create, sign_parts, parse_expires_in, decode_secret}`,
//! `GuestIdentity::{new, sign}` and `webex_auth::create_jwt`.
//!
//! Input: a UTF-8 string, used as the options JSON as is. When it does not start with
//! `{`, it is also split on `\x01` into issuer, secret, expires_in (a string, or a number
//! when it parses as one), subject and display name, which are put into an options
//! object, so the fuzzer reaches the signing path without inventing JSON and base64.
//!
//! Invariants: nothing panics; `jwt::create` succeeds exactly when the options, read
//! here on their own (`reference`), are valid: known keys (and the SDK's aliases) at
//! most once each, a non-blank issuer, a secret that decodes to at least 32 bytes
//! (RFC 7518 §3.2), a lifetime in (0, 1 year], a subject and display name that are not
//! blank when given; `create_jwt` agrees; the token is byte-identical to what
//! `GuestIdentity::sign` makes of the same options; a JWT has three base64url parts, its
//! header decodes to exactly `{"alg":"HS256","typ":"JWT"}`, its claims carry the issuer,
//! lifetime, subject and name asked for (the UUID is asked for only when one is missing),
//! and its signature is the HMAC-SHA256 of the first two parts under the decoded secret.
//! An error message never repeats the secret.
#![no_main]

#[path = "common/messages.rs"]
mod messages;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use sha2::Sha256;
use std::cell::Cell;
use webex_auth::protocol::jwt;

const HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;
const NOW_S: i64 = 1_750_000_000;
const UUID: &str = "00000000-0000-4000-8000-000000000000";

/// The secret decoded independently: standard or URL-safe alphabet, padding optional,
/// at least 32 bytes. (A string is in at most one alphabet unless it is in both, and
/// then both decode it the same.)
fn reference_secret(secret: &str) -> Option<Vec<u8>> {
    let lenient = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    [&base64::alphabet::STANDARD, &base64::alphabet::URL_SAFE]
        .iter()
        .find_map(|a| GeneralPurpose::new(a, lenient).decode(secret.trim()).ok())
        .filter(|k| k.len() >= jwt::MIN_HS256_KEY_BYTES)
}

/// The options as `wxa_create_jwt` documents them, read without the library's types.
struct Reference {
    issuer: String,
    key: Vec<u8>,
    subject: Option<String>,
    display_name: Option<String>,
    expires_in: i64,
}

/// The object's entries in document order, duplicates kept (a `Value` would keep only
/// the last, and serde's derive refuses a field given twice).
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = m.next_entry::<String, Value>()? {
                    v.push(e);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Finding F5 (README.md): serde's derive also reads a struct from a JSON array, its
/// fields in declaration order, so the library accepts
/// `["issuer", "secret", "subject", "display_name", expires_in]` although docs/C-API.md
/// asks for an object. Tolerated here unless FUZZ_KNOWN_BUGS is set.
fn arrays_tolerated() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("FUZZ_KNOWN_BUGS").is_none())
}

fn reference(options: &str) -> Option<Reference> {
    let mut fields: [Option<Value>; 5] = Default::default();
    if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(options) {
        if !arrays_tolerated() || a.len() != 5 {
            return None;
        }
        // Declaration order: issuer, secret, subject, display_name, expires_in.
        for (slot, v) in [0, 1, 2, 3, 4].into_iter().zip(a) {
            fields[slot] = Some(v);
        }
        return reference_fields(fields);
    }
    let Entries(entries) = serde_json::from_str(options).ok()?;
    for (k, v) in entries {
        let slot = match k.as_str() {
            "issuer" => 0,
            "secret" | "secretId" => 1,
            "subject" | "sub" => 2,
            "display_name" | "displayName" | "name" => 3,
            "expires_in" | "expiresIn" => 4,
            _ => return None, // unknown field
        };
        if fields[slot].is_some() {
            return None; // duplicate field, whichever spelling
        }
        fields[slot] = Some(v);
    }
    reference_fields(fields)
}

fn reference_fields(fields: [Option<Value>; 5]) -> Option<Reference> {
    // `null` is the same as absent; any other non-string is a type error.
    let text = |v: &Option<Value>| -> Result<Option<String>, ()> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(()),
        }
    };
    let [issuer, secret, subject, display_name, expires_in] = &fields;
    let (issuer, secret, subject, display_name) =
        (text(issuer).ok()?, text(secret).ok()?, text(subject).ok()?, text(display_name).ok()?);
    let expires_in = match expires_in {
        None | Some(Value::Null) => return None,
        Some(v) => jwt::parse_expires_in(v).ok()?,
    };
    let issuer = issuer.filter(|s| !s.trim().is_empty())?;
    let key = reference_secret(&secret?)?;
    if subject.as_ref().is_some_and(|s| s.trim().is_empty()) || display_name.as_ref().is_some_and(|s| s.trim().is_empty())
    {
        return None;
    }
    Some(Reference { issuer, key, subject, display_name, expires_in })
}

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
    let expected = reference(options);
    let uuid_calls = Cell::new(0);
    let created = jwt::create(options, NOW_S, || {
        uuid_calls.set(uuid_calls.get() + 1);
        UUID.to_owned()
    });
    let now_created = webex_auth::create_jwt(options);
    assert_eq!(created.is_ok(), now_created.is_ok(), "jwt::create and create_jwt disagree on {options:?}");
    let r = match (&created, expected) {
        (Err(e), None) => {
            // The message names what is wrong, never the secret itself.
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(options) {
                for k in ["secret", "secretId"] {
                    if let Some(Value::String(s)) = m.get(k) {
                        // The rest of the options, as written, as JSON and as Rust's Debug
                        // quotes them (`expires_in "90 fortnights" ...`).
                        let mut others: Vec<String> = Vec::new();
                        for (k2, v) in m.iter().filter(|(k2, _)| k2.as_str() != k) {
                            others.extend([k2.clone(), v.to_string()]);
                            if let Value::String(t) = v {
                                others.extend([format!("{t:?}"), t.clone()]);
                            }
                            // What the library says about the lifetime quotes numbers it
                            // computed ("`expires_in` of 9223372036854775807 s").
                            if let Err(e) = jwt::parse_expires_in(v) {
                                others.push(e.message().to_owned());
                            }
                        }
                        messages::assert_not_repeated(e.message(), s, &others);
                    }
                }
            }
            return;
        }
        (Ok(_), Some(r)) => r,
        (Ok(_), None) => panic!("jwt::create accepted options the rules refuse: {options:?}"),
        (Err(e), Some(_)) => panic!("jwt::create refused valid options {options:?}: {}", e.message()),
    };
    let token = created.unwrap();
    let missing = r.subject.is_none() || r.display_name.is_none();
    assert_eq!(uuid_calls.get(), missing as usize, "the UUID is made once, and only when a name is missing");

    let claims = check_shape(&token);
    let keys: Vec<&str> = claims.keys().map(String::as_str).collect();
    assert_eq!(keys, ["sub", "name", "iss", "iat", "exp"]);
    assert_eq!(claims["iss"].as_str(), Some(r.issuer.as_str()));
    assert_eq!(claims["iat"].as_i64(), Some(NOW_S));
    assert_eq!(claims["exp"].as_i64(), Some(NOW_S + r.expires_in));
    let sub = r.subject.clone().unwrap_or_else(|| format!("guest-user-{UUID}"));
    let name = r.display_name.clone().unwrap_or_else(|| format!("Guest User - {UUID}"));
    assert_eq!(claims["sub"].as_str(), Some(sub.as_str()));
    assert_eq!(claims["name"].as_str(), Some(name.as_str()));
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&r.key).unwrap();
    mac.update(signed.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).expect("signature does not verify");

    // The other ways to the same token: GuestIdentity and sign_parts sign the same bytes.
    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(&r.key);
    let id = jwt::GuestIdentity::new(&r.issuer, &secret_b64, r.subject.clone(), r.display_name.clone())
        .expect("GuestIdentity refuses what create accepted");
    assert_eq!(id.sign(NOW_S, r.expires_in, || UUID.to_owned()).unwrap(), token);
    let parts = jwt::sign_parts(
        &r.issuer,
        &r.key,
        r.subject.as_deref(),
        r.display_name.as_deref(),
        NOW_S,
        r.expires_in,
        || UUID.to_owned(),
    )
    .unwrap();
    assert_eq!(parts, token);

    // create_jwt: same shape, same issuer, the same lifetime.
    let claims = check_shape(&now_created.unwrap());
    assert_eq!(claims["iss"].as_str(), Some(r.issuer.as_str()));
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, r.expires_in);
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

    match (jwt::decode_secret(text), reference_secret(text)) {
        (Ok(k), Some(r)) => assert_eq!(&k[..], &r[..], "decode_secret({text:?})"),
        (Err(e), None) => messages::assert_not_repeated(e.message(), text, &[]),
        (Ok(k), None) => panic!("decode_secret({text:?}) accepted a {}-byte key", k.len()),
        (Err(e), Some(r)) => panic!("decode_secret({text:?}) refused a {}-byte key: {}", r.len(), e.message()),
    }
    if let Ok(n) = jwt::parse_expires_in(&Value::String(text.to_owned())) {
        assert!(n > 0 && n <= jwt::MAX_EXPIRES_IN_S, "parse_expires_in({text:?}) gave {n}");
    }

    check(text);
    if !text.trim_start().starts_with('{') {
        check(&structured(text));
    }
});
