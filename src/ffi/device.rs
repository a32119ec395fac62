//! Device Authorization (QR login): `wxa_start_device_login` and `wxa_qr_code`.

use std::ffi::c_char;

use super::boundary::{self, out};
use super::handle::{self, wxa_client, wxa_op};
use super::status::wxa_status;
use super::strings::{arg, to_c};

/// Starts a device login: `getUserCodeSuccess`, then `authorizationPending` per poll,
/// then `authorizationSuccess` + `token:refresh`, or `authorizationFailure`;
/// `wxa_cancel` ends it with one `pollingCanceled`. One per client at a time.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_start_device_login(client: *mut wxa_client, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.start_device_login())
}

/// Renders `text` (e.g. `verificationUriComplete`) as a QR code: `format` `"utf8"`
/// (terminal block text, two module rows per line, quiet zone included) or `"svg"`.
/// No client, no network. Free `*out` with `wxa_string_free`.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_qr_code(text: *const c_char, format: *const c_char, out_qr: *mut *mut c_char) -> wxa_status {
    boundary::run(|| {
        let out_qr = out(out_qr, "out_qr")?;
        *out_qr = to_c(crate::qr_code(arg(text, "text")?, arg(format, "format")?)?)?;
        Ok(())
    })
}
