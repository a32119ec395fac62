//! OpenID Connect (Login with Webex): the JWKS document and the id_token checks — RS256
//! signature with a key of the JWKS (`jsonwebtoken` verifies it), issuer, audience,
//! expiry, issue time (with a small clock skew) and nonce. Pure: the keys, the time and
//! the expectations come in as arguments; fetching and caching the JWKS is the engine's.

use serde_json::{Map, Value};

use super::UnixMs;
use crate::error::{Error, Status};

/// How far apart the server's clock and ours may be (`exp` and `iat`).
pub const CLOCK_SKEW_S: i64 = 120;

/// One RSA signing key of a JWKS. Webex's JWKs carry no `alg`, and its id_tokens may have
/// no `kid`: both are optional here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    n: String,
    e: String,
}

/// The RSA signature keys of a JWKS document (`{"keys":[...]}`); others are skipped.
pub fn parse_jwks(body: &Map<String, Value>) -> Result<Vec<Jwk>, Error> {
    let keys = body
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::new(Status::Http, "the JWKS document has no `keys` array"))?;
    let s = |k: &Map<String, Value>, name: &str| k.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(keys
        .iter()
        .filter_map(Value::as_object)
        .filter(|k| s(k, "kty").as_deref() == Some("RSA"))
        .filter(|k| s(k, "use").is_none_or(|u| u == "sig"))
        .filter(|k| s(k, "alg").is_none_or(|a| a == "RS256"))
        .filter_map(|k| Some(Jwk { kid: s(k, "kid"), n: s(k, "n")?, e: s(k, "e")? }))
        .collect())
}

fn invalid(why: impl Into<String>) -> Error {
    Error::new(Status::IdToken, format!("the id_token is not valid: {}", why.into()))
}

/// The `kid` of an id_token's header (None when it has none), after checking that it is
/// an RS256 token at all: `alg: none`, HS256 (signed with the public key as a secret) and
/// anything else are refused before any key is looked at.
pub fn header_kid(id_token: &str) -> Result<Option<String>, Error> {
    let header = jsonwebtoken::decode_header(id_token).map_err(|_| invalid("it is not a JWS"))?;
    if header.alg != jsonwebtoken::Algorithm::RS256 {
        return Err(invalid(format!("it is signed with {:?}; only RS256 is accepted", header.alg)));
    }
    Ok(header.kid)
}

/// What the id_token must say.
pub struct Expected<'a> {
    /// Accepted `iss` values (the configured issuer, or Webex's regional ones).
    pub issuers: &'a [String],
    /// The client id (`aud`).
    pub audience: &'a str,
    /// The nonce of the login, when it sent one.
    pub nonce: Option<&'a str>,
    pub now: UnixMs,
}

/// The keys to try for a token: those with its `kid`, or all of them when it has none.
/// `None`: the token names a key the JWKS does not have (refetch once).
pub fn candidates<'a>(keys: &'a [Jwk], kid: Option<&str>) -> Option<Vec<&'a Jwk>> {
    match kid {
        Some(kid) => {
            let found: Vec<&Jwk> = keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect();
            (!found.is_empty()).then_some(found)
        }
        None => Some(keys.iter().collect()),
    }
}

/// Verifies `id_token` against `keys` and `expected`; returns its claims.
pub fn verify(id_token: &str, keys: &[&Jwk], expected: &Expected<'_>) -> Result<Map<String, Value>, Error> {
    header_kid(id_token)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[expected.audience]);
    validation.set_issuer(expected.issuers);
    // Time is checked below against the `now` we were given.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    let mut last = invalid("no key of the JWKS verifies its signature");
    for key in keys {
        let Ok(dk) = jsonwebtoken::DecodingKey::from_rsa_components(&key.n, &key.e) else { continue };
        match jsonwebtoken::decode::<Map<String, Value>>(id_token, &dk, &validation) {
            Ok(data) => return check_claims(data.claims, expected),
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                last = match e.kind() {
                    K::InvalidSignature | K::InvalidRsaKey(_) => invalid("its signature does not verify"),
                    K::InvalidIssuer => return Err(invalid("its issuer (iss) is not one this client accepts")),
                    K::InvalidAudience => return Err(invalid("its audience (aud) is not this client")),
                    K::MissingRequiredClaim(c) => return Err(invalid(format!("it has no `{c}` claim"))),
                    K::InvalidAlgorithm => return Err(invalid("it is not signed with RS256")),
                    _ => invalid("it cannot be decoded"),
                };
            }
        }
    }
    Err(last)
}

fn check_claims(claims: Map<String, Value>, expected: &Expected<'_>) -> Result<Map<String, Value>, Error> {
    let now_s = expected.now / 1000;
    // `iss` exactly one of the accepted issuers, as a string (OIDC Core 3.1.3.7):
    // jsonwebtoken also takes an array and accepts any member of it.
    match claims.get("iss") {
        Some(Value::String(iss)) if expected.issuers.iter().any(|i| i == iss) => {}
        _ => return Err(invalid("its issuer (iss) is not one this client accepts")),
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| invalid("it has no `exp`"))?;
    if exp.saturating_add(CLOCK_SKEW_S) <= now_s {
        return Err(invalid("it has expired"));
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or_else(|| invalid("it has no `iat`"))?;
    if iat > now_s.saturating_add(CLOCK_SKEW_S) {
        return Err(invalid("it was issued in the future (iat)"));
    }
    if let Some(nonce) = expected.nonce {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(n) if subtle::ConstantTimeEq::ct_eq(n.as_bytes(), nonce.as_bytes()).into() => {}
            Some(_) => return Err(invalid("its nonce is not this login's")),
            None => return Err(invalid("it carries no nonce, and this login sent one")),
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A 2048-bit test key pair (PKCS#1 PEM), and its public components.
    const PRIVATE_PEM: &str = include_str!("../../tests/data/oidc-test-key.pem");

    /// The PEM's base64 body: PKCS#1 DER (jsonwebtoken's PEM reader needs another feature).
    fn pkcs1_der() -> Vec<u8> {
        use base64::Engine;
        let b64: String = PRIVATE_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
    }

    fn keys() -> Vec<Jwk> {
        let jwks: Value = serde_json::from_str(include_str!("../../tests/data/oidc-test-jwks.json")).unwrap();
        parse_jwks(jwks.as_object().unwrap()).unwrap()
    }

    fn sign(claims: Value, kid: Option<&str>, alg: jsonwebtoken::Algorithm) -> String {
        let mut h = jsonwebtoken::Header::new(alg);
        h.kid = kid.map(str::to_owned);
        let key = match alg {
            jsonwebtoken::Algorithm::RS256 => jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1_der()),
            _ => jsonwebtoken::EncodingKey::from_secret(b"a-secret-that-is-long-enough-for-hs256"),
        };
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    }

    const NOW: i64 = 1_800_000_000_000;

    fn claims() -> Value {
        json!({"iss": "https://idbroker.webex.com/idb", "aud": "client-1", "sub": "u-1", "email": "a@b.c",
               "iat": NOW / 1000 - 10, "exp": NOW / 1000 + 3600, "nonce": "n-1"})
    }

    fn expected<'a>(issuers: &'a [String]) -> Expected<'a> {
        Expected { issuers, audience: "client-1", nonce: Some("n-1"), now: NOW }
    }

    fn check(token: &str) -> Result<Map<String, Value>, Error> {
        let issuers = vec!["https://idbroker.webex.com/idb".to_string()];
        let keys = keys();
        let kid = header_kid(token)?;
        let c = candidates(&keys, kid.as_deref()).ok_or_else(|| invalid("unknown kid"))?;
        verify(token, &c, &expected(&issuers))
    }

    #[test]
    fn a_good_token_verifies_with_or_without_kid() {
        let c = check(&sign(claims(), Some("test-1"), jsonwebtoken::Algorithm::RS256)).unwrap();
        assert_eq!(c["sub"], "u-1");
        assert_eq!(c["email"], "a@b.c");
        assert!(check(&sign(claims(), None, jsonwebtoken::Algorithm::RS256)).is_ok(), "no kid: try every key");
    }

    #[test]
    fn every_bad_token_is_refused() {
        let rs = |c: Value| sign(c, Some("test-1"), jsonwebtoken::Algorithm::RS256);
        let mut c = claims();
        let cases: Vec<(&str, String)> = vec![
            ("HS256 with a secret", sign(claims(), Some("test-1"), jsonwebtoken::Algorithm::HS256)),
            ("alg none", {
                let t = rs(claims());
                let mut parts = t.split('.');
                format!("eyJhbGciOiJub25lIn0.{}.", parts.nth(1).unwrap())
            }),
            (
                "wrong audience",
                rs({
                    c["aud"] = json!("other");
                    c.clone()
                }),
            ),
            (
                "wrong issuer",
                rs(
                    json!({"iss":"https://evil.example/idb","aud":"client-1","iat":NOW/1000,"exp":NOW/1000+60,"nonce":"n-1"}),
                ),
            ),
            (
                "expired",
                rs(
                    json!({"iss":"https://idbroker.webex.com/idb","aud":"client-1","iat":NOW/1000-7200,"exp":NOW/1000-3600,"nonce":"n-1"}),
                ),
            ),
            (
                "issued in the future",
                rs(
                    json!({"iss":"https://idbroker.webex.com/idb","aud":"client-1","iat":NOW/1000+3600,"exp":NOW/1000+7200,"nonce":"n-1"}),
                ),
            ),
            (
                "missing nonce",
                rs(json!({"iss":"https://idbroker.webex.com/idb","aud":"client-1","iat":NOW/1000,"exp":NOW/1000+60})),
            ),
            (
                "wrong nonce",
                rs(
                    json!({"iss":"https://idbroker.webex.com/idb","aud":"client-1","iat":NOW/1000,"exp":NOW/1000+60,"nonce":"n-2"}),
                ),
            ),
            ("bad signature", {
                let t = rs(claims());
                let (head, sig) = t.rsplit_once('.').unwrap();
                let mut sig = sig.to_string();
                let last = sig.pop().unwrap();
                sig.push(if last == 'A' { 'B' } else { 'A' });
                format!("{head}.{sig}")
            }),
        ];
        for (what, token) in cases {
            let e = check(&token).unwrap_err();
            assert_eq!(e.status(), Status::IdToken, "{what}: {e}");
        }
        // A huge exp is valid, not an overflow.
        assert!(check(&rs(json!({"iss":"https://idbroker.webex.com/idb","aud":"client-1","iat":NOW/1000,"exp":i64::MAX,"nonce":"n-1"}))).is_ok());
        // An unknown kid is reported as such (the engine refetches the JWKS once).
        let keys = keys();
        assert!(candidates(&keys, Some("nope")).is_none());
    }

    #[test]
    fn jwks_keeps_rsa_signature_keys_only() {
        let body = json!({"keys": [
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"b","use":"enc"},
            {"kty":"EC","crv":"P-256","x":"x","y":"y","kid":"c"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"d","alg":"RS512"},
            {"kty":"RSA","e":"AQAB","kid":"e"}
        ]});
        let keys = parse_jwks(body.as_object().unwrap()).unwrap();
        assert_eq!(keys.iter().map(|k| k.kid.clone().unwrap()).collect::<Vec<_>>(), vec!["a"]);
        assert!(parse_jwks(json!({}).as_object().unwrap()).is_err());
    }
}
