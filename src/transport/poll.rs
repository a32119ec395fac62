//! One device-token poll as RFC 8628's state machine needs it: the answer, or "could not
//! reach the server" (which backs off rather than fails). No retries here: the poller
//! owns the schedule.

use std::time::Duration;

use super::classify::json_object;
use super::http::{AttemptError, Http, Request, attempt};
use crate::protocol::device::PollAnswer;

pub async fn poll_once(http: &Http, req: &Request, timeout: Duration) -> PollAnswer {
    match attempt(http, req, timeout).await {
        Ok(resp) => match json_object(&resp.body) {
            Some(m) if m.is_empty() => PollAnswer::Http { status: resp.status, body: None },
            Some(m) => PollAnswer::Http { status: resp.status, body: Some(m) },
            None => PollAnswer::Unparseable { status: resp.status },
        },
        Err(AttemptError::TooLarge) => PollAnswer::Unparseable { status: 200 },
        Err(_) => PollAnswer::Unreachable,
    }
}
