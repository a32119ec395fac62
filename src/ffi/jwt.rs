//! Guest-issuer JWTs: `wxa_create_jwt` (no client, no network) and `wxa_login_with_jwt`.

use std::ffi::c_char;

use super::boundary::{self, out};
use super::handle::{self, wxa_client, wxa_op};
use super::status::wxa_status;
use super::strings::{arg, to_c};

/// Creates a guest JWT (HS256). Options: `issuer`, `secret` (base64), `expires_in`
/// (seconds or `"12h"`), optional `subject`, `display_name`. Bad options are
/// `WXA_ERR_INVALID_ARGUMENT` with a message naming the field.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_create_jwt(options_json: *const c_char, out_jwt: *mut *mut c_char) -> wxa_status {
    boundary::run(|| {
        let out_jwt = out(out_jwt, "out_jwt")?;
        *out_jwt = to_c(crate::create_jwt(arg(options_json, "options_json")?)?)?;
        Ok(())
    })
}

/// Trades a guest JWT for an access token (`token:refresh` on success). Refused on
/// FedRAMP (`WXA_ERR_INVALID_ARGUMENT`): Webex for Government has no guests.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_login_with_jwt(client: *mut wxa_client, jwt: *const c_char, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.login_with_jwt(arg(jwt, "jwt")?))
}
