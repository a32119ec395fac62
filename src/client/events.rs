//! Per-client serial event queue. A push with no active drainer starts one drainer on
//! the runtime's blocking pool; it calls the host with no lock held, one event at a
//! time, in order. A slow host callback never stalls the runtime.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex};

use serde_json::{Map, Value};

use super::runtime;

/// Event types with their fixed numbers (C-API.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum EventType {
    Done = 1,
    TokenRefresh = 2,
    Unauthorized = 3,
    AuthError = 4,
    UserCode = 5,
    UserCodeFailure = 6,
    AuthorizationPending = 7,
    AuthorizationSuccess = 8,
    AuthorizationFailure = 9,
    PollingCanceled = 10,
    Logout = 11,
    JwtRefresh = 12,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::Done,
        EventType::TokenRefresh,
        EventType::Unauthorized,
        EventType::AuthError,
        EventType::UserCode,
        EventType::UserCodeFailure,
        EventType::AuthorizationPending,
        EventType::AuthorizationSuccess,
        EventType::AuthorizationFailure,
        EventType::PollingCanceled,
        EventType::Logout,
        EventType::JwtRefresh,
    ];

    pub fn from_code(code: i32) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|e| *e as i32 == code)
    }

    /// The payload's `"type"`, as the Webex SDK names its events.
    pub fn name(self) -> &'static str {
        match self {
            EventType::Done => "done",
            EventType::TokenRefresh => "token:refresh",
            EventType::Unauthorized => "unauthorized",
            EventType::AuthError => "auth:error",
            EventType::UserCode => "getUserCodeSuccess",
            EventType::UserCodeFailure => "getUserCodeFailure",
            EventType::AuthorizationPending => "authorizationPending",
            EventType::AuthorizationSuccess => "authorizationSuccess",
            EventType::AuthorizationFailure => "authorizationFailure",
            EventType::PollingCanceled => "pollingCanceled",
            EventType::Logout => "logout",
            EventType::JwtRefresh => "jwt:refresh",
        }
    }
}

/// The host's event handler: `(type, op id or 0, payload JSON)`. Called from a library
/// thread, never two at once for one client.
pub type EventSink = Arc<dyn Fn(EventType, u64, &str) + Send + Sync>;

struct Event {
    kind: EventType,
    op: u64,
    payload: String,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Event>,
    draining: bool,
    /// No callback runs any more (the client is being or has been freed).
    suppressed: bool,
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

impl EventQueue {
    pub fn new(sink: Option<EventSink>) -> Arc<EventQueue> {
        Arc::new(EventQueue { sink, state: Mutex::new(QueueState::default()), idle: Condvar::new() })
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

    /// Queues an event; `fields` gets `"type"` (and `"op"` when non-zero) added.
    pub fn push(self: &Arc<Self>, kind: EventType, op: u64, mut fields: Map<String, Value>) {
        if self.sink.is_none() {
            return;
        }
        fields.insert("type".into(), Value::from(kind.name()));
        if op != 0 {
            fields.insert("op".into(), Value::from(op));
        }
        let payload = Value::Object(fields).to_string();
        let start = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.suppressed {
                return;
            }
            st.items.push_back(Event { kind, op, payload });
            !std::mem::replace(&mut st.draining, true)
        };
        if start {
            let me = Arc::clone(self);
            runtime::handle().spawn_blocking(move || me.drain());
        }
    }

    fn drain(self: Arc<Self>) {
        let Some(sink) = self.sink.clone() else { return };
        loop {
            let ev = {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                match st.items.pop_front().filter(|_| !st.suppressed) {
                    Some(ev) => ev,
                    None => {
                        st.items.clear();
                        st.draining = false;
                        self.idle.notify_all();
                        return;
                    }
                }
            };
            let prev = IN_CALLBACK.with(|c| c.replace(self.id()));
            // A Rust sink that panics must not kill the drainer and lose later events.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| sink(ev.kind, ev.op, &ev.payload)));
            IN_CALLBACK.with(|c| c.set(prev));
        }
    }

    /// Blocks until every queued event has been delivered, then lets no more in: one
    /// lock, so no event slips in between the last delivery and the suppression.
    pub fn drain_then_suppress(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while st.draining {
            st = self.idle.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.suppressed = true;
        st.items.clear();
    }

    /// No callback starts after this returns (one already running may finish).
    pub fn suppress(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.suppressed = true;
        st.items.clear();
    }
}
