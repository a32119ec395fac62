//! The one tokio runtime every Client shares, created on first use. Threads do not
//! grow with the number of Clients.

use once_cell::sync::Lazy;
use tokio::runtime::{Handle, Runtime};

/// One worker by default: the engine's work is waiting on sockets, and a second worker
/// costs every operation a cross-thread wake-up (~20 µs of a 160 µs code exchange on
/// loopback, see benches/engine.rs). Services doing thousands of TLS handshakes a
/// second can raise it with `WEBEX_AUTH_WORKER_THREADS` (1 to 64), read once.
fn worker_threads() -> usize {
    std::env::var("WEBEX_AUTH_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(1)
}

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("webex-auth")
        .enable_all()
        .build()
        .expect("cannot start the webex-auth runtime")
});

pub fn handle() -> &'static Handle {
    RUNTIME.handle()
}

/// Runs `fut` to completion from a synchronous API call (`Client::new` loading the token
/// store, `initiate_login` keeping a login in Redis). Callers bound `fut` by their own
/// timeout. From inside some tokio runtime (a Rust host's async code) it runs on a
/// helper thread, since blocking that runtime's thread is not allowed.
pub fn block_on<F: std::future::Future + Send>(fut: F) -> F::Output
where
    F::Output: Send,
{
    if Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| handle().block_on(fut)).join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        handle().block_on(fut)
    }
}
