//! Guest-issuer JWTs (HS256): options, lifetimes written the way node's `ms` writes them,
//! and signing. Time and the default subject's UUID come in as arguments.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use zeroize::Zeroizing;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Error;

/// base64url of exactly `{"alg":"HS256","typ":"JWT"}`, the header node's jsonwebtoken
/// writes; signing by hand keeps it byte-identical (and skips a JSON round per token).
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Longer than this is almost surely a unit mistake (ms read as s): refused.
pub const MAX_EXPIRES_IN_S: i64 = 366 * 24 * 3600;

/// `wxa_create_jwt` options. The Webex SDK's spellings are accepted as aliases. Strings
/// borrow from the caller's JSON where they can (no copy per token).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtOptions<'a> {
    #[serde(borrow)]
    pub issuer: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "secretId")]
    pub secret: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "sub")]
    pub subject: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "displayName", alias = "name")]
    pub display_name: Option<Cow<'a, str>>,
    #[serde(alias = "expiresIn")]
    pub expires_in: Option<Value>,
}

/// Everything needed to sign, validated.
pub struct GuestIdentity {
    pub issuer: String,
    pub secret_key: Zeroizing<Vec<u8>>,
    pub subject: Option<String>,
    pub display_name: Option<String>,
}

impl std::fmt::Debug for GuestIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestIdentity")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize, Debug)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// The claims as they are signed, borrowed from wherever they come from.
struct ClaimsRef<'a> {
    sub: &'a str,
    name: &'a str,
    iss: &'a str,
    iat: i64,
    exp: i64,
}

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits.
pub const MIN_HS256_KEY_BYTES: usize = 32;

/// The secret as Webex issues it: base64, either alphabet, padding optional, decoding to
/// at least 32 bytes. Node's decoder skips bad characters and signs with a wrong key; we
/// refuse instead.
pub fn decode_secret(secret: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let s = secret.trim();
    if s.is_empty() {
        return Err(Error::invalid("`secret` is empty"));
    }
    // The alphabet is told by its characters; padding may be there or not.
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    let engine = if s.contains(['-', '_']) { &URL_SAFE_LENIENT } else { &STANDARD_LENIENT };
    let key = engine
        .decode(s)
        .map(Zeroizing::new)
        .map_err(|_| Error::invalid("`secret` is not valid base64 (standard or URL-safe alphabet)"))?;
    if key.len() < MIN_HS256_KEY_BYTES {
        return Err(Error::invalid(format!(
            "`secret` decodes to {} bytes; an HS256 key needs at least {MIN_HS256_KEY_BYTES} (RFC 7518 §3.2)",
            key.len()
        )));
    }
    Ok(key)
}

/// Seconds from a number or a string with a unit (`"90s"`, `"30m"`, `"12h"`, `"7d"`).
pub fn parse_expires_in(v: &Value) -> Result<i64, Error> {
    let secs = match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| f as i64)
            .ok_or_else(|| Error::invalid("`expires_in` must be a whole number of seconds"))?,
        Value::String(s) => parse_duration_text(s)?,
        _ => return Err(Error::invalid("`expires_in` must be a number of seconds or a string like \"12h\"")),
    };
    if secs <= 0 {
        return Err(Error::invalid("`expires_in` must be positive"));
    }
    if secs > MAX_EXPIRES_IN_S {
        return Err(Error::invalid(format!("`expires_in` of {secs} s is over a year: a unit mistake?")));
    }
    Ok(secs)
}

fn parse_duration_text(text: &str) -> Result<i64, Error> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let n: f64 =
        num.parse().map_err(|_| Error::invalid(format!("`expires_in` {text:?} does not start with a number")))?;
    let scale = match unit {
        "" => {
            return Err(Error::invalid(format!(
                "`expires_in` {text:?} has no unit: node's jsonwebtoken reads a bare string as milliseconds; write \"{num}s\" or pass a number of seconds"
            )));
        }
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        "y" | "yr" | "yrs" | "year" | "years" => 31_557_600.0,
        other => return Err(Error::invalid(format!("`expires_in` has an unknown unit {other:?}"))),
    };
    Ok((n * scale).floor() as i64)
}

impl GuestIdentity {
    pub fn new(
        issuer: &str,
        secret: &str,
        subject: Option<String>,
        display_name: Option<String>,
    ) -> Result<Self, Error> {
        if issuer.trim().is_empty() {
            return Err(Error::invalid("`issuer` is required"));
        }
        Ok(GuestIdentity { issuer: issuer.into(), secret_key: decode_secret(secret)?, subject, display_name })
    }

    /// Signs a guest JWT valid from `now_s` for `expires_in_s`. `uuid` names the guest
    /// when no subject or display name was given (called only then).
    pub fn sign(&self, now_s: i64, expires_in_s: i64, uuid: impl FnOnce() -> String) -> Result<String, Error> {
        sign_parts(
            &self.issuer,
            &self.secret_key,
            self.subject.as_deref(),
            self.display_name.as_deref(),
            now_s,
            expires_in_s,
            uuid,
        )
    }
}

/// The claims as compact JSON, in the order node's jsonwebtoken writes them. Strings that
/// need no escaping are copied as they are; others go through serde_json.
fn claims_json(c: &ClaimsRef<'_>) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            let _ = serde_json::to_writer(&mut *out, s);
        }
    }
    let mut out = Vec::with_capacity(64 + c.sub.len() + c.name.len() + c.iss.len());
    out.extend_from_slice(b"{\"sub\":");
    string(&mut out, c.sub);
    out.extend_from_slice(b",\"name\":");
    string(&mut out, c.name);
    out.extend_from_slice(b",\"iss\":");
    string(&mut out, c.iss);
    out.extend_from_slice(b",\"iat\":");
    out.extend_from_slice(itoa::Buffer::new().format(c.iat).as_bytes());
    out.extend_from_slice(b",\"exp\":");
    out.extend_from_slice(itoa::Buffer::new().format(c.exp).as_bytes());
    out.push(b'}');
    out
}

/// The JWS: the constant header, the claims, HMAC-SHA256 over both with `key`.
pub fn sign_parts(
    issuer: &str,
    key: &[u8],
    subject: Option<&str>,
    display_name: Option<&str>,
    now_s: i64,
    expires_in_s: i64,
    uuid: impl FnOnce() -> String,
) -> Result<String, Error> {
    let generated = (subject.is_none() || display_name.is_none()).then(uuid).unwrap_or_default();
    let default_sub;
    let default_name;
    let claims = ClaimsRef {
        sub: match subject {
            Some(s) => s,
            None => {
                default_sub = format!("guest-user-{generated}");
                &default_sub
            }
        },
        name: match display_name {
            Some(n) => n,
            None => {
                default_name = format!("Guest User - {generated}");
                &default_name
            }
        },
        iss: issuer,
        iat: now_s,
        exp: now_s + expires_in_s,
    };
    let payload = claims_json(&claims);
    // One byte more than the token: the NUL the C API appends, without a reallocation.
    let mut jws = String::with_capacity(HEADER_B64.len() + 2 + payload.len() * 4 / 3 + 4 + 43 + 1);
    jws.push_str(HEADER_B64);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut jws);
    // HMAC accepts keys of any length; the error arm cannot happen but costs nothing.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Error::internal("HMAC key rejected"))?;
    mac.update(jws.as_bytes());
    let sig = mac.finalize().into_bytes();
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut jws);
    Ok(jws)
}

impl GuestIdentity {}

/// `wxa_create_jwt`: parses the options and signs, borrowing what it can. The fast parse
/// runs first; only a failed one is parsed again to name the bad field.
pub fn create(json: &str, now_s: i64, uuid: impl FnOnce() -> String) -> Result<String, Error> {
    let fast = if super::json::is_object_text(json) { serde_json::from_str(json).ok() } else { None };
    let mut opts: JwtOptions<'_> = match fast {
        Some(o) => o,
        None => super::json::from_str("JWT options", json)?,
    };
    let r = sign_options(&opts, now_s, uuid);
    if let Some(Cow::Owned(s)) = opts.secret.as_mut() {
        zeroize::Zeroize::zeroize(s);
    }
    r
}

fn required_str<'o>(v: &'o Option<Cow<'_, str>>, field: &str) -> Result<&'o str, Error> {
    match v.as_deref() {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(Error::invalid(format!("`{field}` is empty"))),
        None => Err(Error::invalid(format!("`{field}` is required"))),
    }
}

fn optional_str<'o>(v: &'o Option<Cow<'_, str>>, field: &str) -> Result<Option<&'o str>, Error> {
    match v.as_deref() {
        Some(s) if s.trim().is_empty() => Err(Error::invalid(format!("`{field}` is empty"))),
        other => Ok(other),
    }
}

fn sign_options(opts: &JwtOptions<'_>, now_s: i64, uuid: impl FnOnce() -> String) -> Result<String, Error> {
    let issuer = required_str(&opts.issuer, "issuer")?;
    let secret = opts.secret.as_deref().ok_or_else(|| Error::invalid("`secret` is required"))?;
    let expires_in = parse_expires_in(
        opts.expires_in.as_ref().ok_or_else(|| Error::invalid("`expires_in` is required (seconds or \"12h\")"))?,
    )?;
    let key = decode_secret(secret)?;
    let subject = optional_str(&opts.subject, "subject")?;
    let display_name = optional_str(&opts.display_name, "display_name")?;
    sign_parts(issuer, &key, subject, display_name, now_s, expires_in, uuid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFi"; // "secret-key-for-tests-0123456789ab"
    const KEY: &[u8] = b"secret-key-for-tests-0123456789ab";

    #[test]
    fn signs_an_hs256_jws_that_jsonwebtoken_verifies() {
        let id = GuestIdentity::new("iss-1", SECRET, None, None).unwrap();
        let jwt = id.sign(1_000, 60, || "u-1".into()).unwrap();
        let header = URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap();
        assert_eq!(String::from_utf8(header).unwrap(), r#"{"alg":"HS256","typ":"JWT"}"#);
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(&jwt, &jsonwebtoken::DecodingKey::from_secret(KEY), &v).unwrap();
        assert_eq!(data.claims.sub, "guest-user-u-1");
        assert_eq!(data.claims.name, "Guest User - u-1");
        assert_eq!((data.claims.iat, data.claims.exp), (1_000, 1_060));
    }

    #[test]
    fn claims_are_written_as_serde_would_write_them() {
        for (sub, name) in [("guest-1", "Guest One"), ("a\"b", "tab\there"), ("ünï", "\u{1}x"), ("", "")] {
            let c = ClaimsRef { sub, name, iss: "i", iat: -5, exp: 1_700_000_000 };
            let ours = String::from_utf8(claims_json(&c)).unwrap();
            let serde = serde_json::json!({"sub": sub, "name": name, "iss": "i", "iat": -5, "exp": 1_700_000_000});
            assert_eq!(serde_json::from_str::<Value>(&ours).unwrap(), serde, "{ours}");
        }
    }

    #[test]
    fn secrets_in_any_base64_form() {
        let k = decode_secret(SECRET).unwrap();
        assert_eq!(&k[..], KEY);
        assert_eq!(&decode_secret(SECRET.trim_end_matches('=')).unwrap()[..], &k[..]);
        let (url, std) = ("-_".repeat(22), "+/".repeat(22));
        assert_eq!(&decode_secret(&url).unwrap()[..], &decode_secret(&std).unwrap()[..]);
        assert!(decode_secret("not base64!").unwrap_err().message().contains("secret"));
        assert!(decode_secret("").is_err());
    }

    #[test]
    fn hs256_keys_shorter_than_32_bytes_are_refused() {
        let short = STANDARD.encode(b"0123456789abcdef0123456789abcde"); // 31 bytes
        let e = decode_secret(&short).unwrap_err();
        assert!(e.message().contains("31 bytes") && e.message().contains("RFC 7518"), "{}", e.message());
        assert_eq!(decode_secret(&STANDARD.encode([7u8; 32])).unwrap().len(), 32);
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_expires_in(&json!(90)).unwrap(), 90);
        assert_eq!(parse_expires_in(&json!("90s")).unwrap(), 90);
        assert_eq!(parse_expires_in(&json!("30m")).unwrap(), 1800);
        assert_eq!(parse_expires_in(&json!("12h")).unwrap(), 43_200);
        assert_eq!(parse_expires_in(&json!("7d")).unwrap(), 604_800);
        assert_eq!(parse_expires_in(&json!("2 hours")).unwrap(), 7200);
        assert!(parse_expires_in(&json!("30")).unwrap_err().message().contains("milliseconds"));
        assert!(parse_expires_in(&json!(0)).is_err());
        assert!(parse_expires_in(&json!(-5)).is_err());
        assert!(parse_expires_in(&json!("10y")).unwrap_err().message().contains("expires_in"));
        assert!(parse_expires_in(&json!("5 fortnights")).is_err());
        assert!(parse_expires_in(&json!(true)).is_err());
    }

    #[test]
    fn options_name_the_bad_field() {
        let msg = |j: Value| create(&j.to_string(), 0, || "u".into()).unwrap_err().message().to_string();
        assert!(msg(json!({"secret":SECRET,"expires_in":60})).contains("issuer"));
        assert!(msg(json!({"issuer":"i","expires_in":60})).contains("secret"));
        assert!(msg(json!({"issuer":"i","secret":"@@@","expires_in":60})).contains("secret"));
        assert!(msg(json!({"issuer":"i","secret":SECRET})).contains("expires_in"));
        assert!(msg(json!({"issuer":"i","secret":SECRET,"expires_in":60,"display_name":5})).contains("display_name"));
        assert!(msg(json!({"issuer":"i","secret":SECRET,"expires_in":60,"bogus":1})).contains("bogus"));
        // The subject is missing: a UUID names the guest (and only then is one made).
        let jwt = create(
            &json!({"issuer":"i","secretId":SECRET,"expiresIn":"1h","displayName":"Ann"}).to_string(),
            100,
            || "u-9".into(),
        )
        .unwrap();
        assert!(
            String::from_utf8(URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap())
                .unwrap()
                .contains("guest-user-u-9")
        );
        let jwt = create(
            &json!({"issuer":"i","secretId":SECRET,"expiresIn":"1h","displayName":"Ann","subject":"s"}).to_string(),
            100,
            || panic!("no uuid is made when subject and display name are given"),
        )
        .unwrap();
        let claims: Claims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!((claims.name.as_str(), claims.exp), ("Ann", 3700));
        let id = GuestIdentity::new("i", SECRET, None, None).unwrap();
        assert!(!format!("{id:?}").contains("secret-key"));
    }
}
