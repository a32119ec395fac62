//! Per-client serial event queue, delivered by the engine's own dispatcher threads
//! (`dispatch`), never by the runtime. Events go out in order, one at a time, with no lock
//! held, so a callback may call back into the library.
//!
//! The backlog behind a slow callback is bounded in what it holds: a `token:refresh`
//! still waiting is replaced by a newer one, consecutive `authorizationPending` of one
//! operation collapse into the latest, and when the token changes, queued events that
//! carry the old one (`done` of a token operation, `authorizationSuccess`) lose its
//! secrets and say `"token_superseded":true` — `done` and every other event is still
//! delivered, but no stale token waits in memory.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::dispatch::{self, Drain};
use crate::secret::{SecretText, wipe_map};

pub use crate::codes::EventType;

/// The host's event handler: `(type, op id or 0, payload JSON)`. Called from a library
/// thread, never two at once for one client.
pub type EventSink = Arc<dyn Fn(EventType, u64, &str) + Send + Sync>;

/// An operation's result JSON (`{"ok":...}`), shared by its kept result, its `done` and
/// its `auth:error`; wiped when the last holder lets go.
pub type ResultText = Arc<SecretText>;

enum Body {
    /// A JSON object's text without `type`/`op` (they are added at delivery).
    Fields(SecretText),
    /// The operation's result (`done`, `auth:error`).
    Result(ResultText),
    /// Carried a token that has since been replaced: its fields without the token's
    /// secrets, plus `"token_superseded":true`.
    Superseded(SecretText),
    /// Replaced by a newer event of the same kind; skipped.
    Dead,
}

struct Event {
    seq: u64,
    op: u64,
    kind: EventType,
    body: Body,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Event>,
    next_seq: u64,
    /// Seqs of queued events that carry the current token (superseded on change).
    token_events: Vec<u64>,
    /// Seq of the queued `token:refresh`, if any (at most one is ever live).
    token_refresh: Option<u64>,
    dead: usize,
    /// In the dispatcher's line or being delivered right now.
    scheduled: bool,
    /// No callback runs any more (the client is being or has been freed).
    suppressed: bool,
}

impl QueueState {
    fn index_of(&self, seq: u64) -> Option<usize> {
        self.items.binary_search_by_key(&seq, |e| e.seq).ok()
    }

    fn kill(&mut self, seq: u64) {
        if let Some(i) = self.index_of(seq) {
            if !matches!(self.items[i].body, Body::Dead) {
                self.items[i].body = Body::Dead;
                self.dead += 1;
            }
        }
    }

    /// Drops tombstones once they are most of the queue (amortized O(1) per event).
    fn compact(&mut self) {
        while matches!(self.items.back().map(|e| &e.body), Some(Body::Dead)) {
            self.items.pop_back();
            self.dead -= 1;
        }
        if self.dead > 32 && self.dead * 2 > self.items.len() {
            self.items.retain(|e| !matches!(e.body, Body::Dead));
            self.dead = 0;
        }
    }

    fn push(&mut self, kind: EventType, op: u64, body: Body) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.items.push_back(Event { seq, op, kind, body });
        seq
    }
}

pub struct EventQueue {
    sink: Option<EventSink>,
    state: Mutex<QueueState>,
    idle: Condvar,
}

thread_local! {
    /// The queue whose callback this thread is running, if any (its address).
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// The fields of a payload that carried a superseded token, without its secrets.
fn without_secrets(text: &str) -> SecretText {
    let mut m: Map<String, Value> = serde_json::from_str(text).unwrap_or_default();
    for key in ["access_token", "refresh_token", "id_token"] {
        if let Some(mut v) = m.remove(key) {
            crate::secret::wipe_value(&mut v);
        }
    }
    m.insert("token_superseded".into(), Value::Bool(true));
    SecretText::new(Value::Object(m).to_string())
}

/// `{...fields,"type":"x","op":N}` from a JSON object's text. An object that has a
/// `type` of its own (whoami's person type) keeps it as `result_type`: `type` names the
/// event.
fn with_type(object: &str, kind: EventType, op: u64) -> SecretText {
    if object.contains("\"type\"") {
        if let Ok(mut m) = serde_json::from_str::<Map<String, Value>>(object) {
            if let Some(t) = m.remove("type") {
                m.insert("result_type".into(), t);
                let text = Value::Object(m).to_string();
                return with_type(&text, kind, op);
            }
        }
    }
    let body = object.trim_end().strip_suffix('}').unwrap_or("{");
    let mut s = String::with_capacity(object.len() + 40);
    s.push_str(body);
    if body.trim_end() != "{" {
        s.push(',');
    }
    s.push_str("\"type\":\"");
    s.push_str(kind.name());
    s.push('"');
    if op != 0 {
        s.push_str(",\"op\":");
        s.push_str(itoa::Buffer::new().format(op));
    }
    s.push('}');
    SecretText::new(s)
}

impl EventQueue {
    pub fn new(sink: Option<EventSink>) -> Arc<EventQueue> {
        Arc::new(EventQueue { sink, state: Mutex::new(QueueState::default()), idle: Condvar::new() })
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// False for a client without a callback: payloads need not even be built.
    pub fn wants_events(&self) -> bool {
        self.sink.is_some()
    }

    fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// True on a thread that is inside this queue's callback right now.
    pub fn in_callback(self: &Arc<Self>) -> bool {
        IN_CALLBACK.with(|c| c.get() == self.id())
    }

    /// Queues an event whose payload is `fields` plus `"type"` (and `"op"` when non-zero).
    /// `carries_token`: the fields hold the current token (superseded when it changes).
    /// The map's strings are wiped once serialized.
    pub fn push(self: &Arc<Self>, kind: EventType, op: u64, mut fields: Map<String, Value>, carries_token: bool) {
        if self.sink.is_none() {
            wipe_map(&mut fields);
            return;
        }
        let text = SecretText::new(Value::Object(std::mem::take(&mut fields)).to_string());
        self.enqueue(kind, op, Body::Fields(text), carries_token);
    }

    /// Queues an event whose payload is an operation's result (shared, not copied).
    pub fn push_result(self: &Arc<Self>, kind: EventType, op: u64, result: &ResultText, carries_token: bool) {
        if self.sink.is_some() {
            self.enqueue(kind, op, Body::Result(Arc::clone(result)), carries_token);
        }
    }

    fn enqueue(self: &Arc<Self>, kind: EventType, op: u64, body: Body, carries_token: bool) {
        let start = {
            let mut st = self.lock();
            if st.suppressed {
                return;
            }
            match kind {
                // Only the latest token matters to the app; an older one waiting is dropped.
                EventType::TokenRefresh => {
                    if let Some(old) = st.token_refresh.take() {
                        st.kill(old);
                    }
                }
                // Repeated pending polls of one login collapse into the latest.
                EventType::AuthorizationPending => {
                    let same = st.items.back().is_some_and(|e| e.kind == kind && e.op == op);
                    if same {
                        if let Some(last) = st.items.back_mut() {
                            last.body = body;
                        }
                        return;
                    }
                }
                _ => {}
            }
            st.compact();
            let seq = st.push(kind, op, body);
            if kind == EventType::TokenRefresh {
                st.token_refresh = Some(seq);
            }
            if carries_token {
                st.token_events.push(seq);
            }
            !std::mem::replace(&mut st.scheduled, true)
        };
        if start {
            dispatch::schedule(Arc::clone(self) as Arc<dyn Drain>);
        }
    }

    /// The token changed (or was cleared): queued events still carrying the previous one
    /// lose it — a waiting `token:refresh` is dropped, a `done` is delivered without it.
    pub fn supersede_token(&self) {
        let mut st = self.lock();
        let seqs = std::mem::take(&mut st.token_events);
        for seq in seqs {
            if let Some(i) = st.index_of(seq) {
                let e = &mut st.items[i];
                match (e.kind, &e.body) {
                    (_, Body::Dead) => {}
                    (EventType::TokenRefresh, _) => {
                        e.body = Body::Dead;
                        st.dead += 1;
                    }
                    (_, Body::Fields(t)) => e.body = Body::Superseded(without_secrets(t)),
                    (_, Body::Result(r)) => e.body = Body::Superseded(without_secrets(r)),
                    (_, Body::Superseded(_)) => {}
                }
            }
        }
        st.token_refresh = None;
        st.compact();
    }

    /// Blocks until every queued event has been delivered, then lets no more in: one
    /// lock, so no event slips in between the last delivery and the suppression.
    pub fn drain_then_suppress(&self) {
        let mut st = self.lock();
        while st.scheduled {
            st = self.idle.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.suppressed = true;
        st.items.clear();
    }

    /// No callback starts after this returns (one already running may finish).
    pub fn suppress(&self) {
        let mut st = self.lock();
        st.suppressed = true;
        st.items.clear();
        st.token_events.clear();
    }

    /// Events waiting for delivery (tombstones included).
    #[cfg(test)]
    pub fn backlog(&self) -> usize {
        self.lock().items.len()
    }

    fn payload(ev: &Event) -> Option<SecretText> {
        Some(match &ev.body {
            Body::Fields(t) => with_type(t, ev.kind, ev.op),
            Body::Result(r) => with_type(r, ev.kind, ev.op),
            Body::Superseded(t) => with_type(t, ev.kind, ev.op),
            Body::Dead => return None,
        })
    }
}

impl Drain for EventQueue {
    fn drain(&self, budget: usize) -> bool {
        let Some(sink) = &self.sink else { return false };
        let me = self as *const EventQueue as usize;
        for _ in 0..budget {
            let ev = {
                let mut st = self.lock();
                loop {
                    let next = if st.suppressed { None } else { st.items.pop_front() };
                    match next {
                        Some(ev) if matches!(ev.body, Body::Dead) => st.dead -= 1,
                        Some(ev) => break ev,
                        None => {
                            st.items.clear();
                            st.scheduled = false;
                            self.idle.notify_all();
                            return false;
                        }
                    }
                }
            };
            let (kind, op) = (ev.kind, ev.op);
            let Some(payload) = Self::payload(&ev) else { continue };
            drop(ev);
            let prev = IN_CALLBACK.with(|c| c.replace(me));
            // A Rust sink that panics must not kill the worker and lose later events.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| sink(kind, op, &payload)));
            IN_CALLBACK.with(|c| c.set(prev));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::mpsc;

    #[test]
    fn type_and_op_are_added() {
        assert_eq!(with_type("{}", EventType::Logout, 0).as_str(), r#"{"type":"logout"}"#);
        assert_eq!(with_type(r#"{"a":1}"#, EventType::Done, 7).as_str(), r#"{"a":1,"type":"done","op":7}"#);
        // A result with a `type` of its own keeps it under another name: one `type` key.
        assert_eq!(
            with_type(r#"{"ok":true,"type":"bot"}"#, EventType::Done, 2).as_str(),
            r#"{"ok":true,"result_type":"bot","type":"done","op":2}"#
        );
    }

    /// A queue whose first delivery blocks until `release` is sent; every delivered
    /// payload goes to the returned receiver.
    fn blocked_queue() -> (Arc<EventQueue>, mpsc::Sender<()>, mpsc::Receiver<(EventType, String)>) {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Mutex::new(Some(release_rx));
        let (out_tx, out_rx) = mpsc::channel();
        let out_tx = Mutex::new(out_tx);
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let entered_tx = Mutex::new(entered_tx);
        let sink: EventSink = Arc::new(move |kind, _op, payload| {
            if let Some(rx) = release_rx.lock().unwrap().take() {
                let _ = entered_tx.lock().unwrap().send(());
                let _ = rx.recv();
            }
            let _ = out_tx.lock().unwrap().send((kind, payload.to_string()));
        });
        let q = EventQueue::new(Some(sink));
        q.push(EventType::Logout, 0, Map::new(), false); // occupies the callback
        entered_rx.recv().unwrap();
        (q, release_tx, out_rx)
    }

    fn token(n: usize) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("access_token".into(), Value::from(format!("T{n}")));
        m
    }

    #[test]
    fn a_waiting_token_refresh_is_replaced_by_the_newer_one() {
        let (q, release, out) = blocked_queue();
        for i in 0..1000 {
            q.push(EventType::TokenRefresh, 0, token(i), true);
        }
        assert_eq!(q.backlog(), 1, "only the latest token:refresh waits");
        release.send(()).unwrap();
        let _logout = out.recv().unwrap();
        let (kind, payload) = out.recv().unwrap();
        assert_eq!(kind, EventType::TokenRefresh);
        assert!(payload.contains("T999"), "{payload}");
        assert!(out.recv_timeout(std::time::Duration::from_millis(200)).is_err(), "only the latest token");
    }

    #[test]
    fn pending_polls_collapse_and_superseded_tokens_leave_done_payloads() {
        let (q, release, out) = blocked_queue();
        for i in 0..100 {
            let mut m = Map::new();
            m.insert("interval".into(), Value::from(i));
            q.push(EventType::AuthorizationPending, 9, m, false);
        }
        let mut ok = token(1);
        ok.insert("ok".into(), Value::Bool(true));
        let result: ResultText = Arc::new(SecretText::new(Value::Object(ok).to_string()));
        q.push_result(EventType::Done, 3, &result, true);
        q.supersede_token();
        assert_eq!(q.backlog(), 2);
        release.send(()).unwrap();
        let _logout = out.recv().unwrap();
        let (_, pending) = out.recv().unwrap();
        assert!(pending.contains(r#""interval":99"#), "{pending}");
        let (kind, done) = out.recv().unwrap();
        assert_eq!(kind, EventType::Done);
        assert_eq!(done, r#"{"ok":true,"token_superseded":true,"type":"done","op":3}"#);
    }
}
