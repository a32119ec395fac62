//! The committed C header must be what build.rs generates from src/ffi: a header that
//! lags the code would let C callers compile against functions that no longer exist.

use std::process::Command;

#[test]
fn committed_header_matches_the_generated_one() {
    let root = env!("CARGO_MANIFEST_DIR");
    // build.rs has just regenerated include/webex_auth.h for this build.
    let generated = std::fs::read_to_string(format!("{root}/include/webex_auth.h")).expect("generated header");
    let committed = Command::new("git").args(["-C", root, "show", "HEAD:include/webex_auth.h"]).output();
    match committed {
        Ok(out) if out.status.success() => {
            let committed = String::from_utf8(out.stdout).expect("UTF-8 header");
            assert!(
                committed == generated,
                "include/webex_auth.h is stale: commit the header that `cargo build` generated"
            );
        }
        // Outside a git checkout (a crate tarball) there is nothing committed to compare.
        _ => eprintln!("not a git checkout: header check skipped"),
    }
    for name in [
        "wxa_version",
        "wxa_status_name",
        "wxa_last_error",
        "wxa_init",
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
        assert!(generated.contains(&format!("{name}(")), "{name} missing from the header");
    }
}
