//! Logout: revoke at the server (Webex's logout endpoint, or RFC 7009 at `revoke_url`),
//! then clear the local token and emit `logout` — even when the server call failed.

use std::sync::Arc;

use serde_json::{Map, json};

use super::{EventType, Inner, OpId, OpKind};
use crate::error::Error;
use crate::secret::Secret;
use crate::transport::{self, ClientAuth, Request, RequestBody};

pub fn start_logout(inner: &Arc<Inner>) -> Result<OpId, Error> {
    inner.spawn_op(OpKind::Logout, |inner, op| async move {
        let server = match inner.snapshot() {
            Some((tok, _)) => revoke(&inner, &tok).await,
            None => Ok(()),
        };
        {
            let mut st = inner.lock();
            inner.clear_token(&mut st);
        }
        inner.emit(EventType::Logout, op, Map::new());
        server.map(|_| Map::new())
    })
}

async fn revoke(inner: &Arc<Inner>, tok: &crate::protocol::token::Supertoken) -> Result<(), Error> {
    let cfg = &inner.config;
    // Revoking the refresh token ends the whole grant; the access token alone would not.
    let (token, hint) = match &tok.refresh_token {
        Some(r) => (r.clone(), "refresh_token"),
        None => (tok.access_token.clone(), "access_token"),
    };
    let req = match &cfg.endpoints.revoke {
        Some(url) => Request {
            endpoint: "revocation endpoint",
            url: url.clone(),
            body: RequestBody::Form(vec![("token", token), ("token_type_hint", Secret::new(hint))]),
            auth: cfg.client_auth(),
            authorization: None,
            replay_safe: true,
        },
        None => Request {
            endpoint: "logout endpoint",
            url: cfg.endpoints.logout.clone(),
            body: RequestBody::Json(json!({"token": token.expose(), "cisService": "webex"})),
            auth: ClientAuth::None,
            authorization: None,
            replay_safe: true,
        },
    };
    transport::execute(&req, inner.policy(true)).await?;
    Ok(())
}
