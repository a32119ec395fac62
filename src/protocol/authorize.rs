//! The authorize URL of the Authorization Code grant with PKCE and CSRF-bound state.

use rand::{CryptoRng, Rng};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;
use zeroize::Zeroizing;

use super::UnixMs;
use super::pkce;
use super::state::{self, PendingLogin};
use crate::error::Error;

/// `wxa_initiate_login` options (docs/C-API.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginOptions {
    pub email: Option<String>,
    pub state: Option<Map<String, Value>>,
    pub scope: Option<String>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
}

impl LoginOptions {
    pub fn from_json(json: &str) -> Result<LoginOptions, Error> {
        if json.trim().is_empty() {
            return Ok(LoginOptions::default());
        }
        let opts: LoginOptions = super::json::from_str("login options", json)?;
        opts.check()?;
        Ok(opts)
    }

    /// The app's state may not use the engine's own keys.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(s) = &self.state {
            if s.contains_key(state::CSRF_KEY) || s.contains_key(state::EMAIL_HASH_KEY) {
                return Err(Error::invalid("login options: state may not carry csrf_token or emailhash"));
            }
        }
        Ok(())
    }
}

pub struct AuthorizeRequest<'a> {
    pub authorize_url: &'a Url,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub default_scope: &'a str,
    pub login_ttl_ms: i64,
}

/// Builds the URL the user's browser opens and the pending login its redirect must match.
pub fn build<R: Rng + CryptoRng>(
    req: &AuthorizeRequest<'_>,
    opts: &LoginOptions,
    rng: &mut R,
    now: UnixMs,
) -> (String, PendingLogin) {
    let verifier = Zeroizing::new(pkce::new_verifier(rng));
    let csrf = Zeroizing::new(state::new_csrf_token(rng));
    let scope = opts.scope.as_deref().unwrap_or(req.default_scope);
    // OpenID Connect: a nonce binds the id_token to this login (Webex requires one
    // whenever `openid` is asked for).
    let nonce = scope.split_whitespace().any(|s| s == "openid").then(|| Zeroizing::new(state::new_csrf_token(rng)));
    let email_hash = opts.email.as_deref().map(state::email_hash);

    let mut fields = opts.state.clone().unwrap_or_default();
    fields.insert(state::CSRF_KEY.into(), Value::from(csrf.as_str()));
    if let Some(h) = &email_hash {
        fields.insert(state::EMAIL_HASH_KEY.into(), Value::from(h.as_str()));
    }

    let mut url = req.authorize_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", req.client_id)
            .append_pair("redirect_uri", req.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &state::encode_state(&fields))
            .append_pair("code_challenge", &pkce::challenge_s256(&verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(h) = &email_hash {
            q.append_pair("emailHash", h);
        }
        if let Some(p) = &opts.prompt {
            q.append_pair("prompt", p);
        }
        if let Some(h) = &opts.login_hint {
            q.append_pair("login_hint", h);
        }
        if let Some(n) = &nonce {
            q.append_pair("nonce", n);
        }
    }
    let login = PendingLogin {
        csrf_token: csrf,
        code_verifier: verifier,
        app_state: opts.state.clone().unwrap_or_default(),
        redirect_uri: req.redirect_uri.to_owned(),
        nonce,
        created_at: now,
        expires_at: now.saturating_add(req.login_ttl_ms),
    };
    (url.into(), login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn url_carries_pkce_state_and_hash_never_the_email() {
        let base = Url::parse("https://webexapis.com/v1/authorize").unwrap();
        let req = AuthorizeRequest {
            authorize_url: &base,
            client_id: "cid",
            redirect_uri: "https://app/cb",
            default_scope: "spark:all",
            login_ttl_ms: 600_000,
        };
        let opts = LoginOptions::from_json(r#"{"email":"Someone@Example.com","state":{"page":"x"},"prompt":"login"}"#)
            .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let (u, login) = build(&req, &opts, &mut rng, 1_000);
        assert!(!u.to_lowercase().contains("someone"));
        let parsed = Url::parse(&u).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge"], pkce::challenge_s256(&login.code_verifier));
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["emailHash"], state::email_hash("Someone@Example.com"));
        assert_eq!(q["prompt"], "login");
        let st = state::decode_state(&q["state"]).unwrap();
        assert_eq!(st["csrf_token"], login.csrf_token.as_str());
        assert_eq!(st["page"], "x");
        assert_eq!(st["emailhash"], q["emailHash"].as_str());
        assert_eq!(login.expires_at, 601_000);
    }

    #[test]
    fn options_are_checked() {
        assert!(LoginOptions::from_json("").is_ok());
        assert!(LoginOptions::from_json(r#"{"bogus":1}"#).unwrap_err().message().contains("bogus"));
        assert!(LoginOptions::from_json(r#"{"state":{"csrf_token":"x"}}"#).is_err());
        assert!(LoginOptions::from_json(r#"{"state":"text"}"#).is_err());
    }
}
