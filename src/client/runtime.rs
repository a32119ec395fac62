//! The one tokio runtime every Client shares, created on first use. Threads do not
//! grow with the number of Clients.

use once_cell::sync::Lazy;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("webex-auth")
        .enable_all()
        .build()
        .expect("cannot start the webex-auth runtime")
});

pub fn handle() -> &'static Handle {
    RUNTIME.handle()
}
