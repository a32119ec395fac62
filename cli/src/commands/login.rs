//! `webex-auth login`: the device login (a code, a QR code and a spinner while the
//! engine polls) or, with `--browser`, the loopback login in the system browser. What
//! people read goes to stderr; `--json` writes one JSON line per step on stdout.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::args::{Global, LoginArgs};
use crate::commands::whoami;
use crate::exit::CliError;
use crate::output::{self, print_json, short_duration};
use crate::session::{Need, Progress, Session};

/// The spinner's frames (braille dots, as most terminals draw them); the last one is
/// indicatif's "finished" frame.
const SPINNER_FRAMES: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✓"];

pub fn run(global: &Global, args: &LoginArgs) -> Result<(), CliError> {
    let session = Session::open(global, Need::NewLogin)?;
    let deadline = args.timeout.map(|s| Instant::now() + Duration::from_secs(s));
    let result = if args.browser {
        browser(&session, global, args, deadline)?
    } else {
        device(&session, global, args, deadline)?
    };
    report_success(&session, global, &result)
}

fn device(session: &Session, global: &Global, args: &LoginArgs, deadline: Option<Instant>) -> Result<Value, CliError> {
    let op = session.client.start_device_login()?;
    let spinner = Spinner::new(global.json);
    let mut expires_at: Option<Instant> = None;
    let result = session.run(op, deadline, |progress| match progress {
        Progress::UserCode(code) => {
            let user_code = code["userCode"].as_str().unwrap_or_default();
            let uri = code["verificationUri"].as_str().unwrap_or_default();
            let complete = code["verificationUriComplete"].as_str().unwrap_or(uri);
            let expires_in = code["expiresIn"].as_u64().unwrap_or(300);
            expires_at = Some(Instant::now() + Duration::from_secs(expires_in));
            if global.json {
                print_json(&json!({
                    "event": "user_code",
                    "user_code": user_code,
                    "verification_uri": uri,
                    "verification_uri_complete": complete,
                    "expires_in": expires_in,
                }));
            } else {
                eprintln!("To log in, open {uri}");
                eprintln!("and enter the code:  {user_code}");
                if !args.no_qr {
                    match webex_auth::qr_code(complete, "utf8") {
                        Ok(qr) => eprintln!("\nOr scan this QR code with your phone:\n\n{qr}"),
                        Err(e) => eprintln!("(no QR code: {})", e.message()),
                    }
                }
            }
            if let Some(emulator) = &session.emulator {
                emulator.approve_later(user_code);
                if !global.json {
                    eprintln!("(emulator: the emulated person approves in a moment)");
                }
            }
            spinner.start(&waiting_message(expires_at));
        }
        Progress::Pending | Progress::Tick => spinner.set(&waiting_message(expires_at)),
    });
    spinner.clear();
    result
}

fn waiting_message(expires_at: Option<Instant>) -> String {
    match expires_at {
        Some(t) => format!(
            "Waiting for you to approve… (the code expires in {})",
            short_duration(t.saturating_duration_since(Instant::now()))
        ),
        None => "Waiting for you to approve…".to_string(),
    }
}

fn browser(session: &Session, global: &Global, args: &LoginArgs, deadline: Option<Instant>) -> Result<Value, CliError> {
    let mut options = serde_json::Map::new();
    if let Some(port) = args.port {
        options.insert("port".into(), json!(port));
    }
    if let Some(t) = args.timeout {
        options.insert("timeout_ms".into(), json!(t.saturating_mul(1000)));
    }
    let (url, op) = session.client.start_loopback_login(&Value::Object(options).to_string())?;
    let opened = if let Some(emulator) = &session.emulator {
        emulator.consent_later(&url);
        false
    } else if args.no_open {
        false
    } else {
        webbrowser::open(&url).is_ok()
    };
    if global.json {
        print_json(&json!({"event": "authorize_url", "url": url, "browser_opened": opened}));
    } else {
        if opened {
            eprintln!("Opened your browser to log in. If it did not show up, open this URL:");
        } else {
            eprintln!("Open this URL in a browser to log in:");
        }
        eprintln!("\n  {url}\n");
        if session.emulator.is_some() {
            eprintln!("(emulator: the emulated person consents in a moment)");
        }
    }
    let spinner = Spinner::new(global.json);
    spinner.start("Waiting for the browser…");
    let result = session.run(op, deadline, |_| {});
    spinner.clear();
    result
}

fn report_success(session: &Session, global: &Global, result: &Value) -> Result<(), CliError> {
    let scope = result["scope"].as_str().unwrap_or_default();
    let expires_at = result["expires_at"].as_i64();
    let store = session.settings.store.describe();
    // Who logged in, when the engine can ask (a login is still a success without it).
    let who = whoami::ask(session).ok();
    if global.json {
        let mut out = json!({"ok": true, "scope": scope, "expires_at": expires_at, "store": store});
        if let Some(who) = who {
            out["who"] = who;
        }
        print_json(&out);
        return Ok(());
    }
    match who {
        Some(who) => eprintln!("✓ Logged in as {}.", whoami::person(&who)),
        None => eprintln!("✓ Logged in."),
    }
    eprintln!("  Scopes: {scope}");
    eprintln!("  Access token expires {}", output::when(expires_at));
    eprintln!("  Token stored encrypted in {store}");
    Ok(())
}

/// A spinner on stderr when it is a terminal (indicatif hides it otherwise; then one
/// plain line says what we wait for).
struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    fn new(json_output: bool) -> Spinner {
        if json_output {
            return Spinner { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_strings(SPINNER_FRAMES);
        bar.set_style(style);
        Spinner { bar: Some(bar) }
    }

    fn start(&self, message: &str) {
        let Some(bar) = &self.bar else { return };
        if bar.is_hidden() {
            eprintln!("{message}");
            return;
        }
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
    }

    fn set(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
