//! The engine's own event threads. Host callbacks never run on the tokio runtime or its
//! blocking pool (which also resolves DNS): a callback that blocks would otherwise starve
//! every client's network work. A client with undelivered events is queued here; a worker
//! delivers its events in order, one at a time, with no engine lock held.
//!
//! Threads start on demand, one more whenever every worker is busy (inside a host
//! callback) and work is waiting, up to `max_threads()`; idle workers exit after a while.
//! So up to that many clients can block inside their callbacks at once without delaying
//! any other client's events, and a client never occupies more than one thread.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// A client's event queue as the dispatcher sees it.
pub trait Drain: Send + Sync {
    /// Delivers some of the queue's events (at most `budget`); returns true when events
    /// remain, so the queue goes to the back of the line (fairness between clients).
    fn drain(&self, budget: usize) -> bool;
}

/// Events delivered per turn before another waiting client gets the thread.
const BUDGET: usize = 64;
/// A worker with nothing to do for this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_THREADS: usize = 1024;

/// `WEBEX_AUTH_DISPATCH_THREADS` (1 to 65536), read once; 1024 by default.
fn max_threads() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::env::var("WEBEX_AUTH_DISPATCH_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| (1..=65_536).contains(n))
            .unwrap_or(DEFAULT_MAX_THREADS)
    })
}

#[derive(Default)]
struct State {
    ready: VecDeque<Arc<dyn Drain>>,
    idle: usize,
    threads: usize,
}

struct Dispatcher {
    state: Mutex<State>,
    work: Condvar,
}

fn dispatcher() -> &'static Dispatcher {
    static D: OnceLock<Dispatcher> = OnceLock::new();
    D.get_or_init(|| Dispatcher { state: Mutex::new(State::default()), work: Condvar::new() })
}

/// Queues a client's event queue for delivery. The caller makes sure a queue is scheduled
/// at most once at a time (its own `scheduled` flag), which keeps its events in order.
pub fn schedule(q: Arc<dyn Drain>) {
    let d = dispatcher();
    let spawn = {
        let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
        st.ready.push_back(q);
        // More waiting queues than idle workers to take them: add a worker.
        let spawn = st.ready.len() > st.idle && st.threads < max_threads();
        if spawn {
            st.threads += 1;
        }
        spawn
    };
    d.work.notify_one();
    if spawn {
        let started = std::thread::Builder::new().name("webex-auth-events".into()).spawn(|| worker(dispatcher()));
        if started.is_err() {
            // No thread to be had: the existing workers (there is at least one unless
            // this was the first) will get to the queue; count the failed one out.
            let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
            st.threads -= 1;
            if st.threads == 0 {
                // Nobody will ever deliver: run it here rather than lose events. This
                // only happens when the process cannot create a single thread.
                if let Some(q) = st.ready.pop_front() {
                    drop(st);
                    while q.drain(usize::MAX) {}
                }
            }
        }
    }
}

fn worker(d: &'static Dispatcher) {
    let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(q) = st.ready.pop_front() {
            drop(st);
            let more = q.drain(BUDGET);
            st = d.state.lock().unwrap_or_else(|p| p.into_inner());
            if more {
                st.ready.push_back(q);
            }
            continue;
        }
        st.idle += 1;
        let (next, timeout) = d.work.wait_timeout(st, IDLE_EXIT).unwrap_or_else(|p| p.into_inner());
        st = next;
        st.idle -= 1;
        if timeout.timed_out() && st.ready.is_empty() {
            st.threads -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    struct Blocker {
        release: Mutex<Option<mpsc::Receiver<()>>>,
        entered: mpsc::Sender<()>,
    }
    impl Drain for Blocker {
        fn drain(&self, _: usize) -> bool {
            let rx = self.release.lock().unwrap().take();
            let _ = self.entered.send(());
            if let Some(rx) = rx {
                let _ = rx.recv();
            }
            false
        }
    }

    struct Counter(AtomicUsize, mpsc::Sender<()>);
    impl Drain for Counter {
        fn drain(&self, _: usize) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            let _ = self.1.send(());
            false
        }
    }

    #[test]
    fn blocked_queues_do_not_delay_others() {
        let mut releases = Vec::new();
        let (entered_tx, entered_rx) = mpsc::channel();
        for _ in 0..40 {
            let (tx, rx) = mpsc::channel();
            releases.push(tx);
            schedule(Arc::new(Blocker { release: Mutex::new(Some(rx)), entered: entered_tx.clone() }));
        }
        for _ in 0..40 {
            entered_rx.recv_timeout(Duration::from_secs(10)).expect("every blocked queue got its own thread");
        }
        let (tx, rx) = mpsc::channel();
        let c = Arc::new(Counter(AtomicUsize::new(0), tx));
        schedule(c.clone());
        rx.recv_timeout(Duration::from_secs(10)).expect("an unrelated queue is served while 40 block");
        for r in releases {
            let _ = r.send(());
        }
    }
}
