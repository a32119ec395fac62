//! Running the real `webex-auth` binary in a home of its own (HOME and the XDG
//! directories in a temp dir, no WEBEX_* variables from outside), against an emulator
//! the test starts. Output is read as it comes, each wait bounded: no sleeps.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use serde_json::Value;
pub use webex_auth_emulator::{Emulator, EmulatorConfig, Endpoint, Scripted};

pub const BIN: &str = env!("CARGO_BIN_EXE_webex-auth");
/// Bound on anything that should take a second or two.
pub const LONG: Duration = Duration::from_secs(30);

/// A user's home with nothing in it yet.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data/webex-auth")
    }

    pub fn config_file(&self) -> PathBuf {
        self.path().join("config/webex-auth/config.json")
    }

    pub fn store(&self) -> PathBuf {
        self.data_dir().join("token.store")
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir().join("token.key")
    }

    pub fn write_config(&self, config: &Value) {
        let path = self.config_file();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, config.to_string()).unwrap();
    }

    /// The binary with this home and nothing from the caller's environment that the
    /// CLI reads.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            // No real browser from a test, ever.
            .env("BROWSER", "/nonexistent-browser")
            .stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("WEBEX_") {
                c.env_remove(k);
            }
        }
        c
    }

    /// The binary pointed at `emu` with the emulator's confidential test client (from
    /// the environment, as a user would set it).
    pub fn cmd_for(&self, emu: &Emulator, args: &[&str]) -> Command {
        let mut c = self.cmd(args);
        c.env("WEBEX_CLIENT_ID", "test-client")
            .env("WEBEX_CLIENT_SECRET", "test-secret")
            .env("WEBEX_API_URL", emu.api_url())
            .env("WEBEX_IDBROKER_URL", emu.idbroker_url());
        c
    }
}

/// What a finished command left.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {self:?}"))
    }
}

/// Runs a command that should end by itself, bounded by `LONG`.
pub fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    Running::new(child).finish()
}

/// Runs a command with `input` on its stdin, bounded by `LONG`.
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    Running::new(child).finish()
}

/// A command still running: its stdout lines as they come.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: thread::JoinHandle<String>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Running::new(cmd.spawn().unwrap())
    }

    pub fn new(mut child: Child) -> Running {
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Running { child, lines, stdout: Vec::new(), stderr }
    }

    /// The next stdout line, parsed as JSON (bounded wait).
    pub fn next_json(&mut self) -> Value {
        let line = self.lines.recv_timeout(LONG).unwrap_or_else(|e| panic!("no stdout line within {LONG:?}: {e}"));
        self.stdout.push(line.clone());
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for the process to close stdout and exit.
    pub fn finish(mut self) -> Output {
        loop {
            match self.lines.recv_timeout(LONG) {
                Ok(line) => self.stdout.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("the command did not end within {LONG:?}; stdout so far: {:?}", self.stdout);
                }
            }
        }
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.join().unwrap();
        let mut stdout = self.stdout.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Output { code: status.code().unwrap_or(-1), stdout, stderr }
    }
}

/// An emulator whose device logins poll every second (Webex's 5 s would slow the tests).
pub fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig { device_interval_s: Some(1), ..EmulatorConfig::default() })
}

/// A device login through the binary, approved at the emulator as soon as the user code
/// shows: the final JSON line.
pub fn device_login(home: &Home, emu: &Emulator) -> Value {
    let mut login = Running::spawn(home.cmd_for(emu, &["login", "--json"]));
    let code = login.next_json();
    assert_eq!(code["event"], "user_code", "{code}");
    assert!(emu.approve_user_code(code["user_code"].as_str().unwrap()));
    let done = login.next_json();
    let out = login.finish();
    assert_eq!(out.code, 0, "{out:?}");
    done
}

/// The access token `webex-auth token` prints.
pub fn token(home: &Home, emu: &Emulator) -> String {
    let out = run(home.cmd_for(emu, &["token"]));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout.trim_end().to_string()
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
