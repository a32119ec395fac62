//! Login with Webex (OpenID Connect): the JWKS, cached process-wide by URL for as long as
//! its `Cache-Control: max-age` says, refetched at once when an id_token names a key it
//! does not hold (at most two fetches per login); and the id_token check of a code
//! exchange. The checks themselves are `protocol::id_token`'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use once_cell::sync::Lazy;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::Inner;
use crate::error::{Error, Status};
use crate::protocol::id_token::{self, Expected, Jwk};
use crate::transport::{self, Request};

/// Without a max-age from the server, keys are kept this long.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// Whatever the server says, keys are fetched again after a day.
const MAX_AGE_CAP: Duration = Duration::from_secs(24 * 3600);

struct Cached {
    keys: Arc<Vec<Jwk>>,
    fresh_until: Instant,
}

static JWKS: Lazy<Mutex<HashMap<String, Cached>>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn cached(url: &str) -> Option<Arc<Vec<Jwk>>> {
    let cache = JWKS.lock().unwrap_or_else(|p| p.into_inner());
    cache.get(url).filter(|c| c.fresh_until > Instant::now()).map(|c| Arc::clone(&c.keys))
}

async fn fetch(inner: &Inner) -> Result<Arc<Vec<Jwk>>, Error> {
    let url = &inner.config.endpoints.jwks;
    let req = Request::get("JWKS endpoint", url);
    let (body, max_age) = transport::execute_cacheable(&inner.config.http, &req, inner.policy(false)).await?;
    let keys = Arc::new(id_token::parse_jwks(&body)?);
    let ttl = max_age.unwrap_or(DEFAULT_MAX_AGE).min(MAX_AGE_CAP);
    let mut cache = JWKS.lock().unwrap_or_else(|p| p.into_inner());
    if ttl.is_zero() {
        cache.remove(url.as_str());
    } else {
        cache.insert(url.to_string(), Cached { keys: Arc::clone(&keys), fresh_until: Instant::now() + ttl });
    }
    Ok(keys)
}

/// Verifies the id_token of a code exchange; returns its claims. `nonce`: the login's,
/// when it sent one (then the token must carry it).
pub(super) async fn validate(inner: &Inner, token: &str, nonce: Option<&str>) -> Result<Map<String, Value>, Error> {
    let kid = id_token::header_kid(token)?;
    let (keys, fetched) = match cached(inner.config.endpoints.jwks.as_str()) {
        Some(k) => (k, false),
        None => (fetch(inner).await?, true),
    };
    // A key the cached JWKS does not have: the server rotated its keys. Fetch once more,
    // at once (no cooldown), and no more for this login.
    let keys = match id_token::candidates(&keys, kid.as_deref()) {
        Some(_) => keys,
        None if !fetched => fetch(inner).await?,
        None => keys,
    };
    let candidates = id_token::candidates(&keys, kid.as_deref()).ok_or_else(|| {
        Error::new(Status::IdToken, "the id_token is not valid: it names a signing key (kid) the JWKS does not have")
    })?;
    let issuers = inner.config.accepted_issuers();
    let expected = Expected { issuers: &issuers, audience: &inner.config.client_id, nonce, now: inner.now() };
    id_token::verify(token, &candidates, &expected)
}
