//! `--emulator`: the bundled Webex emulator, started in-process on a free loopback port
//! for the length of one command, playing the person who approves the login (after a
//! short delay, so the whole experience shows). Its tokens live in a store of their own.
//!
//! One command, one emulator: a later command starts a fresh emulator that has never
//! seen the stored token. `token` still works while that token is valid (it needs no
//! server); refreshing it, `whoami` and revoking it need the emulator that issued it
//! (see `carry_over`).

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{Map, Value, json};
use webex_auth_emulator::{Emulator, EmulatorConfig};

/// The emulator's confidential test client (registered by default).
const CLIENT_ID: &str = "test-client";
const CLIENT_SECRET: &str = "test-secret";

pub struct LocalEmulator {
    emulator: Arc<Emulator>,
    delay: Duration,
}

impl LocalEmulator {
    pub fn start(delay: Duration) -> LocalEmulator {
        let config = EmulatorConfig {
            // Polls every second instead of Webex's 5 s: the demo shows a few pending
            // polls, then the approval, without a long wait.
            device_interval_s: Some(1),
            ..EmulatorConfig::default()
        };
        LocalEmulator { emulator: Arc::new(Emulator::start(config)), delay }
    }

    /// The engine config keys that point at this emulator.
    pub fn engine_keys(&self) -> Map<String, Value> {
        let v = json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "webex_api_url": self.emulator.api_url(),
            "idbroker_url": self.emulator.idbroker_url(),
        });
        v.as_object().cloned().unwrap_or_default()
    }

    /// The guest issuer and its secret, for `jwt --emulator` (no server needed).
    pub fn guest_issuer() -> (String, String) {
        let c = EmulatorConfig::default();
        (c.guest_issuer, c.guest_secret_b64)
    }

    /// The emulated person approves `user_code` after the delay.
    pub fn approve_later(&self, user_code: &str) {
        let emulator = Arc::clone(&self.emulator);
        let (delay, code) = (self.delay, user_code.to_string());
        thread::spawn(move || {
            thread::sleep(delay);
            emulator.approve_user_code(&code);
        });
    }

    /// The emulated person opens `authorize_url` after the delay and consents; the
    /// emulator's redirect brings the code to the CLI's loopback listener (the test
    /// client's `http://127.0.0.1/callback` matches any port, RFC 8252 §7.3).
    pub fn consent_later(&self, authorize_url: &str) {
        let (delay, url) = (self.delay, authorize_url.to_string());
        thread::spawn(move || {
            thread::sleep(delay);
            // An API client (Accept: */*) gets the redirect at once, and ureq follows it
            // to the loopback listener. A failure shows as the login's own timeout.
            let _ = ureq::get(&url).call();
        });
    }
}
