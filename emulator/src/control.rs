//! Test-side controls, shared by the library API and the HTTP admin endpoints.

use std::time::Duration;

use crate::config::EmulatorConfig;
use crate::script::{Endpoint, Recorded, Scripted};
use crate::state::{DeviceStatus, Shared};

impl Shared {
    pub fn script(&self, endpoint: Endpoint, responses: Vec<Scripted>) {
        self.lock().scripts.entry(endpoint).or_default().extend(responses);
    }

    pub fn clear_scripts(&self) {
        self.lock().scripts.clear();
    }

    pub fn requests(&self, endpoint: Option<Endpoint>) -> Vec<(Endpoint, Recorded)> {
        self.lock().requests.iter().filter(|(e, _)| endpoint.is_none_or(|wanted| *e == wanted)).cloned().collect()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    pub fn set_delay(&self, endpoint: Endpoint, delay: Duration) {
        let mut store = self.lock();
        if delay.is_zero() {
            store.delays.remove(&endpoint);
        } else {
            store.delays.insert(endpoint, delay);
        }
    }

    pub fn approve_user_code(&self, user_code: &str) -> bool {
        self.lock().decide_user_code(user_code, DeviceStatus::Approved)
    }

    pub fn deny_user_code(&self, user_code: &str) -> bool {
        self.lock().decide_user_code(user_code, DeviceStatus::Denied)
    }

    pub fn pending_user_codes(&self) -> Vec<String> {
        let store = self.lock();
        let now = store.now();
        store
            .devices
            .values()
            .filter(|d| d.status == DeviceStatus::Pending && d.expires_at > now)
            .map(|d| d.user_code.clone())
            .collect()
    }

    pub fn set_service_app_authorized(&self, client_id: &str, authorized: bool) -> bool {
        let mut store = self.lock();
        match store.config.service_apps.iter_mut().find(|a| a.client_id == client_id) {
            Some(app) => {
                app.authorized = authorized;
                true
            }
            None => false,
        }
    }

    pub fn advance_clock(&self, by: Duration) {
        self.lock().advance_clock(by);
    }

    pub fn reset_clock(&self) {
        self.lock().reset_clock();
    }

    pub fn expire_refresh_tokens(&self) {
        self.lock().refresh_tokens.clear();
    }

    pub fn is_access_token_valid(&self, token: &str) -> bool {
        self.lock().is_access_token_valid(token)
    }

    pub fn config(&self) -> EmulatorConfig {
        self.lock().config.clone()
    }

    pub fn update_config(&self, f: impl FnOnce(&mut EmulatorConfig)) {
        f(&mut self.lock().config);
    }
}
