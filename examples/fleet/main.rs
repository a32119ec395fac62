//! Two instances of one app sharing a Redis token store (config `token_store`): a login
//! started on instance A is completed on instance B (the redirect may land anywhere in a
//! fleet), A follows the token B stored, and when both are refused the same token at
//! once (an API answered 401), one refresh serves both.
//!
//! Run it with `examples/fleet/run.sh`: it starts a Redis server and the Webex emulator
//! on free loopback ports and passes them in `WXA_REDIS`, `WXA_EMULATOR` and the store
//! key in `WXA_STORE_KEY`. Offline, nothing leaves the machine.
//!
//! The same program plays three parts: without arguments it is the coordinator (and the
//! browser), which starts `fleet instance A` and `fleet instance B` as child processes and
//! sends each one command per line on stdin; each instance answers one line on stdout.
//! Tokens are never printed: only a short SHA-256 fingerprint, to show that they match.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use webex_auth::{Client, EventSink, EventType};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run examples/fleet/run.sh"))
}

/// The config every instance uses: the emulator's registered test client and one Redis
/// store (the same key and namespace on every instance).
fn config() -> Value {
    let emulator = env("WXA_EMULATOR");
    json!({
        "client_id": "test-client",
        "client_secret": "test-secret",
        "redirect_uri": "http://127.0.0.1/callback",
        "webex_api_url": format!("{emulator}/v1"),
        "idbroker_url": emulator,
        "token_store": {"redis": env("WXA_REDIS"), "key": env("WXA_STORE_KEY"), "namespace": "fleet-example"},
    })
}

fn fingerprint(access_token: &str) -> String {
    Sha256::digest(access_token.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------ an instance

fn instance() -> Result<(), String> {
    // token:refresh events (a login, a refresh, or a token another instance stored).
    let (tx, tokens) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let sink: EventSink = Arc::new(move |kind, _op, payload| {
        if kind == EventType::TokenRefresh {
            let v: Value = serde_json::from_str(payload).unwrap_or_default();
            if let Some(t) = v["access_token"].as_str() {
                let _ = tx.lock().unwrap().send(t.to_owned());
            }
        }
    });
    let client = Client::new(&config().to_string(), Some(sink)).map_err(|e| e.to_string())?;
    let wait = |op| -> Result<Value, String> {
        let r = client.wait(op, Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&r.ok_or("the operation did not end in 20 s")?).unwrap();
        if v["ok"] != json!(true) {
            return Err(format!("{}: {}", v["status"], v["message"]));
        }
        Ok(v)
    };
    let current = || -> Result<String, String> {
        let t: Value = serde_json::from_str(&client.get_token().map_err(|e| e.to_string())?).unwrap();
        Ok(t["access_token"].as_str().unwrap_or_default().to_owned())
    };
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let answer = match cmd {
            // Start a login: the authorize URL for the browser; the pending login (PKCE
            // verifier, CSRF token) goes to Redis, sealed.
            "login" => client.initiate_login("").map(|url| format!("url {url}")).map_err(|e| e.to_string()),
            // The browser's redirect arrived here: take the pending login from Redis
            // (single use) and exchange the code.
            "redirect" => client
                .handle_redirect(arg)
                .map_err(|e| e.to_string())
                .and_then(|(op, _)| wait(op))
                .map(|r| format!("token {}", fingerprint(r["access_token"].as_str().unwrap_or_default()))),
            // Wait until this instance holds a token (from another instance, via Redis).
            "follow" => tokens
                .recv_timeout(Duration::from_secs(10))
                .map(|t| format!("token {}", fingerprint(&t)))
                .map_err(|_| "no token came within 10 s".to_owned()),
            // An API call answered 401 with the current token: renew it (once for the
            // whole fleet, through the store's lock).
            "rejected" => current()
                .and_then(|t| client.token_rejected(&t).map_err(|e| e.to_string()))
                .and_then(wait)
                .map(|r| format!("token {}", fingerprint(r["access_token"].as_str().unwrap_or_default()))),
            other => Err(format!("unknown command {other}")),
        };
        match answer {
            Ok(a) => println!("{a}"),
            Err(e) => println!("error {e}"),
        }
        std::io::stdout().flush().map_err(|e| e.to_string())?;
    }
    client.close();
    Ok(())
}

// ------------------------------------------------------------------ the coordinator

struct Instance {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Instance {
    fn start(name: &'static str) -> Instance {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["instance", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start an instance");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Instance { name, child, stdin, stdout }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").and_then(|_| self.stdin.flush()).expect("write to the instance");
    }

    fn answer(&mut self) -> Result<String, String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        match line.trim_end().split_once(' ') {
            Some(("error", e)) => Err(format!("instance {}: {e}", self.name)),
            Some((_, value)) => Ok(value.to_owned()),
            None => Err(format!("instance {} ended", self.name)),
        }
    }

    fn ask(&mut self, line: &str) -> Result<String, String> {
        self.send(line);
        self.answer()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET to a loopback URL: (status line, headers, body).
fn http_get(url: &str) -> Result<(String, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// loopback URLs")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).map_err(|e| format!("{host}: {e}"))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok((status.to_owned(), headers.to_owned(), body.to_owned()))
}

/// What the emulator says it received: refresh requests at its token endpoint.
fn refreshes_at_the_emulator() -> Result<usize, String> {
    let (_, _, body) = http_get(&format!("{}/_emulator/requests?endpoint=token", env("WXA_EMULATOR")))?;
    let list: Vec<Value> = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    Ok(list
        .iter()
        .filter(|r| r["form"].as_array().is_some_and(|f| f.contains(&json!(["grant_type", "refresh_token"]))))
        .count())
}

fn coordinate() -> Result<(), String> {
    let mut a = Instance::start("A");
    let mut b = Instance::start("B");

    let url = a.ask("login")?;
    println!("A: started a login; its pending state is in Redis");
    // The browser: the emulator answers an API client with the redirect at once.
    let (status, headers, _) = http_get(&url)?;
    let location = headers
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.trim()))
        .ok_or(format!("the authorize endpoint answered {status} without a redirect"))?;
    println!("browser: signed in, redirected to {}", location.split('?').next().unwrap_or_default());
    let tb = b.ask(&format!("redirect {location}"))?;
    println!("B: received the redirect, completed A's login: token {tb}");
    let ta = a.ask("follow")?;
    println!("A: follows the token B stored in Redis: token {ta}");
    if ta != tb {
        return Err("A and B hold different tokens".into());
    }

    let before = refreshes_at_the_emulator()?;
    // Both instances got a 401 for the same token at the same moment.
    a.send("rejected");
    b.send("rejected");
    let (ra, rb) = (a.answer()?, b.answer()?);
    let spent = refreshes_at_the_emulator()? - before;
    println!("A and B: both got a 401 for that token; now A holds {ra}, B holds {rb}");
    println!("emulator: {spent} refresh request(s) for both");
    if ra != rb || ra == ta || spent != 1 {
        return Err("expected one refresh, shared by both instances".into());
    }
    println!("ok: one login across two processes, one refresh for both");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("instance") => instance(),
        None => coordinate(),
        Some(other) => Err(format!("usage: fleet [instance NAME], not {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet: {e}");
            ExitCode::FAILURE
        }
    }
}
