//! One command's client: built from the settings with the token store attached (the
//! engine loads the token at creation and writes it after every change), and a loop
//! that runs one operation to its end while showing its flow events. Ctrl-C cancels
//! the operation instead of killing the process, so the engine ends it cleanly.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use webex_auth::{Client, EventSink, EventType, OpId};

use crate::args::Global;
use crate::config::{self, Settings, StoreLocation};
use crate::emulator::LocalEmulator;
use crate::exit::{CliError, Kind};
use crate::keyfile;

/// What the operation loop hands to a command while its operation runs. Only what the
/// CLI shows crosses over: token payloads never leave the event callback.
pub enum Progress {
    /// Device login: the user code is ready (`userCode`, `verificationUri`, ...).
    UserCode(Value),
    /// Device login: a poll answered "pending".
    Pending,
    /// Nothing happened for a while (redraw a countdown).
    Tick,
}

enum Msg {
    UserCode(OpId, Value),
    Pending(OpId),
    Done(OpId),
    Interrupt,
}

/// Whether the command may create the store's key (a login) or needs an existing one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    NewLogin,
    ExistingLogin,
}

pub struct Session {
    pub client: Client,
    pub settings: Settings,
    pub emulator: Option<LocalEmulator>,
    events: Mutex<Receiver<Msg>>,
}

const TICK: Duration = Duration::from_millis(250);

impl Session {
    pub fn open(global: &Global, need: Need) -> Result<Session, CliError> {
        let emulator = global.emulator.then(|| LocalEmulator::start(Duration::from_millis(global.emulator_delay_ms)));
        let settings = config::resolve(global, emulator.as_ref().map(LocalEmulator::engine_keys))?;
        if let StoreLocation::File { key_file, .. } = &settings.store {
            prepare_key(key_file, need)?;
        }
        let mut engine = settings.engine.clone();
        engine.insert("token_store".into(), settings.store.to_config());
        let config_json = Value::Object(engine).to_string();

        let (tx, rx) = mpsc::channel();
        install_interrupt(tx.clone());
        let client = Client::new(&config_json, Some(sink(tx))).map_err(|e| {
            let mut err = CliError::engine(&e);
            if err.kind == Kind::Usage {
                err.message = format!("configuration: {}", err.message);
            }
            err
        })?;
        Ok(Session { client, settings, emulator, events: Mutex::new(rx) })
    }

    /// Runs operation `op` to its end, handing its progress to `on_progress`; gives its
    /// result (`{"ok":true,...}`) or its failure. `deadline`: cancel it then and call it
    /// a timeout. Ctrl-C cancels it (exit code 7).
    pub fn run(
        &self,
        op: OpId,
        deadline: Option<Instant>,
        mut on_progress: impl FnMut(Progress),
    ) -> Result<Value, CliError> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let mut timed_out = false;
        loop {
            let wait = match deadline {
                Some(d) if !timed_out => d.saturating_duration_since(Instant::now()).min(TICK),
                _ => TICK,
            };
            match events.recv_timeout(wait) {
                Ok(Msg::Done(id)) if id == op => break,
                Ok(Msg::UserCode(id, payload)) if id == op => on_progress(Progress::UserCode(payload)),
                Ok(Msg::Pending(id)) if id == op => on_progress(Progress::Pending),
                Ok(Msg::Interrupt) => {
                    let _ = self.client.cancel(op);
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) && !timed_out {
                        timed_out = true;
                        let _ = self.client.cancel(op);
                    }
                    on_progress(Progress::Tick);
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(events);
        let text = self
            .client
            .wait(op, Some(Duration::from_secs(10)))?
            .ok_or_else(|| CliError::other("the operation ended but its result did not come"))?;
        let result: Value = serde_json::from_str(text.as_str())
            .map_err(|e| CliError::other(format!("the engine's result is not JSON: {e}")))?;
        if result["ok"] == true {
            return Ok(result);
        }
        if timed_out {
            return Err(CliError::new(Kind::Timeout, "gave up waiting (--timeout)"));
        }
        let mut err = CliError::from_result(&result);
        if self.emulator.is_some() && err.kind == Kind::NotLoggedIn {
            err.message.push_str(
                " (--emulator: each command starts a fresh emulator, which does not know the tokens an earlier one issued)",
            );
        }
        Err(err)
    }

    /// The stored token's fields (`expires_at`, `scope`, ...), or `None` when logged out.
    pub fn token(&self) -> Result<Option<Value>, CliError> {
        match self.client.get_token() {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| CliError::other(format!("the engine's token is not JSON: {e}"))),
            Err(e) if e.status() == webex_auth::Status::NotAuthorized => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A login creates the store's key; other commands need it (no key: nothing was ever
/// stored with it).
fn prepare_key(key_file: &Path, need: Need) -> Result<(), CliError> {
    match need {
        Need::NewLogin => keyfile::ensure(key_file).map(|_| ()),
        Need::ExistingLogin if key_file.exists() => Ok(()),
        Need::ExistingLogin => Err(CliError::not_logged_in()),
    }
}

/// The engine's event callback: forwards what the CLI shows, drops the rest (token
/// payloads included) where it is delivered.
fn sink(tx: Sender<Msg>) -> EventSink {
    Arc::new(move |kind, op, payload| {
        let msg = match kind {
            EventType::UserCode => match serde_json::from_str(payload) {
                Ok(v) => Msg::UserCode(op, v),
                Err(_) => return,
            },
            EventType::AuthorizationPending => Msg::Pending(op),
            EventType::Done => Msg::Done(op),
            _ => return,
        };
        let _ = tx.send(msg);
    })
}

/// Ctrl-C becomes a message to the operation loop; a second Ctrl-C (the operation did
/// not end) exits at once with 130, as an uncaught SIGINT would. One handler per
/// process: a second session (there is none today) would keep the first one's.
fn install_interrupt(tx: Sender<Msg>) {
    let tx = Mutex::new(tx);
    let presses = AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(130);
        }
        if let Ok(tx) = tx.lock() {
            let _ = tx.send(Msg::Interrupt);
        }
    });
}
