//! A local Webex identity broker for webex-auth's tests, examples and benchmarks, and an
//! offline Webex for the official Webex JS SDK.
//!
//! It speaks the Webex dialect of every endpoint the engine uses (authorize with its
//! consent page, token, device with its verification page, guest JWT, logout, revoke,
//! people/me, Service App and guest tokens, OpenID Connect keys, userinfo and
//! discovery) at the public `/v1` paths, the identity broker's `/idb/oauth2/v1` paths,
//! the oauth-helper's and the U2C catalog's, for the commercial cloud and (under
//! `/fedramp`) FedRAMP's, on loopback. A test scripts answers, adds delays, approves
//! device codes, moves the clock, rotates keys and inspects what it received: from Rust
//! through [`Emulator`], from other languages through the `/_emulator/*` endpoints.
#![forbid(unsafe_code)]
// Handlers answer `Result<Response, Response>`: the error is the client's whole HTTP
// answer, built once per request on a test server, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod admin;
mod catalog;
mod client_auth;
mod cloud;
mod config;
mod control;
mod device;
mod guest;
mod handler;
mod ids;
mod oauth;
mod oidc;
mod pages;
mod pkce;
mod reply;
mod script;
mod sdk;
mod server;
mod service_app;
mod session;
mod state;
mod tokens;

use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{
    ClientRegistration, Consent, DEFAULT_SERVICE_APP_SCOPE, EmulatorConfig, MIN_GUEST_SECRET_BYTES, ServiceApp,
    check_guest_secret, check_org_id, parse_client_spec, parse_guest_issuer_spec, parse_service_app_spec,
};
pub use pkce::challenge_s256;
pub use script::{Endpoint, Recorded, Scripted};
pub use sdk::{sdk_config, sdk_snippet};
pub use service_app::application_id;

use state::Shared;

/// A running emulator. Dropping it stops the server and joins its thread.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no loopback port can be bound or no thread started: a test cannot go on.
    pub fn start(config: EmulatorConfig) -> Emulator {
        Emulator::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .unwrap_or_else(|e| panic!("webex-auth-emulator: cannot start on 127.0.0.1:0: {e}"))
    }

    /// Starts on `addr`, which must be a loopback address: this is a test server that
    /// hands out tokens to anyone who asks. Returns once the socket is listening.
    pub fn start_on(config: EmulatorConfig, addr: SocketAddr) -> std::io::Result<Emulator> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("refusing to listen on non-loopback address {}", addr.ip()),
            ));
        }
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let thread = std::thread::Builder::new().name("webex-auth-emulator".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        eprintln!("webex-auth-emulator: {e}");
                        return;
                    }
                };
                tokio::select! {
                    result = axum::serve(listener, app).into_future() => {
                        if let Err(e) = result {
                            eprintln!("webex-auth-emulator: server stopped: {e}");
                        }
                    }
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels connections still open (keep-alive, drips).
            drop(runtime);
        })?;
        Ok(Emulator { shared, addr, shutdown: Some(shutdown), thread: Some(thread) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The engine's `webex_api_url`.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.shared.base_url)
    }

    /// The engine's `idbroker_url`.
    pub fn idbroker_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The full URL of one endpoint (its public path), e.g. for `revoke_url`.
    pub fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.shared.base_url, server::path(endpoint))
    }

    /// Every URL an endpoint answers at: the public path first, then the identity
    /// broker's, oauth-helper's or U2C's.
    pub fn urls(&self, endpoint: Endpoint) -> Vec<String> {
        server::paths(endpoint).into_iter().map(|path| format!("{}{path}", self.shared.base_url)).collect()
    }

    /// The U2C service catalog base (the SDK's `services.discovery.u2c`).
    pub fn u2c_url(&self) -> String {
        format!("{}{}", self.shared.base_url, catalog::U2C_PATH)
    }

    /// The device verification page (`verification_uri`).
    pub fn verification_url(&self) -> String {
        format!("{}{}", self.shared.base_url, device::VERIFY_PATH)
    }

    /// The Webex JS SDK's `config` pointing at this emulator, for `client_id` (the first
    /// registered client when `None`).
    pub fn sdk_config(&self, client_id: Option<&str>) -> Option<serde_json::Value> {
        let config = self.shared.config();
        let client = match client_id {
            Some(id) => config.client(id),
            None => config.clients.first(),
        }?;
        Some(sdk::sdk_config(&self.shared.base_url, client))
    }

    /// FedRAMP's `webex_api_url` on this emulator (`BASE/fedramp/v1`).
    pub fn fedramp_api_url(&self) -> String {
        format!("{}{}/v1", self.shared.base_url, cloud::FEDRAMP_PREFIX)
    }

    /// FedRAMP's `idbroker_url` on this emulator (`BASE/fedramp`).
    pub fn fedramp_idbroker_url(&self) -> String {
        format!("{}{}", self.shared.base_url, cloud::FEDRAMP_PREFIX)
    }

    /// The id_token issuer of the commercial cloud (`BASE/idb` unless configured).
    pub fn oidc_issuer(&self) -> String {
        let configured = self.shared.config().oidc_issuer;
        oidc::issuer(&self.shared, cloud::Cloud::Commercial, configured.as_deref())
    }

    /// Webex's documented `jwks_uri`: `BASE/v1/verification`.
    pub fn jwks_url(&self) -> String {
        format!("{}/v1/verification", self.shared.base_url)
    }

    /// A new id_token signing key under a new kid; the old ones stay in the JWKS when
    /// `keep_old`. Returns the new kid.
    pub fn rotate_signing_key(&self, keep_old: bool) -> String {
        self.shared.lock().keys.rotate(keep_old)
    }

    /// The kids the JWKS publishes; the last one signs.
    pub fn signing_kids(&self) -> Vec<String> {
        self.shared.lock().keys.kids()
    }

    /// Whether a Full Admin of the org authorized Service App `client_id`; false when
    /// there is no such Service App.
    pub fn set_service_app_authorized(&self, client_id: &str, authorized: bool) -> bool {
        self.shared.set_service_app_authorized(client_id, authorized)
    }

    /// Moves the emulator's clock forward: codes, tokens, refresh tokens, device logins
    /// and guest JWTs all expire `by` sooner.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// Sets the clock back to the real time (what was issued meanwhile keeps its expiry).
    pub fn reset_clock(&self) {
        self.shared.reset_clock();
    }

    /// Queues answers for the next requests to `endpoint`, after any already queued.
    /// Requests are still recorded.
    pub fn script(&self, endpoint: Endpoint, responses: Vec<Scripted>) {
        self.shared.script(endpoint, responses);
    }

    /// Drops every queued scripted answer.
    pub fn clear_scripts(&self) {
        self.shared.clear_scripts();
    }

    /// Every request received at `endpoint`, in arrival order.
    pub fn requests(&self, endpoint: Endpoint) -> Vec<Recorded> {
        self.shared.requests(Some(endpoint)).into_iter().map(|(_, r)| r).collect()
    }

    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Every real (unscripted) answer at `endpoint` waits this long; zero removes it.
    pub fn set_delay(&self, endpoint: Endpoint, delay: Duration) {
        self.shared.set_delay(endpoint, delay);
    }

    /// Approves a pending device login (dash, spaces and case do not matter).
    pub fn approve_user_code(&self, user_code: &str) -> bool {
        self.shared.approve_user_code(user_code)
    }

    pub fn deny_user_code(&self, user_code: &str) -> bool {
        self.shared.deny_user_code(user_code)
    }

    /// User codes of device logins still waiting for a decision.
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared.pending_user_codes()
    }

    /// Every refresh token issued so far answers `invalid_grant` from now on.
    pub fn expire_refresh_tokens(&self) {
        self.shared.expire_refresh_tokens();
    }

    pub fn is_access_token_valid(&self, token: &str) -> bool {
        self.shared.is_access_token_valid(token)
    }

    pub fn guest_secret_b64(&self) -> String {
        self.shared.config().guest_secret_b64
    }

    pub fn guest_issuer(&self) -> String {
        self.shared.config().guest_issuer
    }

    /// A snapshot of the current configuration.
    pub fn config(&self) -> EmulatorConfig {
        self.shared.config()
    }

    /// Changes the configuration for later requests.
    pub fn update_config(&self, f: impl FnOnce(&mut EmulatorConfig)) {
        self.shared.update_config(f);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("base_url", &self.shared.base_url).finish()
    }
}
