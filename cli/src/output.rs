//! Small helpers for what people read: times and durations, and JSON on stdout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `2026-11-30T06:43:45Z`
pub fn timestamp(unix_ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(unix_ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `in 59m 58s`, `2h ago`: rounded to the two largest units.
pub fn relative(unix_ms: i64) -> String {
    let delta = unix_ms - now_ms();
    let span = short_duration(Duration::from_secs(delta.unsigned_abs() / 1000));
    if delta >= 0 { format!("in {span}") } else { format!("{span} ago") }
}

/// `4m 59s`: the two largest units of `d`.
pub fn short_duration(d: Duration) -> String {
    let full = humantime::format_duration(Duration::from_secs(d.as_secs())).to_string();
    let parts: Vec<&str> = full.split(' ').take(2).collect();
    parts.join(" ")
}

/// `timestamp (relative)` for an optional Unix-ms field.
pub fn when(unix_ms: Option<i64>) -> String {
    match unix_ms {
        Some(ms) => format!("{} ({})", timestamp(ms), relative(ms)),
        None => "unknown".to_string(),
    }
}

pub fn print_json(v: &Value) {
    println!("{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_two_units() {
        assert_eq!(short_duration(Duration::from_secs(299)), "4m 59s");
        assert_eq!(short_duration(Duration::from_secs(3600 * 24 * 59 + 3600 * 23 + 5)), "1month 29days");
        assert_eq!(short_duration(Duration::from_secs(0)), "0s");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }
}
