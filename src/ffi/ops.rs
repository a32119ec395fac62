//! `wxa_cancel` and `wxa_wait`.

use std::ffi::c_char;
use std::time::Duration;

use super::boundary::{self, out};
use super::handle::{self, wxa_client, wxa_op};
use super::status::wxa_status;
use super::strings::to_c;
use crate::error::{Error, Status};

/// Cancels an operation: its `done` comes with `WXA_ERR_CANCELED`. An ended operation:
/// no-op, `WXA_OK`. An id never issued: `WXA_ERR_UNKNOWN_OPERATION`.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_cancel(client: *mut wxa_client, op: wxa_op) -> wxa_status {
    boundary::run(|| handle::client(client)?.cancel(op))
}

/// Waits up to `timeout_ms` (`UINT32_MAX`: no limit) for an operation's result JSON.
/// `WXA_OK` with `*out_result_json` (free with `wxa_string_free`) when it ended;
/// `WXA_PENDING` when the time passed first; `WXA_ERR_UNKNOWN_OPERATION` for an id not
/// issued or no longer kept; `WXA_ERR_INVALID_ARGUMENT` from inside the client's own
/// callback; `WXA_ERR_CANCELED` when the client is freed meanwhile.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_wait(
    client: *mut wxa_client,
    op: wxa_op,
    timeout_ms: u32,
    out_result_json: *mut *mut c_char,
) -> wxa_status {
    boundary::run(|| {
        let out_json = out(out_result_json, "out_result_json")?;
        let client = handle::client(client)?;
        let timeout = (timeout_ms != u32::MAX).then(|| Duration::from_millis(u64::from(timeout_ms)));
        match client.wait(op, timeout)? {
            Some(result) => {
                *out_json = to_c(result.as_bytes())?;
                Ok(())
            }
            None => Err(Error::new(Status::Pending, format!("operation {op} is still running"))),
        }
    })
}
