//! Guest sessions: trade a guest-issuer JWT for an access token, and keep the session
//! alive — by re-signing when the config holds the issuer secret, else by asking the
//! app for a fresh JWT (`jwt:refresh`) and waiting for it.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{EventType, Inner, OpId, OpKind, clock};
use crate::error::{Error, Status};
use crate::protocol::token::{self, Supertoken};
use crate::secret::Secret;
use crate::transport::{self, Request};

pub fn start_login_with_jwt(inner: &Arc<Inner>, jwt: &str) -> Result<OpId, Error> {
    if jwt.split('.').count() != 3 || jwt.chars().any(char::is_whitespace) {
        return Err(Error::invalid("`jwt` is not a compact JWS (three dot-separated parts)"));
    }
    let jwt = Secret::new(jwt);
    inner.spawn_op(OpKind::JwtLogin, move |inner, op| async move {
        let t = jwt_login(&inner, jwt).await?;
        Ok(inner.install_login(t, true, op).await)
    })
}

async fn jwt_login(inner: &Arc<Inner>, jwt: Secret) -> Result<Supertoken, Error> {
    let cfg = &inner.config;
    // The SDK sends the JWT as the whole header value, no scheme word.
    let req = Request::post("JWT login endpoint", &cfg.endpoints.jwt_login).authorization(jwt);
    let mut body = transport::execute(&inner.config.http, &req, inner.policy(false)).await?;
    let t = token::parse_jwt_login_response(&body, inner.now());
    crate::secret::wipe_map(&mut body);
    t
}

/// Renews a guest token (the refresh path of a guest session) that belongs to `epoch`.
pub(super) async fn renew(inner: &Arc<Inner>, origin: OpId, epoch: u64) -> Result<Supertoken, Error> {
    if let Some(identity) = &inner.config.guest {
        let jwt = identity
            .sign(clock::now_ms() / 1000, inner.config.guest_expires_in_s, || uuid::Uuid::new_v4().to_string())?;
        let t = jwt_login(inner, Secret::new(jwt)).await?;
        return match inner.store_token_if(Some(epoch), t.clone(), true, origin, true, false) {
            Some(_) => Ok(t),
            None => Err(Error::new(Status::Canceled, "the guest renewal was superseded (logout or set_token)")),
        };
    }
    // No secret here: ask the app, then wait for the token it brings (bounded by the
    // same deadline as one request).
    let mut changes = inner.token_generation.subscribe();
    changes.mark_unchanged();
    let expires_at = inner.snapshot().and_then(|(t, _, _)| t.expires_at);
    let mut m = Map::new();
    m.insert("expires_at".into(), Value::from(expires_at));
    inner.emit(EventType::JwtRefresh, origin, m);
    let waited = tokio::time::timeout(inner.config.timeout, changes.changed()).await;
    match (waited, inner.snapshot()) {
        (Ok(Ok(())), Some((t, _, _))) => Ok(t),
        _ => Err(Error::new(
            Status::NotAuthorized,
            "the guest token needs a fresh JWT (jwt:refresh was emitted) and none came through login_with_jwt in time",
        )),
    }
}
