//! Shared helpers for the integration tests: the in-process emulator, client configs,
//! an event recorder that waits for events (never races them), a tiny "browser" that
//! follows the authorize step by hand, and small decoding helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use webex_auth::{Client, EventSink, EventType};
#[allow(unused_imports)]
pub use webex_auth_emulator::{Emulator, EmulatorConfig, Endpoint, Recorded, Scripted};

pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";
pub const PUBLIC_CLIENT_ID: &str = "public-client";

/// Generous upper bound for an operation that should end quickly; a healthy run never
/// gets near it, a loaded CI machine may need more than a few hundred ms.
pub const LONG: Duration = Duration::from_secs(20);

pub fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default())
}

/// Confidential client `test-client` / `test-secret` pointed at the emulator, with short
/// timeouts and few retries so failures are fast.
pub fn confidential(emu: &Emulator) -> Value {
    json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "webex_api_url": emu.api_url(),
        "idbroker_url": emu.idbroker_url(),
        "timeout_ms": 5000,
        "max_retries": 1,
    })
}

/// Public client (no secret) `public-client`.
pub fn public(emu: &Emulator) -> Value {
    json!({
        "client_id": PUBLIC_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "webex_api_url": emu.api_url(),
        "idbroker_url": emu.idbroker_url(),
        "timeout_ms": 5000,
        "max_retries": 1,
    })
}

/// `base` with the keys of `extra` set (a `null` removes the key).
pub fn with(mut base: Value, extra: Value) -> Value {
    let (Value::Object(b), Value::Object(e)) = (&mut base, extra) else {
        panic!("with() takes two objects");
    };
    for (k, v) in e {
        if v.is_null() {
            b.remove(&k);
        } else {
            b.insert(k, v);
        }
    }
    base
}

pub fn new_client(cfg: &Value, rec: &Recorder) -> Client {
    Client::new(&cfg.to_string(), Some(rec.sink())).expect("client config accepted")
}

pub fn new_client_no_sink(cfg: &Value) -> Client {
    Client::new(&cfg.to_string(), None).expect("client config accepted")
}

// ---------------------------------------------------------------------------------
// Events

#[derive(Clone, Debug)]
pub struct Ev {
    pub name: String,
    pub kind: EventType,
    pub op: u64,
    pub payload: Value,
    pub at: Instant,
}

#[derive(Default)]
struct RecState {
    events: Vec<Ev>,
    /// Payloads that broke the contract (bad JSON, wrong "type" or "op").
    problems: Vec<String>,
}

/// Records every event of a client; `wait_for*` block on a condvar until the event
/// arrives (or panic with the events seen so far).
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<(Mutex<RecState>, Condvar)>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    pub fn sink(&self) -> EventSink {
        let r = self.clone();
        Arc::new(move |kind, op, payload| r.push(kind, op, payload))
    }

    pub fn push(&self, kind: EventType, op: u64, payload: &str) {
        let (lock, cv) = &*self.inner;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        let parsed: Value = match serde_json::from_str(payload) {
            Ok(v) => v,
            Err(e) => {
                st.problems.push(format!("payload is not JSON ({e}): {payload}"));
                Value::Null
            }
        };
        if parsed.get("type").and_then(Value::as_str) != Some(kind.name()) {
            st.problems.push(format!("payload type differs from {}: {payload}", kind.name()));
        }
        let payload_op = parsed.get("op").and_then(Value::as_u64);
        if (op != 0 && payload_op != Some(op)) || (op == 0 && payload_op.is_some()) {
            st.problems.push(format!("payload op differs from {op}: {payload}"));
        }
        st.events.push(Ev { name: kind.name().to_string(), kind, op, payload: parsed, at: Instant::now() });
        cv.notify_all();
    }

    pub fn events(&self) -> Vec<Ev> {
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner()).events.clone()
    }

    pub fn len(&self) -> usize {
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner()).events.len()
    }

    pub fn names(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.name).collect()
    }

    pub fn names_for(&self, op: u64) -> Vec<String> {
        self.events().into_iter().filter(|e| e.op == op).map(|e| e.name).collect()
    }

    pub fn count(&self, name: &str) -> usize {
        self.events().iter().filter(|e| e.name == name).count()
    }

    pub fn count_for(&self, name: &str, op: u64) -> usize {
        self.events().iter().filter(|e| e.name == name && e.op == op).count()
    }

    pub fn assert_well_formed(&self) {
        let st = self.inner.0.lock().unwrap_or_else(|p| p.into_inner());
        assert!(st.problems.is_empty(), "malformed event payloads: {:#?}", st.problems);
    }

    /// The first event (in arrival order) matching `pred`, waiting up to `timeout`.
    pub fn try_wait_where(&self, timeout: Duration, pred: impl Fn(&Ev) -> bool) -> Option<Ev> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.inner;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(e) = st.events.iter().find(|e| pred(e)) {
                return Some(e.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = cv.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    pub fn wait_where(&self, what: &str, timeout: Duration, pred: impl Fn(&Ev) -> bool) -> Ev {
        match self.try_wait_where(timeout, pred) {
            Some(e) => e,
            None => panic!("no {what} event within {timeout:?}; events so far: {:#?}", self.summary()),
        }
    }

    /// The first event named `name` (any op).
    pub fn wait_for(&self, name: &str, timeout: Duration) -> Ev {
        self.wait_where(name, timeout, |e| e.name == name)
    }

    /// The first event named `name` of operation `op` (0: events of no operation).
    pub fn wait_for_op(&self, name: &str, op: u64, timeout: Duration) -> Ev {
        self.wait_where(&format!("{name} (op {op})"), timeout, |e| e.name == name && e.op == op)
    }

    /// The `done` event of `op`.
    pub fn done(&self, op: u64) -> Ev {
        self.wait_for_op("done", op, LONG)
    }

    /// Waits until at least `n` events named `name` arrived.
    pub fn wait_count(&self, name: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.inner;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.events.iter().filter(|e| e.name == name).count() >= n {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                drop(st);
                panic!("fewer than {n} {name} events within {timeout:?}: {:#?}", self.summary());
            }
            st = cv.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Waits until `pred` holds for the whole event list.
    pub fn wait_until(&self, what: &str, timeout: Duration, pred: impl Fn(&[Ev]) -> bool) {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.inner;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if pred(&st.events) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                drop(st);
                panic!("not within {timeout:?}: {what}; events: {:#?}", self.summary());
            }
            st = cv.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    pub fn summary(&self) -> Vec<String> {
        self.events().iter().map(|e| format!("{} op={} {}", e.name, e.op, e.payload)).collect()
    }
}

// ---------------------------------------------------------------------------------
// Operations

/// A logged-in client (confidential, `extra` config keys added) with its recorder and
/// the login's result; the emulator's request log is cleared.
pub fn logged_in(emu: &Emulator, extra: Value) -> (Client, Recorder, Value) {
    let rec = Recorder::new();
    let client = new_client(&with(confidential(emu), extra), &rec);
    let r = login(&client);
    // The login's events may still be on their way: let them arrive before the test
    // counts anything.
    rec.wait_for("done", LONG);
    emu.clear_requests();
    (client, rec, r)
}

/// The result JSON of `op`, waiting up to `LONG`; panics when still pending.
pub fn wait_result(client: &Client, op: u64) -> Value {
    let r = client
        .wait(op, Some(LONG))
        .unwrap_or_else(|e| panic!("wait({op}) failed: {e}"))
        .unwrap_or_else(|| panic!("operation {op} still pending after {LONG:?}"));
    serde_json::from_str(&r).expect("result is JSON")
}

#[track_caller]
pub fn assert_ok(result: &Value) {
    assert_eq!(result["ok"], json!(true), "expected a successful result, got {result}");
}

#[track_caller]
pub fn assert_failed(result: &Value, status: &str) {
    assert_eq!(result["ok"], json!(false), "expected a failed result, got {result}");
    assert_eq!(result["status"], json!(status), "wrong status in {result}");
    assert!(result["message"].as_str().is_some_and(|m| !m.is_empty()), "no message in {result}");
}

/// The current token JSON, or `None` when the client has none.
pub fn token_of(client: &Client) -> Option<Value> {
    match client.get_token() {
        Ok(t) => Some(serde_json::from_str(&t).expect("token JSON")),
        Err(e) => {
            assert_eq!(e.status(), webex_auth::Status::NotAuthorized, "get_token: {e}");
            None
        }
    }
}

pub fn access_token_of(client: &Client) -> String {
    token_of(client).expect("client has a token")["access_token"].as_str().unwrap().to_string()
}

/// Full code-flow login through the emulator (initiate -> browser -> redirect -> exchange).
pub fn login(client: &Client) -> Value {
    let url = client.initiate_login("").expect("initiate_login");
    let location = browser_authorize(&url);
    let (op, _) = client.handle_redirect(&location).expect("handle_redirect");
    let r = wait_result(client, op);
    assert_ok(&r);
    r
}

// ---------------------------------------------------------------------------------
// HTTP by hand

/// GETs `url` (an http:// loopback URL) without following redirects and returns the
/// `Location` header of the answer; panics when there is none.
pub fn browser_authorize(url: &str) -> String {
    let (status, headers, body) = raw_get(url);
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("authorize answered {status} without Location: {body}"))
}

/// A minimal HTTP/1.1 GET over std::net: (status, headers, body).
pub fn raw_get(url: &str) -> (u16, Vec<(String, String)>, String) {
    let u = url::Url::parse(url).expect("URL");
    assert_eq!(u.scheme(), "http");
    let host = u.host_str().expect("host");
    let port = u.port_or_known_default().expect("port");
    let mut path = u.path().to_string();
    if let Some(q) = u.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut s = TcpStream::connect((host, port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status: u16 =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    (status, headers, body.to_string())
}

pub fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// `url` with `key=value` appended to its query.
pub fn add_param(url: &str, key: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).expect("URL");
    u.query_pairs_mut().append_pair(key, value);
    u.into()
}

/// `url` with `key` replaced by `value` (or removed when `None`).
pub fn set_param(url: &str, key: &str, value: Option<&str>) -> String {
    let mut u = url::Url::parse(url).expect("URL");
    let pairs: Vec<(String, String)> =
        u.query_pairs().filter(|(k, _)| k != key).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(key, v);
        }
    }
    u.into()
}

pub fn b64url_json(s: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

pub fn b64url(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// base64url(SHA-256(verifier)), no padding (RFC 7636 S256), computed independently.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every request the emulator recorded, at every endpoint.
pub fn all_requests(emu: &Emulator) -> Vec<Recorded> {
    Endpoint::ALL.iter().flat_map(|e| emu.requests(*e)).collect()
}

/// The requests at the token endpoint with this grant type.
pub fn token_requests(emu: &Emulator, grant_type: &str) -> Vec<Recorded> {
    emu.requests(Endpoint::Token).into_iter().filter(|r| r.form_value("grant_type") == Some(grant_type)).collect()
}

/// A loopback port with nothing listening on it (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

/// Unix milliseconds now (wall clock, as the engine's expires_at).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Waits until the thread named `name` of this process sleeps in the kernel (blocked in a
/// wait), read from /proc: a test can then act on a waiter that is really waiting.
pub fn wait_until_thread_sleeps(name: &str) {
    let deadline = Instant::now() + LONG;
    loop {
        let sleeping = std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten().any(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // The state follows the ")" that closes the thread name.
            comm.trim() == name && stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('S'))
        });
        if sleeping {
            return;
        }
        assert!(Instant::now() < deadline, "thread {name} never blocked");
        std::thread::yield_now();
    }
}

/// A gate host callbacks can be held at: `wait` blocks until `open`; `wait_for_a_waiter`
/// returns once a callback is inside.
#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Gate {
    pub fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        self.waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.cv.notify_all();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }

    pub fn wait_for_a_waiter(&self) {
        let mut open = self.open.lock().unwrap();
        let deadline = Instant::now() + LONG;
        while self.waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "no callback reached the gate");
            open = self.cv.wait_timeout(open, Duration::from_millis(100)).unwrap().0;
        }
    }
}

/// A sink that records into `rec`, each event only once `gate` is open: the first event
/// holds the client's callback at the gate, so what follows queues up behind it.
pub fn gated_sink(gate: &Arc<Gate>, rec: &Recorder) -> EventSink {
    let (gate, rec) = (gate.clone(), rec.clone());
    Arc::new(move |kind, op, payload| {
        gate.wait();
        rec.push(kind, op, payload);
    })
}

/// Opens the gate however a test ends, so a failed assertion does not leave a client's
/// close() waiting on a callback that never returns.
pub struct OpenOnDrop(pub Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}
