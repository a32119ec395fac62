//! The `state` parameter: the app's own object plus a single-use CSRF token, encoded as
//! base64url JSON, and the table of logins waiting for their redirect.
//! Time comes in as an argument; the caller owns the clock and the lock.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::{CryptoRng, Rng};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::UnixMs;
use crate::error::{Error, Status};

/// How many logins may wait at once per client by default (config `max_pending_logins`);
/// the oldest goes first beyond that, so a host that starts logins in a loop cannot grow
/// a client without bound. High enough that anonymous hits on a web app's `/login` do not
/// evict a real user's login within its lifetime.
pub const DEFAULT_MAX_PENDING_LOGINS: usize = 1024;

pub const CSRF_KEY: &str = "csrf_token";
pub const EMAIL_HASH_KEY: &str = "emailhash";

/// 128 bits from a CSPRNG, hex: as unguessable as the SDK's UUID v4 and URL-safe as is.
pub fn new_csrf_token<R: Rng + CryptoRng>(rng: &mut R) -> String {
    let bytes: [u8; 16] = rng.r#gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of the email exactly as given (the SDK does not normalise case either).
pub fn email_hash(email: &str) -> String {
    Sha256::digest(email.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn encode_state(fields: &Map<String, Value>) -> String {
    URL_SAFE_NO_PAD.encode(Value::Object(fields.clone()).to_string())
}

/// Decodes a `state` value in either base64 alphabet, padded or not, into its object.
pub fn decode_state(state: &str) -> Option<Map<String, Value>> {
    let bytes =
        [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD].iter().find_map(|e| e.decode(state.trim()).ok())?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A login waiting for its redirect: the PKCE verifier, the CSRF token it is bound to,
/// the app's own state — the copy returned to the app, never the redirect's — the
/// redirect URI it was started with, and the OIDC nonce when it asked for `openid`.
pub struct PendingLogin {
    pub csrf_token: Zeroizing<String>,
    pub code_verifier: Zeroizing<String>,
    pub app_state: Map<String, Value>,
    pub redirect_uri: String,
    pub nonce: Option<Zeroizing<String>>,
    pub created_at: UnixMs,
    pub expires_at: UnixMs,
}

/// The id a pending login is kept under outside the process (Redis): hex SHA-256 of its
/// CSRF token, so the token itself never becomes a key anyone can list.
pub fn pending_id(csrf_token: &str) -> String {
    Sha256::digest(csrf_token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PendingRecord {
    csrf: String,
    verifier: String,
    state: Map<String, Value>,
    redirect_uri: String,
    nonce: Option<String>,
    created_at: UnixMs,
    expires_at: UnixMs,
}

impl PendingLogin {
    /// The bytes a shared store keeps (it encrypts them); wiped when dropped.
    pub fn to_record(&self) -> Zeroizing<Vec<u8>> {
        let mut r = PendingRecord {
            csrf: self.csrf_token.to_string(),
            verifier: self.code_verifier.to_string(),
            state: self.app_state.clone(),
            redirect_uri: self.redirect_uri.clone(),
            nonce: self.nonce.as_ref().map(|n| n.to_string()),
            created_at: self.created_at,
            expires_at: self.expires_at,
        };
        let bytes = Zeroizing::new(serde_json::to_vec(&r).unwrap_or_default());
        r.csrf.zeroize();
        r.verifier.zeroize();
        if let Some(n) = r.nonce.as_mut() {
            n.zeroize();
        }
        bytes
    }

    pub fn from_record(bytes: &[u8]) -> Result<PendingLogin, Error> {
        let r: PendingRecord = serde_json::from_slice(bytes)
            .map_err(|_| Error::new(Status::StateMismatch, "the stored pending login is not readable"))?;
        Ok(PendingLogin {
            csrf_token: Zeroizing::new(r.csrf),
            code_verifier: Zeroizing::new(r.verifier),
            app_state: r.state,
            redirect_uri: r.redirect_uri,
            nonce: r.nonce.map(Zeroizing::new),
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }

    /// Whether this login belongs to a redirect carrying `csrf_token` at `now`
    /// (constant-time comparison; expiry checked).
    pub fn matches(&self, csrf_token: &str, now: UnixMs) -> Result<(), Error> {
        let eq: bool = self.csrf_token.as_bytes().ct_eq(csrf_token.as_bytes()).into();
        if !eq {
            return Err(Error::new(
                Status::StateMismatch,
                "the redirect's state matches no pending login of this client",
            ));
        }
        if self.expires_at <= now {
            return Err(Error::new(Status::StateMismatch, "the pending login for this redirect has expired"));
        }
        Ok(())
    }
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub struct PendingLogins {
    logins: std::collections::VecDeque<PendingLogin>,
}

impl PendingLogins {
    /// Adds a login, dropping expired ones and, beyond `max`, the oldest.
    pub fn insert(&mut self, login: PendingLogin, now: UnixMs, max: usize) {
        if self.logins.len() >= max {
            self.logins.retain(|l| l.expires_at > now);
        }
        while self.logins.len() >= max.max(1) {
            self.logins.pop_front();
        }
        self.logins.push_back(login);
    }

    pub fn len(&self) -> usize {
        self.logins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }

    /// Finds the login whose CSRF token matches, in constant time per comparison.
    /// Does not remove it: the caller removes it with `remove` once every check passed.
    pub fn find(&self, csrf_token: &str, now: UnixMs) -> Result<usize, Error> {
        let mut found = None;
        for (i, l) in self.logins.iter().enumerate() {
            // Compare against every entry, so timing says nothing about which matched.
            let eq: bool = l.csrf_token.as_bytes().ct_eq(csrf_token.as_bytes()).into();
            if eq {
                found = Some(i);
            }
        }
        let i = found.ok_or_else(|| {
            Error::new(Status::StateMismatch, "the redirect's state matches no pending login of this client")
        })?;
        if self.logins[i].expires_at <= now {
            return Err(Error::new(Status::StateMismatch, "the pending login for this redirect has expired"));
        }
        Ok(i)
    }

    pub fn remove(&mut self, index: usize) -> Option<PendingLogin> {
        self.logins.remove(index)
    }
}

/// Reads the CSRF token and the app's own fields out of a redirect's `state`. The app's
/// fields are not trusted (the redirect passed through the user agent): the engine hands
/// back the copy kept with the pending login.
pub struct DecodedState {
    pub csrf_token: Zeroizing<String>,
    /// The app's fields, without `csrf_token` and `emailhash`.
    pub app_state: Map<String, Value>,
    pub had_email_hash: bool,
}

impl std::fmt::Debug for DecodedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedState").field("app_state_keys", &self.app_state.len()).finish_non_exhaustive()
    }
}

pub fn parse_redirect_state(state: Option<&str>) -> Result<DecodedState, Error> {
    let raw = state.ok_or_else(|| Error::new(Status::StateMismatch, "the redirect carries no state parameter"))?;
    let mut fields = decode_state(raw)
        .ok_or_else(|| Error::new(Status::StateMismatch, "the redirect's state is not base64url JSON"))?;
    let csrf = match fields.remove(CSRF_KEY) {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err(Error::new(Status::StateMismatch, "the redirect's state carries no CSRF token")),
    };
    let had_email_hash = fields.remove(EMAIL_HASH_KEY).is_some();
    Ok(DecodedState { csrf_token: Zeroizing::new(csrf), app_state: fields, had_email_hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn login(csrf: &str, expires_at: UnixMs) -> PendingLogin {
        PendingLogin {
            csrf_token: Zeroizing::new(csrf.into()),
            code_verifier: Zeroizing::new("v".into()),
            app_state: Map::new(),
            redirect_uri: "https://app/cb".into(),
            nonce: None,
            created_at: 0,
            expires_at,
        }
    }

    #[test]
    fn csrf_tokens_are_128_bit_hex_and_distinct() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = new_csrf_token(&mut rng);
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_csrf_token(&mut rng));
    }

    #[test]
    fn state_round_trips_in_every_alphabet() {
        let mut m = Map::new();
        m.insert("page".into(), "/home?x=1&y=ü".into());
        m.insert(CSRF_KEY.into(), "abc".into());
        let enc = encode_state(&m);
        assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
        assert_eq!(decode_state(&enc).unwrap(), m);
        let std = STANDARD.encode(Value::Object(m.clone()).to_string());
        assert_eq!(decode_state(&std).unwrap(), m);
        assert!(decode_state("not base64 !!").is_none());
        assert!(decode_state(&URL_SAFE_NO_PAD.encode("[1,2]")).is_none());
    }

    #[test]
    fn redirect_state_parsing() {
        assert_eq!(parse_redirect_state(None).unwrap_err().status(), Status::StateMismatch);
        let no_csrf = encode_state(&Map::new());
        assert_eq!(parse_redirect_state(Some(&no_csrf)).unwrap_err().status(), Status::StateMismatch);
        let mut m = Map::new();
        m.insert(CSRF_KEY.into(), "tok".into());
        m.insert(EMAIL_HASH_KEY.into(), "h".into());
        m.insert("app".into(), 1.into());
        let d = parse_redirect_state(Some(&encode_state(&m))).unwrap();
        assert!(!format!("{d:?}").contains("tok"), "Debug hides the CSRF token");
        assert_eq!(d.csrf_token.as_str(), "tok");
        assert!(d.had_email_hash);
        assert_eq!(d.app_state.len(), 1);
    }

    #[test]
    fn pending_logins_match_expire_and_are_bounded() {
        let mut p = PendingLogins::default();
        p.insert(login("a", 100), 0, 8);
        p.insert(login("b", 200), 0, 8);
        assert_eq!(p.find("b", 50).unwrap(), 1);
        assert_eq!(p.find("zz", 50).unwrap_err().status(), Status::StateMismatch);
        assert_eq!(p.find("a", 150).unwrap_err().status(), Status::StateMismatch);
        let i = p.find("b", 150).unwrap();
        p.remove(i);
        assert!(p.find("b", 150).is_err(), "single use");
        for i in 0..(DEFAULT_MAX_PENDING_LOGINS + 10) {
            p.insert(login(&i.to_string(), 1000), 0, DEFAULT_MAX_PENDING_LOGINS);
        }
        assert_eq!(p.len(), DEFAULT_MAX_PENDING_LOGINS);
        // The oldest went first: 0..9 are gone, 10 is still there.
        assert!(p.find("9", 0).is_err());
        assert!(p.find("10", 0).is_ok());
        // Expired entries are dropped when the table is full.
        p.insert(login("new", 5000), 2000, DEFAULT_MAX_PENDING_LOGINS);
        assert_eq!(p.len(), 1);
        let mut small = PendingLogins::default();
        for i in 0..5 {
            small.insert(login(&i.to_string(), 1000), 0, 3);
        }
        assert_eq!(small.len(), 3);
    }

    #[test]
    fn pending_logins_round_trip_through_a_record() {
        let mut l = login("csrf-1", 9_000);
        l.app_state.insert("return_to".into(), "/inbox".into());
        l.nonce = Some(Zeroizing::new("n-1".into()));
        let back = PendingLogin::from_record(&l.to_record()).unwrap();
        assert_eq!(back.csrf_token.as_str(), "csrf-1");
        assert_eq!(back.app_state, l.app_state);
        assert_eq!(back.nonce.as_deref().map(String::as_str), Some("n-1"));
        assert!(back.matches("csrf-1", 1_000).is_ok());
        assert_eq!(back.matches("csrf-2", 1_000).unwrap_err().status(), Status::StateMismatch);
        assert_eq!(back.matches("csrf-1", 9_000).unwrap_err().status(), Status::StateMismatch);
        assert_eq!(pending_id("csrf-1").len(), 64);
        assert!(PendingLogin::from_record(b"junk").is_err());
    }

    #[test]
    fn email_hash_is_hex_sha256_as_given() {
        assert_eq!(email_hash("a@b.c").len(), 64);
        assert_ne!(email_hash("A@b.c"), email_hash("a@b.c"));
    }
}
