//! Client authentication as real clients send it: RFC 6749 Basic (parts URL-encoded),
//! the Webex SDK's Basic (parts raw; public clients as `id:` or `id:undefined`), or
//! `client_id`/`client_secret` in the form.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::config::ClientRegistration;
use crate::script::Recorded;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Standard or URL-safe alphabet, padding optional.
pub(crate) fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    STANDARD_LENIENT.decode(text).or_else(|_| URL_SAFE_LENIENT.decode(text)).ok()
}

/// Credentials as presented, before looking anything up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    Basic { id: String, secret: String },
    Form { id: String, secret: Option<String> },
    Nothing,
}

/// `Err` carries the `invalid_client` description.
pub(crate) fn presented(req: &Recorded) -> Result<Presented, String> {
    if let Some(header) = req.header("authorization") {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = decode_base64_lenient(rest).ok_or("Basic credentials are not valid base64")?;
            let decoded = String::from_utf8(decoded).map_err(|_| "Basic credentials are not UTF-8")?;
            let (id, secret) = decoded.split_once(':').ok_or("Basic credentials lack a ':'")?;
            if req.form_value("client_id").is_some_and(|form_id| !same_id(form_id, id)) {
                return Err("client_id in the form differs from the Basic credentials".into());
            }
            return Ok(Presented::Basic { id: id.to_string(), secret: secret.to_string() });
        }
    }
    match req.form_value("client_id") {
        Some(id) => {
            Ok(Presented::Form { id: id.to_string(), secret: req.form_value("client_secret").map(str::to_string) })
        }
        None => Ok(Presented::Nothing),
    }
}

/// RFC 6749 §2.3.1 form-encodes both parts before Basic; the Webex SDK does not.
/// Either reading of what was sent may be the right one.
fn readings(raw: &str) -> [String; 2] {
    let as_pair = format!("x={}", raw.replace('&', "%26"));
    let decoded: String =
        url::form_urlencoded::parse(as_pair.as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
    [raw.to_string(), decoded]
}

fn same_id(a: &str, b: &str) -> bool {
    readings(b).iter().any(|r| r == a)
}

fn find_client<'a>(clients: &'a [ClientRegistration], id: &str) -> Option<&'a ClientRegistration> {
    readings(id).iter().find_map(|r| clients.iter().find(|c| c.client_id == *r))
}

/// Secrets a public client may send instead of none at all (Node and browser SDKs).
fn is_public_placeholder(secret: &str) -> bool {
    secret.is_empty() || secret == "undefined"
}

fn secret_matches(client: &ClientRegistration, secret: Option<&str>) -> bool {
    match (&client.client_secret, secret) {
        (None, None) => true,
        (None, Some(sent)) => is_public_placeholder(sent),
        (Some(_), None) => false,
        (Some(expected), Some(sent)) => readings(sent).iter().any(|r| r == expected),
    }
}

/// Full client authentication, as at the token endpoint.
pub(crate) fn authenticate<'a>(
    clients: &'a [ClientRegistration],
    req: &Recorded,
) -> Result<&'a ClientRegistration, String> {
    let (id, secret) = match presented(req)? {
        Presented::Basic { id, secret } => (id, Some(secret)),
        Presented::Form { id, secret } => (id, secret),
        Presented::Nothing => return Err("no client credentials".into()),
    };
    let client = find_client(clients, &id).ok_or("unknown client")?;
    if secret_matches(client, secret.as_deref()) {
        Ok(client)
    } else if client.is_public() {
        Err("a public client has no secret".into())
    } else {
        Err("wrong client secret".into())
    }
}

/// Webex's device-authorize endpoint only needs to know the client; Basic, when sent,
/// must still be right.
pub(crate) fn identify<'a>(
    clients: &'a [ClientRegistration],
    req: &Recorded,
) -> Result<&'a ClientRegistration, String> {
    match presented(req)? {
        Presented::Basic { .. } => authenticate(clients, req),
        Presented::Form { secret: Some(_), .. } => authenticate(clients, req),
        Presented::Form { id, secret: None } => find_client(clients, &id).ok_or_else(|| "unknown client".into()),
        Presented::Nothing => Err("client_id is required".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    fn request(authorization: Option<&str>, form: &[(&str, &str)]) -> Recorded {
        Recorded {
            method: "POST".into(),
            path: "/v1/access_token".into(),
            query: String::new(),
            headers: authorization.map(|a| vec![("authorization".to_string(), a.to_string())]).unwrap_or_default(),
            body: String::new(),
            form: form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            at_ms: 0,
            status: 0,
        }
    }

    fn basic(raw: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }

    fn auth(authorization: Option<&str>, form: &[(&str, &str)]) -> Result<String, String> {
        let clients = EmulatorConfig::default().clients;
        authenticate(&clients, &request(authorization, form)).map(|c| c.client_id.clone())
    }

    fn with_clients(clients: Vec<ClientRegistration>, authorization: &str) -> Result<String, String> {
        authenticate(&clients, &request(Some(authorization), &[])).map(|c| c.client_id.clone())
    }

    #[test]
    fn basic_confidential() {
        assert_eq!(auth(Some(&basic("test-client:test-secret")), &[]).unwrap(), "test-client");
        assert_eq!(auth(Some(&basic("test-client:wrong")), &[]).unwrap_err(), "wrong client secret");
        assert!(auth(Some(&basic("nobody:x")), &[]).is_err());
        // lower-case scheme, unpadded base64
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("test-client:test-secret");
        assert!(auth(Some(&format!("basic {unpadded}")), &[]).is_ok());
    }

    #[test]
    fn basic_url_encoded_or_raw_parts() {
        let clients = vec![ClientRegistration {
            client_id: "C0:ab".into(),
            client_secret: Some("s+cr/t=%".into()),
            redirect_uris: vec![],
        }];
        assert!(with_clients(clients.clone(), &basic("C0%3Aab:s%2Bcr%2Ft%3D%25")).is_ok());
        // SDK style: nothing encoded; the first ':' separates, so the id must not contain one
        let clients2 = vec![ClientRegistration {
            client_id: "Cab".into(),
            client_secret: Some("s+cr/t=%".into()),
            redirect_uris: vec![],
        }];
        assert!(with_clients(clients2.clone(), &basic("Cab:s+cr/t=%")).is_ok());
        assert!(with_clients(clients2, &basic("Cab:s cr/t=%")).is_err());
    }

    #[test]
    fn public_client_variants() {
        assert!(auth(None, &[("client_id", "public-client")]).is_ok());
        assert!(auth(Some(&basic("public-client:")), &[]).is_ok());
        assert!(auth(Some(&basic("public-client:undefined")), &[]).is_ok());
        assert!(auth(None, &[("client_id", "public-client"), ("client_secret", "")]).is_ok());
        assert!(auth(Some(&basic("public-client:guess")), &[]).is_err());
    }

    #[test]
    fn form_credentials() {
        assert!(auth(None, &[("client_id", "test-client"), ("client_secret", "test-secret")]).is_ok());
        assert!(auth(None, &[("client_id", "test-client"), ("client_secret", "nope")]).is_err());
        // a confidential client must prove itself
        assert!(auth(None, &[("client_id", "test-client")]).is_err());
        assert!(auth(Some("Bearer abc"), &[]).is_err());
    }

    #[test]
    fn malformed_basic_is_invalid_client_not_a_panic() {
        assert!(auth(Some("Basic %%%not-base64"), &[]).is_err());
        assert!(auth(Some(&basic("no-colon")), &[]).is_err());
        assert!(auth(Some("Basic"), &[]).is_err());
        assert!(auth(Some(&basic("test-client:test-secret")), &[("client_id", "public-client")]).is_err());
    }

    #[test]
    fn identify_needs_no_secret() {
        let clients = EmulatorConfig::default().clients;
        let req = request(None, &[("client_id", "test-client")]);
        assert_eq!(identify(&clients, &req).unwrap().client_id, "test-client");
        let req = request(Some(&basic("test-client:bad")), &[]);
        assert!(identify(&clients, &req).is_err());
    }
}
