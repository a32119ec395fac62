//! OpenID Connect id_tokens: `id_token::{parse_jwks, header_kid, candidates, verify}`.
//!
//! The fuzzer cannot sign with RSA, so tokens signed with the test key
//! (tests/data/oidc-test-key.pem, public half tests/data/oidc-test-jwks.json) are made
//! once at start-up: good ones and ones wrong in each way that matters (issuer, audience,
//! nonce, lifetime, claim types, `kid`, algorithm). Input, by its first byte:
//! - `% 3 == 0`: the rest is a string, given to `header_kid` and `verify` as a token,
//!   and, when it is a JSON object, to `parse_jwks` as a JWKS (whose keys then verify a
//!   good token);
//! - otherwise the rest drives a choice: a signed token, edits to its bytes (a byte, a
//!   cut, a segment replaced), the time, the accepted issuers, the audience, the nonce.
//!
//! Invariants: nothing panics (integer overflow included); what `verify` accepts was
//! signed by the test key exactly as it stands before its signature (no forgery; the
//! signature is checked again with the rsa crate directly), its
//! claims are those signed, its `iss` is a string among the accepted issuers, its `aud`
//! is the audience or a list holding it, its nonce is the login's when the login sent
//! one, its `exp` is an integer after `now - CLOCK_SKEW_S` and its `iat` an integer not
//! after `now + CLOCK_SKEW_S` (the documented skew of 120 s); `header_kid` accepts only
//! an RS256 header and returns its `kid`; `parse_jwks` keeps exactly the RSA signature
//! keys with `n` and `e`, in order; `candidates` gives the keys with the token's `kid`
//! (all of them without one, None for an unknown one).
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use webex_auth::protocol::id_token::{self, CLOCK_SKEW_S, Expected, Jwk};

const JWKS: &str = include_str!("../../tests/data/oidc-test-jwks.json");
const PRIVATE_PEM: &str = include_str!("../../tests/data/oidc-test-key.pem");

/// The time the tokens are issued at (s).
const T: i64 = 1_800_000_000;
const ISS_A: &str = "https://idbroker.webex.com/idb";
const ISS_B: &str = "https://idbroker-eu.webex.com/idb";
const EVIL: &str = "https://evil.example/idb";
const CLIENT: &str = "client-1";

struct Fixture {
    keys: Vec<Jwk>,
    /// The test key's public half, for checking signatures without jsonwebtoken.
    public: rsa::RsaPublicKey,
    /// Signed tokens and the claims each one carries.
    tokens: Vec<(String, Value)>,
}

/// Claim sets: a good one and each way a token can be wrong, or odd.
fn claim_sets() -> Vec<Value> {
    let good = json!({"iss": ISS_A, "aud": CLIENT, "sub": "u-1", "email": "a@b.c",
                      "iat": T - 10, "exp": T + 3600, "nonce": "n-1"});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let mut sets = vec![
        good.clone(),
        with("iss", json!(ISS_B)),
        with("iss", json!(EVIL)),
        with("iss", json!(5)),
        without("iss"),
        with("aud", json!([CLIENT, "other"])),
        with("aud", json!("other")),
        with("aud", json!([])),
        with("aud", json!(["other"])),
        without("aud"),
        without("nonce"),
        with("nonce", json!("n-2")),
        with("nonce", json!(5)),
        with("nonce", json!("")),
        with("exp", json!(T - 3600)),
        with("exp", json!(T + 100)),
        with("exp", json!(1.8e9)),
        with("exp", json!((T + 3600).to_string())),
        with("exp", json!(-1)),
        with("exp", json!(u64::MAX)),
        without("exp"),
        with("iat", json!(T + 3600)),
        with("iat", json!(i64::MIN)),
        with("iat", json!("0")),
        without("iat"),
        with("nbf", json!(T + 86_400)),
        with("sub", json!(7)),
    ];
    // Tokens that find known library bugs (README.md, findings F3 and F4), left out so
    // that a run goes on past them; FUZZ_KNOWN_BUGS=1 puts them back. Their inputs are
    // in fuzz/regressions/id_token/.
    if std::env::var_os("FUZZ_KNOWN_BUGS").is_some() {
        sets.push(with("iss", json!([EVIL, ISS_A])));
        sets.push(with("iss", json!([ISS_A])));
        sets.push(with("exp", json!(i64::MAX)));
    }
    sets
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let jwks: Value = serde_json::from_str(JWKS).unwrap();
        let keys = id_token::parse_jwks(jwks.as_object().unwrap()).unwrap();
        let der = STANDARD.decode(PRIVATE_PEM.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
        let rsa = EncodingKey::from_rsa_der(&der);
        let mut tokens = Vec::new();
        for claims in claim_sets() {
            for kid in [Some("test-1"), None, Some("other")] {
                let mut h = Header::new(Algorithm::RS256);
                h.kid = kid.map(str::to_owned);
                tokens.push((jsonwebtoken::encode(&h, &claims, &rsa).unwrap(), claims.clone()));
            }
        }
        // Other algorithms with the same key, HS256 with the public modulus as the secret
        // (the classic confusion), and `alg: none`: all refused before any key is used.
        let good = claim_sets().swap_remove(0);
        for alg in [Algorithm::RS384, Algorithm::PS256] {
            let mut h = Header::new(alg);
            h.kid = Some("test-1".into());
            tokens.push((jsonwebtoken::encode(&h, &good, &rsa).unwrap(), good.clone()));
        }
        let n = jwks["keys"][0]["n"].as_str().unwrap();
        for secret in [n.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(n).unwrap()] {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("test-1".into());
            tokens.push((jsonwebtoken::encode(&h, &good, &EncodingKey::from_secret(&secret)).unwrap(), good.clone()));
        }
        let payload = URL_SAFE_NO_PAD.encode(good.to_string());
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"none","kid":"test-1"}"#] {
            tokens.push((format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header)), good.clone()));
        }
        let component = |k: &str| {
            rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwks["keys"][0][k].as_str().unwrap()).unwrap())
        };
        let public = rsa::RsaPublicKey::new(component("n"), component("e")).unwrap();
        Fixture { keys, public, tokens }
    })
}

/// What `verify` accepted must be signed by the test key (checked here with the rsa
/// crate: PKCS#1 v1.5 over SHA-256 of everything before the last dot), carry the claims
/// of its payload, and meet every rule.
fn check_accepted(token: &str, claims: &Map<String, Value>, exp: &Expected<'_>) {
    use sha2::Digest;
    // An RSA operation costs about 2 ms in the instrumented build, and the same few
    // tokens are accepted over and over: each is checked once.
    thread_local!(static CHECKED: std::cell::RefCell<std::collections::HashSet<String>> = Default::default());
    let (message, sig) = token.rsplit_once('.').expect("verify accepted a token without a signature");
    if !CHECKED.with(|c| c.borrow().contains(token)) {
        let sig = URL_SAFE_NO_PAD.decode(sig).expect("verify accepted a signature that is not base64url");
        fixture()
            .public
            .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &sha2::Sha256::digest(message), &sig)
            .unwrap_or_else(|e| panic!("verify accepted a token the test key did not sign ({e}): {token:?}"));
        CHECKED.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() > 4096 {
                c.clear();
            }
            c.insert(token.to_owned());
        });
    }
    let payload = message.rsplit_once('.').expect("verify accepted a token without a payload").1;
    let signed: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(&Value::Object(claims.clone()), &signed, "verify returned other claims than were signed");
    match claims.get("iss") {
        Some(Value::String(iss)) => assert!(exp.issuers.contains(iss), "accepted iss {iss:?} not in {:?}", exp.issuers),
        other => panic!("accepted an id_token whose iss is {other:?}, not one string (OIDC Core 3.1.3.7 step 2)"),
    }
    match claims.get("aud") {
        Some(Value::String(aud)) => assert_eq!(aud, exp.audience, "accepted the wrong audience"),
        Some(Value::Array(a)) => assert!(a.iter().any(|v| v == exp.audience), "accepted aud {a:?}"),
        other => panic!("accepted aud {other:?}"),
    }
    if let Some(n) = exp.nonce {
        assert_eq!(claims.get("nonce").and_then(Value::as_str), Some(n), "accepted a token for another login");
    }
    let now_s = exp.now.div_euclid(1000) as i128;
    let e = claims.get("exp").and_then(Value::as_i64).expect("accepted a token without an integer exp");
    assert!(e as i128 > now_s - CLOCK_SKEW_S as i128, "accepted exp {e} at now {}", exp.now);
    let iat = claims.get("iat").and_then(Value::as_i64).expect("accepted a token without an integer iat");
    assert!(iat as i128 <= now_s + CLOCK_SKEW_S as i128, "accepted iat {iat} at now {}", exp.now);
}

/// `header_kid` against the header read independently (as jsonwebtoken splits a token:
/// the header is what comes before the second-to-last dot).
fn check_header_kid(token: &str) -> Option<Option<String>> {
    let kid = id_token::header_kid(token).ok()?;
    let header = token.rsplitn(2, '.').nth(1).and_then(|m| m.rsplitn(2, '.').nth(1)).expect("header_kid of no header");
    let h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("header is base64url")).unwrap();
    assert_eq!(h["alg"], "RS256", "header_kid accepted the header {h}");
    assert_eq!(kid.as_deref(), h.get("kid").and_then(Value::as_str), "header_kid of {h}");
    Some(kid)
}

fn check_candidates(keys: &[Jwk], kid: Option<&str>) {
    let got = id_token::candidates(keys, kid);
    match kid {
        None => assert_eq!(got.map(|c| c.len()), Some(keys.len()), "no kid: every key is a candidate"),
        Some(k) => {
            let want: Vec<&Jwk> = keys.iter().filter(|j| j.kid.as_deref() == Some(k)).collect();
            if want.is_empty() {
                assert!(got.is_none(), "an unknown kid must say so (the engine refetches the JWKS)");
            } else {
                assert_eq!(got, Some(want));
            }
        }
    }
}

/// The engine's sequence: the header's kid, its candidate keys, verify.
fn verify_like_the_engine(token: &str, keys: &[Jwk], exp: &Expected<'_>) {
    let kid = check_header_kid(token);
    if let Some(kid) = &kid {
        check_candidates(keys, kid.as_deref());
    }
    let all: Vec<&Jwk> = keys.iter().collect();
    let chosen = kid.as_ref().and_then(|k| id_token::candidates(keys, k.as_deref())).unwrap_or_else(|| all.clone());
    // The candidates, and every key (a token whose kid is unknown or wrong); once when
    // they are the same keys.
    let sets = if chosen.len() == all.len() { vec![all] } else { vec![chosen, all] };
    for ks in sets {
        match id_token::verify(token, &ks, exp) {
            Ok(claims) => {
                assert!(kid.is_some(), "verify accepted what header_kid refuses");
                check_accepted(token, &claims, exp);
            }
            Err(e) => assert_eq!(e.status(), webex_auth::Status::IdToken, "{e}"),
        }
    }
}

fn check_jwks(body: &Map<String, Value>) {
    let parsed = id_token::parse_jwks(body);
    let Some(entries) = body.get("keys").and_then(Value::as_array) else {
        assert!(parsed.is_err(), "a JWKS without a keys array was accepted");
        return;
    };
    let keys = parsed.expect("a JWKS with a keys array was refused");
    let s = |k: &Map<String, Value>, n: &str| k.get(n).and_then(Value::as_str).map(str::to_owned);
    let want: Vec<Option<String>> = entries
        .iter()
        .filter_map(Value::as_object)
        .filter(|k| {
            s(k, "kty").as_deref() == Some("RSA")
                && s(k, "use").is_none_or(|u| u == "sig")
                && s(k, "alg").is_none_or(|a| a == "RS256")
                && s(k, "n").is_some()
                && s(k, "e").is_some()
        })
        .map(|k| s(k, "kid"))
        .collect();
    assert_eq!(keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(), want, "parse_jwks kept other keys");
    check_candidates(&keys, None);
    check_candidates(&keys, Some("nope"));
    for k in &keys {
        check_candidates(&keys, k.kid.as_deref());
    }
    // The fuzzer's keys verify a good token: nothing panics, whatever n and e are.
    let issuers = [ISS_A.to_owned()];
    let exp = Expected { issuers: &issuers, audience: CLIENT, nonce: Some("n-1"), now: T * 1000 };
    verify_like_the_engine(&fixture().tokens[0].0, &keys, &exp);
}

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let f = fixture();
    let (token, _) = &f.tokens[u.choose_index(f.tokens.len())?];
    let mut token = token.clone().into_bytes();
    for _ in 0..u.int_in_range(0..=3)? {
        if token.is_empty() {
            break;
        }
        match u.int_in_range(0..=4)? {
            0 | 1 => {
                let i = u.choose_index(token.len())?;
                token[i] = *u.choose(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ")?;
            }
            2 => token.truncate(u.choose_index(token.len())?),
            3 => {
                // Append or insert raw bytes.
                let i = u.int_in_range(0..=token.len())?;
                let len = u.int_in_range(0..=8)?;
                let b = u.bytes(len)?.to_vec();
                token.splice(i..i, b);
            }
            _ => {
                // Replace a segment with base64url of the fuzzer's JSON-ish bytes.
                let text = String::from_utf8_lossy(&token).into_owned();
                let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
                let which = u.choose_index(parts.len())?;
                let len = u.int_in_range(0..=64)?;
                parts[which] = URL_SAFE_NO_PAD.encode(u.bytes(len)?);
                token = parts.join(".").into_bytes();
            }
        }
    }
    let token = String::from_utf8_lossy(&token).into_owned();
    let now = match u.int_in_range(0..=3)? {
        0 => u.arbitrary::<i64>()?,
        _ => (T + u.int_in_range(-8000..=8000)?) * 1000 + u.int_in_range(0..=999)?,
    };
    let mut issuers = Vec::new();
    for iss in [ISS_A, ISS_B, EVIL] {
        if u.ratio(2, 3)? && (iss != EVIL || u.ratio(1, 4)?) {
            issuers.push(iss.to_owned());
        }
    }
    let audience = *u.choose(&[CLIENT, CLIENT, CLIENT, "other", ""])?;
    let nonce = *u.choose(&[Some("n-1"), Some("n-1"), None, Some("n-2"), Some("")])?;
    let exp = Expected { issuers: &issuers, audience, nonce, now };
    verify_like_the_engine(&token, &f.keys, &exp);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    if sel % 3 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        let issuers = [ISS_A.to_owned(), ISS_B.to_owned()];
        let exp = Expected { issuers: &issuers, audience: CLIENT, nonce: Some("n-1"), now: T * 1000 };
        verify_like_the_engine(text, &fixture().keys, &exp);
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) {
            check_jwks(&m);
        }
    } else {
        let _ = structured(&mut Unstructured::new(rest));
    }
});
