//! `/v1/jwt/login`: guest-issuer JWTs (HS256) exchanged for an access token, which is
//! itself a JWT as Webex's are: `user_type: "guest"` and the org in `realm`, the two
//! claims the SDK reads (`isUnverifiedGuest`, `getOrgId`).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::client_auth::decode_base64_lenient;
use crate::cloud::Cloud;
use crate::handler::{self, Answer};
use crate::reply;
use crate::script::Recorded;
use crate::state::{Shared, Store, Subject, SubjectType};

/// Claims the emulator cares about, once the JWT is proven genuine.
#[derive(Debug)]
pub(crate) struct GuestClaims {
    pub sub: String,
    pub name: Option<String>,
}

fn b64url_json(segment: &str) -> Result<Value, String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| "JWT segment is not base64url".to_string())?;
    serde_json::from_slice(&bytes).map_err(|_| "JWT segment is not JSON".to_string())
}

/// Checks signature, algorithm, issuer, expiry and subject. `now` is Unix seconds.
pub(crate) fn verify_jwt(jwt: &str, secret_b64: &str, issuer: &str, now: u64) -> Result<GuestClaims, String> {
    let mut parts = jwt.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the JWT must have three segments".into());
    };
    let header_json = b64url_json(header)?;
    if header_json.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err("the JWT must be signed with HS256".into());
    }
    let key = decode_base64_lenient(secret_b64).ok_or("the emulator's guest secret is not base64")?;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| "the JWT signature is not base64url")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "unusable guest secret")?;
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature).map_err(|_| "the JWT signature is invalid")?;

    let claims = b64url_json(payload)?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err("the JWT issuer is not the guest issuer".into());
    }
    match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) if exp > now as f64 => {}
        Some(_) => return Err("the JWT has expired".into()),
        None => return Err("the JWT has no exp claim".into()),
    }
    let sub = match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => sub.to_string(),
        _ => return Err("the JWT has no sub claim".into()),
    };
    let name = claims.get("name").and_then(Value::as_str).map(str::to_string);
    Ok(GuestClaims { sub, name })
}

/// HS256 over `claims` with `key`: the emulator's own guest access tokens.
pub(crate) fn sign_hs256(claims: &Value, key: &[u8]) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let signing_input = format!("{}.{}", enc(&json!({"alg": "HS256", "typ": "JWT"})), enc(claims));
    // HMAC takes keys of any length; the emulator's is 32 random bytes.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(signing_input.as_bytes());
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Scope of guest access tokens.
const GUEST_SCOPE: &str = "spark:all spark:kms";

/// A guest access token: a JWT as Webex's are, with `user_type: "guest"` and the org in
/// `realm` (what the SDK's `isUnverifiedGuest` and `getOrgId` read), known to the API.
pub(crate) fn guest_token(shared: &Shared, store: &mut Store, client_id: &str, subject: &Subject, ttl: u64) -> String {
    let now = store.unix_now();
    let token = sign_hs256(
        &json!({
            "iss": shared.base_url,
            "sub": subject.id,
            "name": subject.display_name,
            "user_type": "guest",
            "realm": store.config.org_id,
            "iat": now,
            "exp": now + ttl,
            // Two tokens of the same guest in the same second still differ.
            "jti": crate::ids::alnum(16),
        }),
        &shared.token_key,
    );
    let grant = store.new_grant();
    store.remember_access(&token, grant, client_id, GUEST_SCOPE, subject, ttl);
    token
}

pub(crate) fn login(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["POST"])?;
    if Cloud::of_path(&req.path) == Cloud::FedRamp {
        return Err(reply::webex_error(403, "Guest issuer applications are not supported in FedRAMP organizations."));
    }
    // The SDK sends the bare JWT; a `Bearer ` prefix is tolerated.
    let jwt = match req.bearer().or_else(|| req.header("authorization").map(str::trim)) {
        Some(value) if !value.is_empty() => value,
        _ => return Err(reply::webex_error(401, "The Authorization header must carry the guest JWT")),
    };
    let mut store = shared.lock();
    let now = store.unix_now();
    let claims = verify_jwt(jwt, &store.config.guest_secret_b64, &store.config.guest_issuer, now)
        .map_err(|why| reply::webex_error(401, &why))?;
    let subject = Subject {
        display_name: claims.name.unwrap_or_else(|| claims.sub.clone()),
        email: format!("{}@guests.example.com", claims.sub),
        id: claims.sub,
        kind: SubjectType::AppUser,
    };
    let ttl = store.config.guest_token_ttl_s;
    let token = guest_token(shared, &mut store, "guest", &subject, ttl);
    drop(store);
    Ok(reply::json(200, json!({"token": token, "expiresIn": ttl})))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{DEFAULT_GUEST_SECRET, EmulatorConfig};

    pub fn sign(header: &Value, claims: &Value, key: &[u8]) -> String {
        let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let signing_input = format!("{}.{}", enc(header), enc(claims));
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(signing_input.as_bytes());
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }

    const NOW: u64 = 1_700_000_000;

    fn check(jwt: &str) -> Result<GuestClaims, String> {
        let config = EmulatorConfig::default();
        verify_jwt(jwt, &config.guest_secret_b64, &config.guest_issuer, NOW)
    }

    fn hs256() -> Value {
        json!({"alg": "HS256", "typ": "JWT"})
    }

    fn claims(exp: u64) -> Value {
        json!({"sub": "guest-1", "name": "Guest One", "iss": "guest-issuer-id", "iat": NOW, "exp": exp})
    }

    #[test]
    fn accepts_a_good_token() {
        let claims = check(&sign(&hs256(), &claims(NOW + 60), DEFAULT_GUEST_SECRET)).unwrap();
        assert_eq!(claims.sub, "guest-1");
        assert_eq!(claims.name.as_deref(), Some("Guest One"));
    }

    #[test]
    fn rejects_bad_tokens() {
        assert!(check(&sign(&hs256(), &claims(NOW + 60), b"another-key")).unwrap_err().contains("signature"));
        assert!(check(&sign(&hs256(), &claims(NOW - 1), DEFAULT_GUEST_SECRET)).unwrap_err().contains("expired"));
        let wrong_iss = json!({"sub": "g", "iss": "someone-else", "exp": NOW + 60});
        assert!(check(&sign(&hs256(), &wrong_iss, DEFAULT_GUEST_SECRET)).unwrap_err().contains("issuer"));
        let no_sub = json!({"iss": "guest-issuer-id", "exp": NOW + 60});
        assert!(check(&sign(&hs256(), &no_sub, DEFAULT_GUEST_SECRET)).unwrap_err().contains("sub"));
        let none_alg = json!({"alg": "none", "typ": "JWT"});
        assert!(check(&sign(&none_alg, &claims(NOW + 60), DEFAULT_GUEST_SECRET)).is_err());
        for garbage in ["", "a.b", "a.b.c.d", "!!!.???.###", "e30.e30.", "e30.e30.AAAA"] {
            assert!(check(garbage).is_err(), "{garbage:?} accepted");
        }
    }

    #[test]
    fn secret_in_either_alphabet() {
        let key = [0xfbu8, 0xff, 0xfe, 0x01, 0x02];
        let std_b64 = base64::engine::general_purpose::STANDARD.encode(key);
        let url_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
        assert_ne!(std_b64.trim_end_matches('='), url_b64);
        let jwt = sign(&hs256(), &claims(NOW + 60), &key);
        assert!(verify_jwt(&jwt, &std_b64, "guest-issuer-id", NOW).is_ok());
        assert!(verify_jwt(&jwt, &url_b64, "guest-issuer-id", NOW).is_ok());
    }
}
