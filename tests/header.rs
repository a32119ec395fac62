//! The committed C header must be what build.rs generates from src/ffi and src/codes.rs
//! (into OUT_DIR): a header that lags the code would let C callers compile against
//! functions that no longer exist. `scripts/update-header.sh` copies it over. The
//! version macros must agree with Cargo.toml and with `wxa_version()`.

use std::ffi::CStr;

const GENERATED: &str = include_str!(env!("WEBEX_AUTH_GENERATED_HEADER"));
const COMMITTED: &str = include_str!("../include/webex_auth.h");

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    let line = header.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{name} missing"));
    line[prefix.len()..].split("/*").next().unwrap().trim().to_string()
}

#[test]
fn committed_header_matches_the_generated_one() {
    assert!(
        COMMITTED == GENERATED,
        "include/webex_auth.h is stale: run scripts/update-header.sh and commit the header"
    );
}

#[test]
fn header_versions_agree_with_cargo_toml_and_the_library() {
    assert_eq!(define(GENERATED, "WXA_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(define(GENERATED, "WXA_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(define(GENERATED, "WXA_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(define(GENERATED, "WXA_VERSION_STRING"), format!("\"{}\"", env!("CARGO_PKG_VERSION")));
    let lib = unsafe { CStr::from_ptr(webex_auth::ffi::wxa_version()) }.to_str().unwrap();
    assert_eq!(lib, env!("CARGO_PKG_VERSION"));
    assert_eq!(define(GENERATED, "WXA_ABI_VERSION"), webex_auth::ffi::wxa_abi_version().to_string());
}

#[test]
fn every_constant_and_function_is_declared() {
    for s in webex_auth::Status::ALL {
        assert_eq!(define(GENERATED, s.c_name()), s.code().to_string());
    }
    for name in [
        "wxa_version",
        "wxa_abi_version",
        "wxa_status_name",
        "wxa_event_name",
        "wxa_last_error",
        "wxa_init",
        "wxa_init_abi",
        "wxa_free",
        "wxa_initiate_login",
        "wxa_handle_redirect",
        "wxa_exchange_code",
        "wxa_refresh",
        "wxa_get_valid_token",
        "wxa_client_credentials",
        "wxa_get_token",
        "wxa_set_token",
        "wxa_logout",
        "wxa_create_jwt",
        "wxa_login_with_jwt",
        "wxa_start_device_login",
        "wxa_qr_code",
        "wxa_cancel",
        "wxa_wait",
        "wxa_string_free",
    ] {
        assert!(GENERATED.contains(&format!("{name}(")), "{name} missing from the header");
    }
    assert!(GENERATED.contains("#define wxa_init(config_json, on_event, user_data, out_client)"));
}
