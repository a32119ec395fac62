//! Webex's own flows: Service App tokens, guests through a Service App, who a token is.

use std::ffi::c_char;

use super::handle::{self, wxa_client, wxa_op};
use super::status::wxa_status;
use super::strings::opt_arg;

/// Gets a Service App's token for an org whose Full Admin authorized it; it becomes the
/// client's token (refreshed afterwards like any other, with the Service App's own
/// `client_id`/`client_secret` from the config). Options (required): `target_org_id`,
/// `authorizing_token` (an integration's token with `spark:applications_token`; never
/// the client's own), optional `application_id` (default: derived from the client id).
/// Missing options: `WXA_ERR_INVALID_ARGUMENT`, nothing sent. A 403 ends the operation
/// with `WXA_ERR_HTTP` and a message saying an org admin must authorize the app.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_service_app_token(
    client: *mut wxa_client,
    options_json: *const c_char,
    out_op: *mut wxa_op,
) -> wxa_status {
    handle::start_op(client, out_op, |c| c.service_app_token(opt_arg(options_json, "options_json")?))
}

/// Creates a guest through the client's Service App (Webex's replacement of the Guest
/// Issuer): options `subject` (required) and `display_name`. The result carries the
/// guest's `access_token`, `expires_in`, `id`, `subject`, `display_name`, `email`; it
/// does not replace the client's token (another client can adopt it with
/// `wxa_set_token`). Refused on FedRAMP.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_create_guest(
    client: *mut wxa_client,
    options_json: *const c_char,
    out_op: *mut wxa_op,
) -> wxa_status {
    handle::start_op(client, out_op, |c| c.create_guest(opt_arg(options_json, "options_json")?))
}

/// Who the client's token is: `GET people/me`; result `id`, `emails`, `display_name`,
/// `org_id`, `type` (`person`, `bot`, `appuser`). A 401 leads to one compare-and-refresh
/// and one retry.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_whoami(client: *mut wxa_client, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.whoami())
}
