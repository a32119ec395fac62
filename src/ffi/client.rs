//! `wxa_init`, `wxa_free` and the token functions of the C API.

use std::ffi::{c_char, c_void};

use super::boundary::{self, out};
use super::handle::{self, wxa_client, wxa_event_fn, wxa_op};
use super::status::wxa_status;
use super::strings::{arg, opt_arg, to_c};
use crate::client::Client;

fn init(
    config_json: *const c_char,
    on_event: wxa_event_fn,
    user_data: *mut c_void,
    out_client: *mut *mut wxa_client,
) -> Result<(), crate::Error> {
    let out_client = out(out_client, "out_client")?;
    let config = arg(config_json, "config_json")?;
    let client = Client::new(config, handle::sink(on_event, user_data))?;
    *out_client = Box::into_raw(Box::new(wxa_client { client }));
    Ok(())
}

/// Creates a client from its JSON config (docs/PROTOCOL.md keys), checking that the host
/// was compiled against a header of this library's ABI: the header's `wxa_init` macro
/// passes `WXA_ABI_VERSION` here. `on_event` may be NULL; then results are kept until
/// `wxa_wait` reads them. Free with `wxa_free`. `WXA_ERR_INVALID_ARGUMENT`: another ABI
/// (the message names both), or a malformed config (the message names the key).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_init_abi(
    abi_version: u32,
    config_json: *const c_char,
    on_event: wxa_event_fn,
    user_data: *mut c_void,
    out_client: *mut *mut wxa_client,
) -> wxa_status {
    boundary::run(|| {
        if abi_version != crate::ABI_VERSION {
            return Err(crate::Error::invalid(format!(
                "this program was compiled against the webex-auth header of ABI {abi_version}, but the library \
                 loaded is {} (ABI {}): rebuild the program against this library's header, or load a library of ABI {abi_version}",
                crate::version(),
                crate::ABI_VERSION
            )));
        }
        init(config_json, on_event, user_data, out_client)
    })
}

/// `wxa_init_abi` without the ABI check, for hosts that bind by name (ctypes, dlsym) and
/// check `wxa_abi_version()` when they load the library. C and C++ hosts never call this
/// symbol: the header's `wxa_init` is a macro over `wxa_init_abi`.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_init(
    config_json: *const c_char,
    on_event: wxa_event_fn,
    user_data: *mut c_void,
    out_client: *mut *mut wxa_client,
) -> wxa_status {
    boundary::run(|| init(config_json, on_event, user_data, out_client))
}

/// Destroys a client: cancels every operation (their `done` events, status
/// `WXA_ERR_CANCELED`, are delivered first) and returns when no callback of it runs or
/// will run again; after it returns, no request of this client reaches any server. From
/// inside its own callback: cancels, delivers nothing more, and the memory goes when the
/// last thread still waiting on it has left. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_free(client: *mut wxa_client) {
    if client.is_null() {
        return;
    }
    boundary::run_or((), || {
        // SAFETY: a handle from `wxa_init`, freed once (docs/C-API.md).
        drop(unsafe { Box::from_raw(client) });
    });
}

/// Starts an Authorization Code login: returns the authorize URL (PKCE S256, CSRF-bound
/// state) in `*out_url` (free with `wxa_string_free`). `options_json` may be NULL or
/// `{"email","state","scope","prompt","login_hint"}`; a scope with `openid` adds a nonce
/// (Login with Webex). No HTTP request (with a Redis token store: one round trip to
/// Redis, where the pending login is kept for the whole fleet).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_initiate_login(
    client: *mut wxa_client,
    options_json: *const c_char,
    out_url: *mut *mut c_char,
) -> wxa_status {
    boundary::run(|| {
        let out_url = out(out_url, "out_url")?;
        let client = handle::client(client)?;
        let url = client.initiate_login(opt_arg(options_json, "options_json")?.unwrap_or(""))?;
        *out_url = to_c(url)?;
        Ok(())
    })
}

/// Checks a redirect's state (before any network call) and starts the code exchange.
/// `*out_clean_url` (optional, may be NULL) gets the URL without code and CSRF token.
/// `WXA_ERR_STATE_MISMATCH`: refused, nothing sent. `WXA_ERR_INVALID_ARGUMENT`: the URL
/// does not parse.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_handle_redirect(
    client: *mut wxa_client,
    redirect_url: *const c_char,
    out_clean_url: *mut *mut c_char,
    out_op: *mut wxa_op,
) -> wxa_status {
    boundary::run(|| {
        let out_op = out(out_op, "out_op")?;
        let client = handle::client(client)?;
        let url = arg(redirect_url, "redirect_url")?;
        let (op, clean) = client.handle_redirect(url)?;
        if let Some(out_clean_url) = boundary::opt_out(out_clean_url) {
            *out_clean_url = to_c(clean)?;
        }
        *out_op = op;
        Ok(())
    })
}

/// Exchanges an authorization code (with its PKCE verifier, or NULL for none).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_exchange_code(
    client: *mut wxa_client,
    code: *const c_char,
    code_verifier: *const c_char,
    out_op: *mut wxa_op,
) -> wxa_status {
    handle::start_op(client, out_op, |c| c.exchange_code(arg(code, "code")?, opt_arg(code_verifier, "code_verifier")?))
}

/// Forces a refresh; concurrent callers share one request (single-flight).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_refresh(client: *mut wxa_client, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.refresh())
}

/// Ends with the token when it stays valid `min_valid_s` more (and is outside the
/// refresh window), else refreshes it (single-flight).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_get_valid_token(client: *mut wxa_client, min_valid_s: u32, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.get_valid_token(min_valid_s))
}

/// Client credentials grant (confidential clients only).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_client_credentials(client: *mut wxa_client, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.client_credentials())
}

/// A snapshot of the token as supertoken JSON; `WXA_ERR_NOT_AUTHORIZED` when none.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_get_token(client: *mut wxa_client, out_token_json: *mut *mut c_char) -> wxa_status {
    boundary::run(|| {
        let out_json = out(out_token_json, "out_token_json")?;
        *out_json = to_c(handle::client(client)?.get_token()?)?;
        Ok(())
    })
}

/// Restores a saved token (the shape `wxa_get_token` returns); emits `token:refresh`.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_set_token(client: *mut wxa_client, token_json: *const c_char) -> wxa_status {
    boundary::run(|| {
        let client = handle::client(client)?;
        client.set_token(arg(token_json, "token_json")?)
    })
}

/// Revokes the token at the server, clears it locally and emits `logout` (the local
/// token is cleared even when the server call fails; the result reports it).
#[unsafe(no_mangle)]
pub extern "C" fn wxa_logout(client: *mut wxa_client, out_op: *mut wxa_op) -> wxa_status {
    handle::start_op(client, out_op, |c| c.logout())
}

/// The host's API call was refused (HTTP 401) with `access_token`: if it is still the
/// client's token, refresh it (single-flight; with a token store, once across every
/// process sharing it); if the token changed meanwhile, end at once with the current
/// one. The result is a token result like `wxa_refresh`'s.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_token_rejected(
    client: *mut wxa_client,
    access_token: *const c_char,
    out_op: *mut wxa_op,
) -> wxa_status {
    handle::start_op(client, out_op, |c| c.token_rejected(arg(access_token, "access_token")?))
}

/// Starts a loopback login for native apps (RFC 8252): listens on 127.0.0.1 (any free
/// port, or `"port"`), writes the authorize URL to open in a browser to `*out_url` (free
/// with `wxa_string_free`), answers the browser's redirect to
/// `http://127.0.0.1:PORT/callback` with a small page and exchanges the code; the
/// operation ends with the token (`WXA_ERR_TIMEOUT` after `"timeout_ms"`). Options (may
/// be NULL): `port`, `timeout_ms`, and those of `wxa_initiate_login`. `wxa_cancel` and
/// `wxa_free` close the listener.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_start_loopback_login(
    client: *mut wxa_client,
    options_json: *const c_char,
    out_url: *mut *mut c_char,
    out_op: *mut wxa_op,
) -> wxa_status {
    boundary::run(|| {
        let out_url = out(out_url, "out_url")?;
        let out_op = out(out_op, "out_op")?;
        let client = handle::client(client)?;
        let (url, op) = client.start_loopback_login(opt_arg(options_json, "options_json")?.unwrap_or(""))?;
        *out_url = to_c(url)?;
        *out_op = op;
        Ok(())
    })
}
