//! The device-grant polling state machine, `device::PollState::decide`, fed a sequence of
//! answers built from the input bytes: HTTP status, an optional small JSON body drawn
//! mostly from the error strings servers really send, unparseable bodies, timeouts.
//!
//! Invariants: the interval stays in [1000, MAX_INTERVAL_MS] ms and never decreases;
//! `KeepPolling { slow_down: false }` leaves it unchanged, `slow_down: true` grows it
//! (or it is already at the cap); only a 2xx without an error code is `Granted`.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use webex_auth::protocol::device::{self, PollAction, PollAnswer, PollState};
use webex_auth::protocol::oauth_error;

const STATUSES: &[u16] = &[200, 201, 204, 299, 300, 400, 401, 403, 404, 428, 429, 499, 500, 502, 503, 599, 600, 0];
const CODES: &[&str] = &[
    "authorization_pending",
    "slow_down",
    "expired_token",
    "access_denied",
    "invalid_grant",
    "invalid_client",
    "unsupported_grant_type",
    "",
    "Slow_Down",
    "slow down",
    "The request is pending",
];
const KEYS: &[&str] = &["error", "message", "error_description", "trackingId", "tracking_id", "access_token"];

fn pick<'a, T: Copy>(u: &mut Unstructured<'a>, from: &[T]) -> Result<T> {
    Ok(from[u.choose_index(from.len())?])
}

fn string(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(3, 4)? {
        Ok(pick(u, CODES)?.to_owned())
    } else {
        let len = u.int_in_range(0..=70)?;
        let bytes = u.bytes(len)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

fn value(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=5)? {
        0 => Value::Null,
        1 => Value::from(u.arbitrary::<i64>()?),
        2 => {
            let mut e = Map::new();
            e.insert("description".into(), Value::from(string(u)?));
            Value::Array(vec![Value::Object(e)])
        }
        _ => Value::from(string(u)?),
    })
}

fn body(u: &mut Unstructured<'_>) -> Result<Option<Map<String, Value>>> {
    if u.ratio(1, 6)? {
        return Ok(None);
    }
    let mut m = Map::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let key = if u.ratio(1, 8)? { "errors" } else { pick(u, KEYS)? };
        m.insert(key.into(), value(u)?);
    }
    Ok(Some(m))
}

fn status(u: &mut Unstructured<'_>) -> Result<u16> {
    if u.ratio(7, 8)? { pick(u, STATUSES) } else { u.arbitrary() }
}

fn answer(u: &mut Unstructured<'_>) -> Result<PollAnswer> {
    Ok(match u.int_in_range(0..=7)? {
        0 => PollAnswer::Unreachable,
        1 => PollAnswer::Unparseable { status: status(u)? },
        _ => PollAnswer::Http { status: status(u)?, body: body(u)? },
    })
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let initial_s: i64 = if u.ratio(1, 2)? { u.int_in_range(-2..=130)? } else { u.arbitrary()? };
    let mut st = PollState::new(initial_s);
    assert!(
        (1000..=device::MAX_INTERVAL_MS).contains(&st.interval_ms),
        "PollState::new({initial_s}) gave {}",
        st.interval_ms
    );
    for _ in 0..64 {
        if u.is_empty() {
            break;
        }
        let a = answer(&mut u)?;
        let desc = format!("{a:?}");
        let (http_2xx, code) = match &a {
            PollAnswer::Http { status, body } => (
                (200..=299).contains(status),
                body.as_ref().and_then(|b| oauth_error::parse_error_body(b, *status)).and_then(|s| s.error),
            ),
            _ => (false, None),
        };
        let before = st.interval_ms;
        let action = st.decide(a);
        let after = st.interval_ms;
        assert!(
            (1000..=device::MAX_INTERVAL_MS).contains(&after),
            "interval {after} out of range after {desc}"
        );
        assert!(after >= before, "interval went down {before} -> {after} after {desc}");
        match action {
            PollAction::KeepPolling { slow_down: false } => {
                assert_eq!(after, before, "interval changed without slow_down after {desc}")
            }
            PollAction::KeepPolling { slow_down: true } => assert!(
                after > before || after == device::MAX_INTERVAL_MS,
                "slow_down without growth ({before} -> {after}) after {desc}"
            ),
            PollAction::Granted(b) => {
                assert!(http_2xx && code.is_none(), "granted on {desc}");
                assert!(oauth_error::parse_error_body(&b, 200).and_then(|s| s.error).is_none());
                assert_eq!(after, before);
            }
            PollAction::Failed(_) => assert_eq!(after, before, "interval changed on failure after {desc}"),
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
