//! OpenID Connect as Webex speaks it: RS256 `id_token`s with a `kid`, the JWKS at
//! `/v1/verification` (Webex's documented `jwks_uri`) and at the identity broker's
//! `/idb/oauth2/v2/keys/verificationjwk`, `userinfo`, and the discovery document.
//! Keys rotate on request; the old key stays published or goes (a test's choice).

use axum::http::{HeaderValue, header};
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::cloud::Cloud;
use crate::handler::{self, Answer};
use crate::reply;
use crate::script::Recorded;
use crate::session;
use crate::state::{Shared, Subject};

/// The shipped test keys (see `keys/README.md`): RSA keys take seconds to generate in
/// a debug build, and tests start many emulators.
const TEST_KEYS: [&str; 3] = [
    include_str!("../keys/test-rsa-1.pem"),
    include_str!("../keys/test-rsa-2.pem"),
    include_str!("../keys/test-rsa-3.pem"),
];

/// The DER inside a `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) PEM: the base64 between
/// the armour lines. (jsonwebtoken's own PEM reader would pull in an ASN.1 stack.)
fn pkcs1_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).expect("the shipped test keys are base64 PEM")
}

/// How long clients may cache the JWKS (`Cache-Control: max-age`), unless configured.
pub(crate) const DEFAULT_JWKS_MAX_AGE_S: u64 = 300;
/// Lifetime of an id_token (Webex's examples: 2 h).
const ID_TOKEN_TTL_S: u64 = 7200;

pub(crate) struct SigningKey {
    pub kid: String,
    key: EncodingKey,
    /// The public JWK, as Webex publishes it: `kty`, `n`, `e`, `kid`, `use`, no `alg`.
    jwk: Value,
}

/// The published keys; the last one signs.
pub(crate) struct KeyRing {
    keys: Vec<SigningKey>,
    /// Rotations so far: picks the next shipped key and numbers the kid.
    rotations: usize,
}

impl KeyRing {
    pub fn new() -> KeyRing {
        let mut ring = KeyRing { keys: Vec::new(), rotations: 0 };
        ring.keys.push(ring.make(0));
        ring
    }

    fn make(&self, n: usize) -> SigningKey {
        let key = EncodingKey::from_rsa_der(&pkcs1_der(TEST_KEYS[n % TEST_KEYS.len()]));
        let kid = format!("emulator-key-{}", n + 1);
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("an RSA key has public components");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = None;
        let jwk = serde_json::to_value(&jwk).unwrap_or(Value::Null);
        SigningKey { kid, key, jwk }
    }

    /// A new signing key under a new kid; the old ones stay published when `keep_old`.
    pub fn rotate(&mut self, keep_old: bool) -> String {
        self.rotations += 1;
        let next = self.make(self.rotations);
        let kid = next.kid.clone();
        if !keep_old {
            self.keys.clear();
        }
        self.keys.push(next);
        kid
    }

    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
    }

    fn current(&self) -> &SigningKey {
        self.keys.last().expect("the ring always holds a key")
    }

    /// RS256 over `claims` with the current key, its kid in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let current = self.current();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(current.kid.clone());
        jsonwebtoken::encode(&header, claims, &current.key).expect("RS256 signing of JSON claims cannot fail")
    }
}

/// `https://idbroker.webex.com/idb` on Webex; `BASE/idb` (or `BASE/fedramp/idb`) here,
/// unless the issuer is configured.
pub(crate) fn issuer(shared: &Shared, cloud: Cloud, configured: Option<&str>) -> String {
    configured.map(str::to_string).unwrap_or_else(|| format!("{}/idb", cloud.base(&shared.base_url)))
}

/// What goes into an id_token besides the signature.
pub(crate) struct IdTokenRequest<'a> {
    pub cloud: Cloud,
    pub client_id: &'a str,
    pub subject: &'a Subject,
    pub nonce: Option<&'a str>,
}

/// The id_token of a code exchange whose scope holds `openid`.
pub(crate) fn id_token(shared: &Shared, request: &IdTokenRequest<'_>) -> String {
    let store = shared.lock();
    let now = store.unix_now();
    let subject = request.subject;
    let (given, family) = subject.display_name.split_once(' ').unwrap_or((&subject.display_name, ""));
    let mut claims = json!({
        "iss": issuer(shared, request.cloud, store.config.oidc_issuer.as_deref()),
        "aud": request.client_id,
        "sub": subject.id,
        "iat": now,
        "auth_time": now,
        "exp": now + ID_TOKEN_TTL_S,
        "email": subject.email,
        "email_verified": true,
        "name": subject.display_name,
        "given_name": given,
        "family_name": family,
    });
    if let Some(nonce) = request.nonce {
        claims["nonce"] = json!(nonce);
    }
    // A test's overrides, for tokens the engine must refuse: a `null` removes a claim.
    if let (Some(Value::Object(overrides)), Value::Object(claims)) = (&store.config.id_token_claims, &mut claims) {
        for (k, v) in overrides {
            if v.is_null() {
                claims.remove(k);
            } else {
                claims.insert(k.clone(), v.clone());
            }
        }
    }
    store.keys.sign(&claims)
}

/// `GET /v1/verification` and `/idb/oauth2/v2/keys/verificationjwk`: the public keys,
/// with how long to cache them.
pub(crate) fn jwks(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["GET"])?;
    let store = shared.lock();
    let mut response = reply::json(200, store.keys.jwks());
    let max_age = store.config.jwks_max_age_s;
    drop(store);
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}

/// `GET /v1/userinfo`: the OpenID claims of the token's subject (`email_verified` is a
/// string here, as Webex sends it). The token must carry `openid`.
pub(crate) fn userinfo(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["GET"])?;
    let store = shared.lock();
    let token = session::bearer(&store, req)?;
    if !token.scope.split_whitespace().any(|s| s == "openid") {
        return Err(reply::webex_error(403, "The access token lacks the openid scope."));
    }
    let subject = token.subject.clone();
    drop(store);
    let (given, family) = subject.display_name.split_once(' ').unwrap_or((&subject.display_name, ""));
    Ok(reply::json(
        200,
        json!({
            "sub": subject.id,
            "email": subject.email,
            "email_verified": "true",
            "name": subject.display_name,
            "given_name": given,
            "family_name": family,
        }),
    ))
}

/// `/.well-known/openid-configuration`, under `/v1` and under `/idb`.
pub(crate) fn discovery(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["GET"])?;
    let cloud = Cloud::of_path(&req.path);
    let base = cloud.base(&shared.base_url);
    let configured = shared.lock().config.oidc_issuer.clone();
    let mut doc = Map::new();
    doc.insert("issuer".into(), json!(issuer(shared, cloud, configured.as_deref())));
    doc.insert("authorization_endpoint".into(), json!(format!("{base}/v1/authorize")));
    doc.insert("token_endpoint".into(), json!(format!("{base}/v1/access_token")));
    doc.insert("userinfo_endpoint".into(), json!(format!("{base}/v1/userinfo")));
    doc.insert("jwks_uri".into(), json!(format!("{base}/v1/verification")));
    doc.insert("response_types_supported".into(), json!(["code"]));
    doc.insert("grant_types_supported".into(), json!(["authorization_code", "refresh_token"]));
    doc.insert("subject_types_supported".into(), json!(["public"]));
    doc.insert("id_token_signing_alg_values_supported".into(), json!(["RS256"]));
    doc.insert("scopes_supported".into(), json!(["openid", "email", "profile"]));
    doc.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    doc.insert("token_endpoint_auth_methods_supported".into(), json!(["client_secret_basic", "client_secret_post"]));
    doc.insert(
        "claims_supported".into(),
        json!([
            "aud",
            "sub",
            "auth_time",
            "iss",
            "exp",
            "iat",
            "nonce",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name"
        ]),
    );
    Ok(reply::json(200, Value::Object(doc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_publishes_a_new_kid() {
        let mut ring = KeyRing::new();
        assert_eq!(ring.kids(), ["emulator-key-1"]);
        let jwk = &ring.jwks()["keys"][0];
        assert_eq!(
            (jwk["kty"].as_str(), jwk["use"].as_str(), jwk["kid"].as_str()),
            (Some("RSA"), Some("sig"), Some("emulator-key-1"))
        );
        assert!(jwk.get("alg").is_none(), "Webex's JWKs carry no alg");
        assert_eq!(ring.rotate(true), "emulator-key-2");
        assert_eq!(ring.kids(), ["emulator-key-1", "emulator-key-2"]);
        assert_eq!(ring.rotate(false), "emulator-key-3");
        assert_eq!(ring.kids(), ["emulator-key-3"]);
        // Past the shipped keys the material repeats, the kid never does.
        assert_eq!(ring.rotate(false), "emulator-key-4");
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        let ring = KeyRing::new();
        let token = ring.sign(&json!({"sub": "x", "exp": 4_000_000_000u64}));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::RS256, Some("emulator-key-1")));
        let jwk: Jwk = serde_json::from_value(ring.jwks()["keys"][0].clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "x");
    }
}
