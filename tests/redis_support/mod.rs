//! A real redis-server for a test: started on a free loopback port with no persistence,
//! stopped (SIGKILL) when dropped. Readiness is its own "Ready to accept connections"
//! log line, not a sleep.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    extra: Vec<String>,
    tls: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// With extra server arguments, e.g. `["--requirepass", "pw"]`.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let extra = extra.iter().map(|s| s.to_string()).collect();
        let mut s = RedisServer { child: None, port: free_port(), extra, tls: false };
        s.restart();
        s
    }

    /// TLS only (no plain port), with a fresh self-signed certificate for 127.0.0.1
    /// made by the openssl command in `dir`.
    pub fn start_tls(dir: &std::path::Path) -> RedisServer {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl must be installed")
            .success();
        assert!(ok, "openssl req failed");
        let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
        let extra =
            ["--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", cert, "--tls-auth-clients", "no"];
        let extra = extra.iter().map(|s| s.to_string()).collect();
        let mut s = RedisServer { child: None, port: free_port(), extra, tls: true };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut child = Command::new(REDIS_SERVER)
            .args(if self.tls {
                ["--port".to_owned(), "0".to_owned(), "--tls-port".to_owned(), self.port.to_string()]
            } else {
                ["--port".to_owned(), self.port.to_string(), "--tls-port".to_owned(), "0".to_owned()]
            })
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", env!("CARGO_TARGET_TMPDIR"), "--loglevel", "notice"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed (/usr/bin/redis-server)");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(tx);
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.contains("Ready to accept connections") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = child.kill();
            panic!("redis-server on port {} did not become ready", self.port);
        }
        self.child = Some(child);
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP / SIGCONT: a server that accepts connections but never answers.
    pub fn pause(&self) {
        signal("-STOP", self.pid());
    }

    pub fn resume(&self) {
        signal("-CONT", self.pid());
    }

    /// A plain synchronous connection, for looking at what the store wrote.
    pub fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }
}

fn signal(sig: &str, pid: u32) {
    let ok = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig} {pid}");
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.resume();
        }
        self.stop();
    }
}
