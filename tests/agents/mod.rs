//! Real child processes for the engine's store tests: the test binary runs itself again
//! (`current_exe --exact child_agent --ignored`) as an "agent" that creates one or more
//! `Client`s from a config given in an environment variable, says `ready`, then executes
//! JSON commands read from stdin, one per line, answering each with one JSON report line
//! on stdout. The parent starts several agents, waits until all are ready and then writes
//! the same command to each of them back to back: a barrier that makes them start at once.
//!
//! Report lines start with `@@wxa ` (libtest prints "test child_agent ... " on the same
//! line before the first one, so each report is preceded by a newline). An agent exits
//! when its stdin closes, so a parent that dies leaves no agent behind; `Agent` kills its
//! process when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// The environment variable carrying an agent's spec: `{"config": {...}, "clients": K}`.
pub const AGENT_ENV: &str = "WXA_AGENT_SPEC";
const MARK: &str = "@@wxa ";

/// The parent's handle on one agent process.
pub struct Agent {
    child: Child,
    stdin: Option<ChildStdin>,
    reports: Receiver<Value>,
    pub pid: u32,
}

impl Agent {
    /// Starts an agent with `clients` clients of `config`; does not wait for `ready`.
    pub fn spawn(config: &Value, clients: usize) -> Agent {
        let spec = json!({"config": config, "clients": clients});
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_agent", "--ignored", "--nocapture", "--test-threads=1"])
            .env(AGENT_ENV, spec.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the test binary as an agent");
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, reports) = channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find(MARK) {
                    let v: Value = serde_json::from_str(&line[at + MARK.len()..]).expect("agent report is JSON");
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        let pid = child.id();
        Agent { stdin: child.stdin.take(), child, reports, pid }
    }

    /// Starts `n` agents and waits until each has created its clients.
    pub fn spawn_ready(n: usize, config: &Value, clients: usize) -> Vec<Agent> {
        let mut agents: Vec<Agent> = (0..n).map(|_| Agent::spawn(config, clients)).collect();
        for a in &mut agents {
            a.ready();
        }
        agents
    }

    /// Waits for the agent's `ready` (its clients exist, the stored token is loaded).
    pub fn ready(&mut self) {
        let r = self.recv(LONG);
        assert_eq!(r["ready"], json!(true), "agent {} did not start: {r}", self.pid);
    }

    pub fn send(&mut self, cmd: &Value) {
        let stdin = self.stdin.as_mut().expect("agent stdin");
        writeln!(stdin, "{cmd}").and_then(|_| stdin.flush()).expect("write to the agent");
    }

    /// The next report, waiting up to `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Value {
        match self.reports.recv_timeout(timeout) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!("agent {} sent no report within {timeout:?}", self.pid),
            Err(RecvTimeoutError::Disconnected) => panic!("agent {} ended without reporting", self.pid),
        }
    }

    /// The next report if one comes within `timeout`.
    pub fn try_recv(&mut self, timeout: Duration) -> Option<Value> {
        self.reports.recv_timeout(timeout).ok()
    }

    pub fn call(&mut self, cmd: &Value) -> Value {
        self.send(cmd);
        self.recv(LONG)
    }

    /// SIGKILL: no destructor, no unlock, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin and waits for a clean exit.
    pub fn finish(mut self) {
        let _ = self.stdin.take();
        let deadline = Instant::now() + LONG;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "agent {} failed: {status}", self.pid);
                return;
            }
            assert!(Instant::now() < deadline, "agent {} did not exit", self.pid);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `cmd` to every agent back to back, then collects one report from each.
pub fn broadcast(agents: &mut [Agent], cmd: &Value) -> Vec<Value> {
    for a in agents.iter_mut() {
        a.send(cmd);
    }
    agents.iter_mut().map(|a| a.recv(LONG)).collect()
}

/// The reports of a broadcast of a token operation: every client of every agent ended
/// well, all on one access token (also what `get_token` gives), which is returned.
#[track_caller]
pub fn same_token_everywhere(reports: &[Value]) -> String {
    let mut seen = Vec::new();
    for r in reports {
        for (result, token) in r["results"].as_array().unwrap().iter().zip(r["tokens"].as_array().unwrap()) {
            assert_ok(result);
            assert_eq!(result["access_token"], token["access_token"], "get_token differs from the result");
            seen.push(result["access_token"].as_str().unwrap().to_owned());
        }
    }
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|t| *t == seen[0]), "the clients ended on different tokens: {seen:?}");
    seen.swap_remove(0)
}

// ---------------------------------------------------------------- the child side

fn report(v: &Value) {
    let mut out = std::io::stdout().lock();
    // A newline first: libtest may have left "test child_agent ... " on the line.
    write!(out, "\n{MARK}{v}\n").and_then(|_| out.flush()).expect("report to the parent");
}

fn error_json(e: &webex_auth::Error) -> Value {
    json!({"status": e.status().name(), "message": e.message()})
}

/// Starts one operation on each client, then waits for all: they run concurrently.
fn on_all(clients: &[(Client, Recorder)], start: impl Fn(&Client) -> Result<u64, webex_auth::Error>) -> Value {
    let ops: Vec<_> = clients.iter().map(|(c, _)| start(c)).collect();
    let results: Vec<Value> = clients
        .iter()
        .zip(ops)
        .map(|((c, _), op)| match op {
            Ok(op) => wait_result(c, op),
            Err(e) => json!({"ok": false, "start_error": error_json(&e)}),
        })
        .collect();
    let tokens: Vec<Value> = clients.iter().map(|(c, _)| token_of(c).unwrap_or(Value::Null)).collect();
    json!({"results": results, "tokens": tokens})
}

/// The agent's main loop (called by each test file's ignored `child_agent` test).
pub fn agent_main() {
    let Ok(spec) = std::env::var(AGENT_ENV) else { return };
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let n = spec["clients"].as_u64().unwrap_or(1) as usize;
    let mut clients = Vec::new();
    for _ in 0..n {
        let rec = Recorder::new();
        match Client::new(&spec["config"].to_string(), Some(rec.sink())) {
            Ok(c) => clients.push((c, rec)),
            Err(e) => {
                report(&json!({"ready": false, "init_error": error_json(&e)}));
                return;
            }
        }
    }
    report(&json!({"ready": true, "pid": std::process::id()}));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let cmd: Value = serde_json::from_str(&line).expect("command JSON");
        let first = &clients[0].0;
        let answer = match cmd["cmd"].as_str().unwrap() {
            "get_valid_token" => {
                let min = cmd["min_valid_s"].as_u64().unwrap_or(0) as u32;
                on_all(&clients, |c| c.get_valid_token(min))
            }
            "token_rejected" => {
                let t = cmd["access_token"].as_str().unwrap().to_owned();
                on_all(&clients, |c| c.token_rejected(&t))
            }
            "refresh" => on_all(&clients, |c| c.refresh()),
            "get_token" => {
                json!({"tokens": clients.iter().map(|(c, _)| token_of(c).unwrap_or(Value::Null)).collect::<Vec<_>>()})
            }
            "initiate_login" => match first.initiate_login("") {
                Ok(url) => json!({"url": url}),
                Err(e) => json!({"error": error_json(&e)}),
            },
            "handle_redirect" => match first.handle_redirect(cmd["url"].as_str().unwrap()) {
                Ok((op, _)) => json!({"result": wait_result(first, op)}),
                Err(e) => json!({"error": error_json(&e)}),
            },
            "logout" => {
                let op = first.logout().unwrap();
                json!({"result": wait_result(first, op)})
            }
            "wait_event" => {
                // Waits on each client for an event named `name` whose payload has the
                // fields of `match` (if given); null where none came within `timeout_ms`
                // (one deadline for all clients, so the parent's bound holds).
                let name = cmd["name"].as_str().unwrap().to_owned();
                let want = cmd["match"].as_object().cloned().unwrap_or_default();
                let deadline = Instant::now() + Duration::from_millis(cmd["timeout_ms"].as_u64().unwrap_or(10_000));
                let events: Vec<Value> = clients
                    .iter()
                    .map(|(_, rec)| {
                        rec.try_wait_where(deadline.saturating_duration_since(Instant::now()), |e| {
                            e.name == name && want.iter().all(|(k, v)| e.payload.get(k) == Some(v))
                        })
                        .map_or(Value::Null, |e| json!({"op": e.op, "payload": e.payload}))
                    })
                    .collect();
                json!({"events": events})
            }
            "event_names" => {
                json!({"names": clients.iter().map(|(_, r)| r.names()).collect::<Vec<_>>()})
            }
            "exit" => break,
            other => panic!("unknown agent command {other}"),
        };
        report(&answer);
    }
    for (c, rec) in &clients {
        c.close();
        rec.assert_well_formed();
    }
}
