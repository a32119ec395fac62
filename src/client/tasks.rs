//! Every task a client starts runs through here: counted, and (background work) tied to
//! one cancellation token. `close` cancels them all and waits until none runs, so once
//! `wxa_free` has returned no request of that client reaches any server — a refresh
//! sleeping on `Retry-After` or a proactive-refresh timer included.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};

use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::runtime;

pub struct Tasks {
    cancel: CancellationToken,
    running: Mutex<usize>,
    idle: Condvar,
}

/// Counts a task out however it ends: completion, cancel, abort or panic.
struct Running(Arc<Tasks>);

impl Drop for Running {
    fn drop(&mut self) {
        let mut n = self.0.running.lock().unwrap_or_else(|p| p.into_inner());
        *n -= 1;
        if *n == 0 {
            self.0.idle.notify_all();
        }
    }
}

impl Tasks {
    pub fn new() -> Arc<Tasks> {
        Arc::new(Tasks { cancel: CancellationToken::new(), running: Mutex::new(0), idle: Condvar::new() })
    }

    fn enter(self: &Arc<Self>) -> Running {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Running(Arc::clone(self))
    }

    /// An operation's task: it ends through its own cancel token (which `close` fires)
    /// and must always run to report its `done`, so it is never refused.
    pub fn spawn_op(self: &Arc<Self>, fut: impl Future<Output = ()> + Send + 'static) {
        let running = self.enter();
        // Boxed: an operation's future holds a whole HTTP exchange (kilobytes), and tokio
        // copies the task's stage in and out by value; a box makes those copies 8 bytes.
        let fut = Box::pin(fut);
        runtime::handle().spawn(async move {
            let _running = running;
            fut.await;
        });
    }

    /// Background work (a shared refresh, a timer). Refused once the client is closing;
    /// stops at its next await when it is.
    pub fn spawn(self: &Arc<Self>, fut: impl Future<Output = ()> + Send + 'static) -> Option<AbortHandle> {
        if self.cancel.is_cancelled() {
            return None;
        }
        let running = self.enter();
        let cancel = self.cancel.clone();
        let fut = Box::pin(fut); // as in spawn_op: a shared refresh is a whole exchange too
        let handle = runtime::handle().spawn(async move {
            let _running = running;
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                _ = fut => {}
            }
        });
        Some(handle.abort_handle())
    }

    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Blocks until no task runs. Called from host threads only (never a runtime thread).
    pub fn wait_idle(&self) {
        let mut n = self.running.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            n = self.idle.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }
}
