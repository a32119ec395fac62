//! Reading the redirect that ends an authorization request, and the sanitized URL the
//! app may show or keep (no code, no credential, no CSRF token, no email hash, no
//! fragment).

use serde_json::{Map, Value};
use url::Url;

use super::state;
use crate::error::Error;

#[derive(Default)]
pub struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
}

impl std::fmt::Debug for Redirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code and the state (which holds the CSRF token) are credentials.
        f.debug_struct("Redirect")
            .field("code", &self.code.as_ref().map(|_| "***"))
            .field("state", &self.state.as_ref().map(|_| "***"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("iss", &self.iss)
            .finish()
    }
}

/// Query parameters that carry a credential: never kept in a sanitized URL.
const CREDENTIAL_PARAMS: &[&str] =
    &["code", "access_token", "refresh_token", "id_token", "token", "client_secret", "code_verifier"];

pub fn parse(redirect_url: &str) -> Result<(Url, Redirect), Error> {
    let url = Url::parse(redirect_url).map_err(|e| Error::invalid(format!("redirect URL does not parse: {e}")))?;
    let mut r = Redirect::default();
    for (k, v) in url.query_pairs() {
        let slot = match k.as_ref() {
            "code" => &mut r.code,
            "state" => &mut r.state,
            "error" => &mut r.error,
            "error_description" => &mut r.error_description,
            "iss" => &mut r.iss,
            _ => continue,
        };
        // The first occurrence wins: a second `state` appended to a URL cannot override it.
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    Ok((url, r))
}

/// The redirect URL without `code` (or any other credential parameter), without a
/// fragment (`#access_token=...`), without user info, and without the CSRF token and
/// email hash in `state` (`state` disappears when nothing of the app's remains). Every
/// other parameter stays.
pub fn sanitize(url: &Url, app_state: Option<&Map<String, Value>>) -> String {
    let mut clean = url.clone();
    clean.set_fragment(None);
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !CREDENTIAL_PARAMS.contains(&k.as_ref()))
        .filter_map(|(k, v)| {
            if k == "state" {
                let app = app_state.filter(|m| !m.is_empty())?;
                Some((k.into_owned(), state::encode_state(app)))
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if pairs.is_empty() {
        clean.set_query(None);
    } else {
        clean.query_pairs_mut().clear().extend_pairs(pairs);
    }
    clean.into()
}

/// Webex codes may carry the user's org id as the third `_`-separated segment.
pub fn org_id_of_code(code: &str) -> Option<&str> {
    code.split('_').nth(2).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_code_and_the_state() {
        let (_, r) = parse("https://app.example/cb?code=SECRET-CODE&state=CSRF-IN-STATE").unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("SECRET-CODE") && !shown.contains("CSRF-IN-STATE"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn parse_takes_first_occurrence() {
        let (_, r) = parse("https://app/cb?code=c1&state=s1&state=s2&iss=x").unwrap();
        assert_eq!(r.code.as_deref(), Some("c1"));
        assert_eq!(r.state.as_deref(), Some("s1"));
        assert_eq!(r.iss.as_deref(), Some("x"));
        assert!(parse("not a url").is_err());
    }

    #[test]
    fn sanitize_drops_code_and_csrf_keeps_the_rest() {
        let (u, _) = parse("https://app/cb?code=c1&state=zzz&keep=1").unwrap();
        assert_eq!(sanitize(&u, None), "https://app/cb?keep=1");
        let mut app = Map::new();
        app.insert("page".into(), "home".into());
        let s = sanitize(&u, Some(&app));
        let (_, r) = parse(&s).unwrap();
        assert!(r.code.is_none());
        assert_eq!(state::decode_state(r.state.as_deref().unwrap()).unwrap(), app);
        let (u, _) = parse("https://app/cb?code=c1&state=zzz").unwrap();
        assert_eq!(sanitize(&u, Some(&Map::new())), "https://app/cb");
    }

    #[test]
    fn sanitize_drops_fragments_and_credentials() {
        let (u, r) =
            parse("https://user:pw@app/cb?code=c1&state=zzz&access_token=at&keep=1#access_token=at2&x=1").unwrap();
        let clean = sanitize(&u, None);
        assert_eq!(clean, "https://app/cb?keep=1");
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("c1") && !dbg.contains("zzz"), "{dbg}");
    }

    #[test]
    fn org_id() {
        assert_eq!(org_id_of_code("abc_PF84_org-1"), Some("org-1"));
        assert_eq!(org_id_of_code("abc"), None);
        assert_eq!(org_id_of_code("abc_x_"), None);
    }
}
