//! Wall-clock time in Unix milliseconds: the only place the engine reads the clock for
//! token expiry (timers use tokio's monotonic clock).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::UnixMs;

pub fn now_ms() -> UnixMs {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
