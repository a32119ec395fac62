//! Logout: clear the local token at once (no refresh in flight may bring it back, kept
//! results lose their tokens), then revoke it at the server (Webex's logout endpoint, or
//! RFC 7009 at `revoke_url`) and emit `logout` — even when the server call failed.

use std::sync::Arc;

use serde_json::{Map, json};

use super::{EventType, Inner, OpId, OpKind};
use crate::error::Error;
use crate::protocol::token::Supertoken;
use crate::secret::wipe_value;
use crate::transport::{self, Request};

pub fn start_logout(inner: &Arc<Inner>) -> Result<OpId, Error> {
    let taken = {
        let mut st = inner.lock();
        inner.clear_token(&mut st)
    };
    inner.events.supersede_token();
    inner.ops.scrub_tokens();
    inner.token_generation.send_modify(|g| *g += 1);
    inner.spawn_op(OpKind::Logout, |inner, op| async move {
        let server = match &taken {
            Some(tok) => revoke(&inner, tok).await,
            None => Ok(()),
        };
        drop(taken);
        // The store forgets the token too (other instances follow).
        let store_error = inner.persist_change().await;
        inner.emit(EventType::Logout, op, Map::new());
        server.map(|_| {
            let mut m = Map::new();
            if let Some(e) = store_error {
                m.insert("store_error".into(), e.into());
            }
            m
        })
    })
}

async fn revoke(inner: &Arc<Inner>, tok: &Supertoken) -> Result<(), Error> {
    let cfg = &inner.config;
    // Revoking the refresh token ends the whole grant; the access token alone would not.
    let (token, hint) = match &tok.refresh_token {
        Some(r) => (r.clone(), "refresh_token"),
        None => (tok.access_token.clone(), "access_token"),
    };
    let req = match &cfg.endpoints.revoke {
        Some(url) => Request::post("revocation endpoint", url)
            .secret("token", token)
            .param("token_type_hint", hint)
            .client_auth(cfg.client_auth()),
        None => Request::post("logout endpoint", &cfg.endpoints.logout)
            .json(json!({"token": token.expose(), "cisService": "webex"})),
    };
    let r = transport::execute(&cfg.http, &req, inner.policy(true)).await;
    wipe_request(req);
    r.map(|_| ())
}

/// A JSON body is a plain value, not a `Secret`: wipe the token in it by hand.
fn wipe_request(req: Request) {
    if let crate::transport::RequestBody::Json(mut v) = req.body {
        wipe_value(&mut v);
    }
}
