//! The C ABI: handles, strings, status codes, callbacks and the panic barrier. The only
//! module with `extern "C"` and raw pointers; every function body runs inside
//! `boundary::run` or `boundary::run_or`, so no panic and no unwinding crosses into C.
#![allow(non_camel_case_types)]
// The C ABI takes raw pointers by design; each dereference is checked for NULL and
// documented with its contract, as rustls-ffi does.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod client;
mod device;
mod handle;
mod jwt;
mod ops;
mod status;
mod strings;
mod webex;

pub use client::*;
pub use device::*;
pub use handle::*;
pub use jwt::*;
pub use ops::*;
pub use status::*;
pub use strings::wxa_string_free;
pub use webex::*;

#[cfg(test)]
mod boundary_tests {
    //! Every export crosses one barrier: with a panic forced inside, each returns its
    //! fallback (`WXA_ERR_INTERNAL`, or the documented default) instead of unwinding
    //! into C. The list is checked against the header, so a new export cannot skip it.
    use super::boundary::PANIC_INSIDE;
    use super::*;
    use std::ffi::{CStr, c_char};
    use std::ptr::{null, null_mut};

    fn panicking<T>(f: impl FnOnce() -> T) -> T {
        PANIC_INSIDE.with(|p| p.set(true));
        let v = f();
        assert!(!PANIC_INSIDE.with(|p| p.get()), "the export did not cross the barrier");
        v
    }

    fn client() -> *mut wxa_client {
        let mut c = null_mut();
        assert_eq!(
            wxa_init(
                c"{\"client_id\":\"c\",\"redirect_uri\":\"http://127.0.0.1/cb\"}".as_ptr(),
                None,
                null_mut(),
                &mut c
            ),
            WXA_OK
        );
        c
    }

    #[test]
    fn every_export_has_a_fallback_when_it_panics() {
        let c = client();
        let mut op: wxa_op = 0;
        let mut s: *mut c_char = null_mut();
        let cfg = c"{\"client_id\":\"c\"}".as_ptr();
        let opts = c"{}".as_ptr();
        let mut checked: Vec<&str> = Vec::new();
        let mut status = |name: &'static str, f: &dyn Fn() -> wxa_status| {
            assert_eq!(panicking(f), WXA_ERR_INTERNAL, "{name}");
            checked.push(name);
        };
        let mut nc: *mut wxa_client = null_mut();
        let ncp = &mut nc as *mut *mut wxa_client;
        let (opp, sp) = (&mut op as *mut wxa_op, &mut s as *mut *mut c_char);
        status("wxa_init_abi", &|| wxa_init_abi(crate::ABI_VERSION, cfg, None, null_mut(), ncp));
        status("wxa_init", &|| wxa_init(cfg, None, null_mut(), ncp));
        status("wxa_initiate_login", &|| wxa_initiate_login(c, null(), sp));
        status("wxa_handle_redirect", &|| wxa_handle_redirect(c, c"http://127.0.0.1/cb".as_ptr(), null_mut(), opp));
        status("wxa_exchange_code", &|| wxa_exchange_code(c, c"code".as_ptr(), null(), opp));
        status("wxa_refresh", &|| wxa_refresh(c, opp));
        status("wxa_get_valid_token", &|| wxa_get_valid_token(c, 0, opp));
        status("wxa_client_credentials", &|| wxa_client_credentials(c, opp));
        status("wxa_get_token", &|| wxa_get_token(c, sp));
        status("wxa_set_token", &|| wxa_set_token(c, c"{\"access_token\":\"a\"}".as_ptr()));
        status("wxa_logout", &|| wxa_logout(c, opp));
        status("wxa_token_rejected", &|| wxa_token_rejected(c, c"a".as_ptr(), opp));
        status("wxa_start_loopback_login", &|| wxa_start_loopback_login(c, null(), sp, opp));
        status("wxa_start_device_login", &|| wxa_start_device_login(c, opp));
        status("wxa_qr_code", &|| wxa_qr_code(c"x".as_ptr(), c"utf8".as_ptr(), sp));
        status("wxa_create_jwt", &|| wxa_create_jwt(opts, sp));
        status("wxa_login_with_jwt", &|| wxa_login_with_jwt(c, c"a.b.c".as_ptr(), opp));
        status("wxa_cancel", &|| wxa_cancel(c, 1));
        status("wxa_wait", &|| wxa_wait(c, 1, 0, sp));
        status("wxa_service_app_token", &|| wxa_service_app_token(c, opts, opp));
        status("wxa_create_guest", &|| wxa_create_guest(c, opts, opp));
        status("wxa_whoami", &|| wxa_whoami(c, opp));
        let text = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        assert_eq!(text(panicking(|| wxa_status_name(0))), "WXA_UNKNOWN_STATUS");
        assert_eq!(text(panicking(|| wxa_event_name(1))), "unknown");
        assert_eq!(text(panicking(|| wxa_version())), env!("CARGO_PKG_VERSION"));
        assert_eq!(panicking(|| wxa_abi_version()), crate::ABI_VERSION);
        assert_eq!(text(panicking(|| wxa_last_error())), "");
        assert!(text(wxa_last_error()).contains("panic"), "the panic is reported");
        // wxa_string_free and wxa_free: the fallback is to do nothing (the memory leaks
        // rather than unwinding into C).
        let leaked = super::strings::to_c("x").unwrap();
        panicking(|| wxa_string_free(leaked));
        let doomed = client();
        panicking(|| wxa_free(doomed));
        checked.extend([
            "wxa_status_name",
            "wxa_event_name",
            "wxa_version",
            "wxa_abi_version",
            "wxa_last_error",
            "wxa_string_free",
            "wxa_free",
        ]);
        // Every function the header declares is in the list.
        let header = include_str!(env!("WEBEX_AUTH_GENERATED_HEADER"));
        for line in header.lines() {
            if let Some(name) = line.split('(').next().and_then(|h| h.split_whitespace().last()) {
                let name = name.trim_start_matches('*');
                if name.starts_with("wxa_")
                    && line.contains('(')
                    && !line.starts_with("#define")
                    && !line.starts_with(' ')
                {
                    assert!(checked.contains(&name), "{name} has no panic fallback check");
                }
            }
        }
        wxa_free(c);
    }
}
