//! The shared store: configuration, outstanding codes, tokens, device logins, scripts
//! and recorded requests. One `std::sync::Mutex`, never held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::EmulatorConfig;
use crate::ids;
use crate::oidc::KeyRing;
use crate::script::{Endpoint, Recorded, Scripted};
use crate::tokens::Issued;

pub(crate) const CODE_TTL: Duration = Duration::from_secs(600);

pub(crate) struct Shared {
    pub started: Instant,
    pub base_url: String,
    /// Signs the guest access tokens of `jwt/login`; random per run (32 bytes).
    pub token_key: [u8; 32],
    store: Mutex<Store>,
}

pub(crate) type SharedRef = Arc<Shared>;

impl Shared {
    pub fn new(config: EmulatorConfig, base_url: String) -> Shared {
        Shared { started: Instant::now(), base_url, token_key: rand::random(), store: Mutex::new(Store::new(config)) }
    }

    /// A handler that panicked cannot leave the store half-updated in a way that
    /// matters to a test server, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

pub(crate) struct PendingCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scope: String,
    /// The authorize request's `nonce`, for the id_token.
    pub nonce: Option<String>,
    pub expires_at: Instant,
}

/// An authorize request shown on the consent page, waiting for the person's answer.
pub(crate) struct PendingConsent {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: Instant,
}

/// `people/me`'s `type`: Webex says `appuser` for guests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubjectType {
    Person,
    Bot,
    AppUser,
}

impl SubjectType {
    pub fn name(self) -> &'static str {
        match self {
            SubjectType::Person => "person",
            SubjectType::Bot => "bot",
            SubjectType::AppUser => "appuser",
        }
    }
}

/// Who a token speaks for; `/v1/people/me` answers with it.
#[derive(Clone, Debug)]
pub(crate) struct Subject {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub kind: SubjectType,
}

impl Subject {
    pub fn user() -> Subject {
        Subject {
            id: "emulated-user-0001".into(),
            display_name: "Emulated User".into(),
            email: "emulated.user@example.com".into(),
            kind: SubjectType::Person,
        }
    }
}

/// Tokens issued together share a grant; revoking one revokes the grant.
pub(crate) struct AccessToken {
    pub grant: u64,
    pub client_id: String,
    pub scope: String,
    pub subject: Subject,
    pub expires_at: Instant,
}

pub(crate) struct RefreshToken {
    pub grant: u64,
    pub client_id: String,
    pub scope: String,
    pub subject: Subject,
    pub expires_at: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were handed out; the device code is used up.
    Spent,
}

pub(crate) struct DeviceLogin {
    pub client_id: String,
    pub user_code: String,
    pub scope: String,
    pub expires_at: Instant,
    pub status: DeviceStatus,
}

pub(crate) struct Store {
    pub config: EmulatorConfig,
    pub codes: HashMap<String, PendingCode>,
    pub consents: HashMap<String, PendingConsent>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub devices: HashMap<String, DeviceLogin>,
    pub scripts: HashMap<Endpoint, VecDeque<Scripted>>,
    pub delays: HashMap<Endpoint, Duration>,
    pub requests: Vec<(Endpoint, Recorded)>,
    /// Signs id_tokens; the JWKS publishes it.
    pub keys: KeyRing,
    /// Guests of `guests/token`: (Service App, subject) -> the guest's id.
    pub guests: HashMap<(String, String), String>,
    /// A guest's current display name (the same subject again renames it).
    pub guest_names: HashMap<String, String>,
    next_grant: u64,
    /// How far the emulator's clock runs ahead of the real one (`clock/advance`).
    clock_offset: Duration,
}

impl Store {
    fn new(config: EmulatorConfig) -> Store {
        Store {
            config,
            codes: HashMap::new(),
            consents: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            devices: HashMap::new(),
            scripts: HashMap::new(),
            delays: HashMap::new(),
            requests: Vec::new(),
            keys: KeyRing::new(),
            guests: HashMap::new(),
            guest_names: HashMap::new(),
            next_grant: 1,
            clock_offset: Duration::ZERO,
        }
    }

    /// The emulator's "now": the monotonic clock plus every `advance_clock`. Every
    /// expiry (codes, tokens, device logins, guest JWTs) is judged by it.
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    /// Unix seconds on the emulator's clock, for JWT `iat`/`exp`.
    pub fn unix_now(&self) -> u64 {
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (wall + self.clock_offset).as_secs()
    }

    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset += by;
    }

    /// What was issued while the clock ran ahead keeps its (later) expiry.
    pub fn reset_clock(&mut self) {
        self.clock_offset = Duration::ZERO;
    }

    pub fn new_grant(&mut self) -> u64 {
        let grant = self.next_grant;
        self.next_grant += 1;
        grant
    }

    pub fn issue_access(&mut self, grant: u64, client_id: &str, scope: &str, subject: &Subject, ttl_s: u64) -> String {
        let token = ids::token(&self.config.org_id);
        self.remember_access(&token, grant, client_id, scope, subject, ttl_s);
        token
    }

    /// Records a token minted elsewhere (a guest JWT) so the API knows it.
    pub fn remember_access(
        &mut self,
        token: &str,
        grant: u64,
        client_id: &str,
        scope: &str,
        subject: &Subject,
        ttl_s: u64,
    ) {
        let expires_at = self.now() + Duration::from_secs(ttl_s);
        self.access_tokens.insert(
            token.to_string(),
            AccessToken {
                grant,
                client_id: client_id.to_string(),
                scope: scope.to_string(),
                subject: subject.clone(),
                expires_at,
            },
        );
    }

    /// A fresh grant: an access token, and a refresh token when asked for.
    pub fn issue(&mut self, client_id: &str, scope: &str, subject: &Subject, with_refresh: bool) -> Issued {
        let grant = self.new_grant();
        let expires_in = self.config.access_token_ttl_s;
        let access_token = self.issue_access(grant, client_id, scope, subject, expires_in);
        let refresh = with_refresh.then(|| {
            let ttl = self.config.refresh_token_ttl_s;
            let token = ids::token(&self.config.org_id);
            let expires_at = self.now() + Duration::from_secs(ttl);
            self.refresh_tokens.insert(
                token.clone(),
                RefreshToken {
                    grant,
                    client_id: client_id.to_string(),
                    scope: scope.to_string(),
                    subject: subject.clone(),
                    expires_at,
                },
            );
            (token, ttl)
        });
        Issued { access_token, expires_in, refresh, scope: scope.to_string() }
    }

    pub fn is_access_token_valid(&self, token: &str) -> bool {
        self.access_tokens.get(token).is_some_and(|t| t.expires_at > self.now())
    }

    /// The grant a token (access or refresh) belongs to, if it is known.
    pub fn grant_of(&self, token: &str) -> Option<(u64, &str)> {
        self.access_tokens
            .get(token)
            .map(|t| (t.grant, t.client_id.as_str()))
            .or_else(|| self.refresh_tokens.get(token).map(|t| (t.grant, t.client_id.as_str())))
    }

    pub fn revoke_grant(&mut self, grant: u64) {
        self.access_tokens.retain(|_, t| t.grant != grant);
        self.refresh_tokens.retain(|_, t| t.grant != grant);
    }

    pub fn script_next(&mut self, endpoint: Endpoint) -> Option<Scripted> {
        self.scripts.get_mut(&endpoint).and_then(VecDeque::pop_front)
    }

    pub fn find_device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceLogin> {
        let wanted = ids::normalize_user_code(user_code);
        if wanted.is_empty() {
            return None;
        }
        self.devices.values_mut().find(|d| ids::normalize_user_code(&d.user_code) == wanted)
    }

    /// Moves a pending, unexpired device login to `to` (repeating the same decision is
    /// fine); false when there is no such login.
    pub fn decide_user_code(&mut self, user_code: &str, to: DeviceStatus) -> bool {
        let now = self.now();
        match self.find_device_by_user_code(user_code) {
            Some(device)
                if device.expires_at > now && (device.status == DeviceStatus::Pending || device.status == to) =>
            {
                device.status = to;
                true
            }
            _ => false,
        }
    }
}
