//! What every endpoint handler starts with: the method check, the caller's client
//! authentication, the required parameters. Each step answers the client's error on
//! failure, so a handler is a row of `?`s followed by the real work.

use axum::response::Response;

use crate::client_auth;
use crate::config::ClientRegistration;
use crate::reply;
use crate::script::Recorded;

/// A handler's answer; `Err` carries the error response of a failed preamble step.
pub(crate) type Answer = Result<Response, Response>;

pub(crate) fn method(req: &Recorded, allowed: &[&str]) -> Result<(), Response> {
    if allowed.contains(&req.method.as_str()) { Ok(()) } else { Err(reply::method_not_allowed()) }
}

/// A form parameter that must be present: `invalid_request` naming it otherwise.
pub(crate) fn form<'r>(req: &'r Recorded, key: &str) -> Result<&'r str, Response> {
    req.form_value(key).ok_or_else(|| reply::oauth_error(400, "invalid_request", &format!("{key} is required")))
}

/// A query parameter that must be present.
pub(crate) fn query(req: &Recorded, key: &str) -> Result<String, Response> {
    req.query_value(key).ok_or_else(|| reply::oauth_error(400, "invalid_request", &format!("{key} is required")))
}

/// Full client authentication, as at the token endpoint; `invalid_client` (401) otherwise.
pub(crate) fn client(clients: &[ClientRegistration], req: &Recorded) -> Result<ClientRegistration, Response> {
    client_auth::authenticate(clients, req).cloned().map_err(|why| reply::invalid_client(&why))
}

/// The client named by the request, secret checked only when one is sent (device authorize).
pub(crate) fn identified_client(
    clients: &[ClientRegistration],
    req: &Recorded,
) -> Result<ClientRegistration, Response> {
    client_auth::identify(clients, req).cloned().map_err(|why| reply::invalid_client(&why))
}
