//! The engine's own event threads. Host callbacks never run on the tokio runtime or its
//! blocking pool (which also resolves DNS): a callback that blocks would otherwise starve
//! every client's network work. A client with undelivered events is queued here; a worker
//! delivers its events in order, one at a time, with no engine lock held.
//!
//! Threads grow only when callbacks block, not with the number of clients or the event
//! rate: one worker to start with; a monitor notices when work waits while no delivery has
//! completed for 10 ms (every worker is stuck inside a callback) and adds workers, one
//! after the first such period and twice as many after each further one (a single slow
//! period on a busy machine adds one thread; callbacks that really block get theirs
//! within tens of milliseconds), never more than clients waiting, up to `max_threads()`.
//! So up to that many
//! clients can block inside their callbacks at once without delaying any other client's
//! events, a client never occupies more than one thread, and idle workers exit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
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
/// A worker with nothing to do for this long exits (the last one stays).
const IDLE_EXIT: Duration = Duration::from_secs(10);
/// No delivery completed for this long while work waits: the workers may be stuck.
const STALL: Duration = Duration::from_millis(10);
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
    monitor: bool,
}

struct Dispatcher {
    state: Mutex<State>,
    work: Condvar,
    /// Wakes the monitor when work arrives.
    watch: Condvar,
    /// Deliveries completed (turns of `drain`), for the monitor's stall check.
    progress: AtomicU64,
}

fn dispatcher() -> &'static Dispatcher {
    static D: OnceLock<Dispatcher> = OnceLock::new();
    D.get_or_init(|| Dispatcher {
        state: Mutex::new(State::default()),
        work: Condvar::new(),
        watch: Condvar::new(),
        progress: AtomicU64::new(0),
    })
}

fn spawn_worker(d: &'static Dispatcher) -> bool {
    std::thread::Builder::new().name("webex-auth-events".into()).spawn(move || worker(d)).is_ok()
}

/// Queues a client's event queue for delivery. The caller makes sure a queue is scheduled
/// at most once at a time (its own `scheduled` flag), which keeps its events in order.
pub fn schedule(q: Arc<dyn Drain>) {
    let d = dispatcher();
    let (first, monitor, idle) = {
        let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
        st.ready.push_back(q);
        let first = st.threads == 0;
        if first {
            st.threads = 1;
        }
        let monitor = !std::mem::replace(&mut st.monitor, true);
        (first, monitor, st.idle > 0)
    };
    if idle {
        d.work.notify_one();
    } else {
        // Every worker is busy: the monitor watches for a stall.
        d.watch.notify_one();
    }
    if monitor && std::thread::Builder::new().name("webex-auth-events-monitor".into()).spawn(move || watch(d)).is_err()
    {
        d.state.lock().unwrap_or_else(|p| p.into_inner()).monitor = false;
    }
    if first && !spawn_worker(d) {
        // Not a single thread to be had: deliver here rather than lose events.
        let q = {
            let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
            st.threads = 0;
            st.ready.pop_front()
        };
        if let Some(q) = q {
            while q.drain(usize::MAX) {}
        }
    }
}

fn worker(d: &'static Dispatcher) {
    let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(q) = st.ready.pop_front() {
            // Work left behind and nobody idle to take it: if this delivery blocks, the
            // monitor must notice.
            let backlog = !st.ready.is_empty() && st.idle == 0;
            drop(st);
            if backlog {
                d.watch.notify_one();
            }
            let more = q.drain(BUDGET);
            d.progress.fetch_add(1, Ordering::Relaxed);
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
        if timeout.timed_out() && st.ready.is_empty() && st.threads > 1 {
            st.threads -= 1;
            return;
        }
    }
}

/// The monitor: while work waits and no worker is idle, checks every `STALL` that
/// deliveries still complete; when none did, every worker is inside a callback that
/// does not return, so one more worker is added per waiting client (up to the cap).
fn watch(d: &'static Dispatcher) {
    let mut st = d.state.lock().unwrap_or_else(|p| p.into_inner());
    let mut last = d.progress.load(Ordering::Relaxed);
    let mut stalled = 0u32;
    loop {
        if st.ready.is_empty() || st.idle > 0 {
            stalled = 0;
            st = d.watch.wait(st).unwrap_or_else(|p| p.into_inner());
            last = d.progress.load(Ordering::Relaxed);
            continue;
        }
        st = d.watch.wait_timeout(st, STALL).unwrap_or_else(|p| p.into_inner()).0;
        let now = d.progress.load(Ordering::Relaxed);
        if now != last {
            last = now;
            stalled = 0;
            continue;
        }
        if st.ready.is_empty() || st.idle > 0 {
            continue;
        }
        stalled += 1;
        let burst = 1usize << (stalled - 1).min(16);
        let add = burst.min(st.ready.len()).min(max_threads().saturating_sub(st.threads));
        let mut added = 0;
        for _ in 0..add {
            if !spawn_worker(d) {
                break;
            }
            added += 1;
        }
        st.threads += added;
    }
}

/// Worker threads alive now (for tests).
#[cfg(test)]
fn threads() -> usize {
    dispatcher().state.lock().unwrap().threads
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
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
    fn blocked_queues_do_not_delay_others_and_fast_ones_add_no_threads() {
        // Fast deliveries first: 20,000 queues with one quick event each need no more
        // than a few dispatcher threads (they do not grow with clients or events). Other
        // tests of this binary share the dispatcher meanwhile, and a worker starved of
        // CPU for four stall periods in a row adds 1+2+4+8 threads: the bound is far
        // below one thread per queue, not a handful (a loaded CI run saw 14 at +8).
        let before = threads();
        let (tx, rx) = mpsc::channel();
        for _ in 0..20_000 {
            schedule(Arc::new(Counter(AtomicUsize::new(0), tx.clone())));
        }
        for _ in 0..20_000 {
            rx.recv_timeout(Duration::from_secs(20)).expect("delivered");
        }
        assert!(threads() <= before + 32, "{} threads (from {before}) for quick callbacks", threads());

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
        schedule(Arc::new(Counter(AtomicUsize::new(0), tx)));
        rx.recv_timeout(Duration::from_secs(10)).expect("an unrelated queue is served while 40 block");
        for r in releases {
            let _ = r.send(());
        }
    }
}
