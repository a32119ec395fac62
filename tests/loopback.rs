//! Issue #12, loopback login (RFC 8252 §7.3) against the emulator, with a real HTTP
//! client (reqwest) playing the browser: it opens the authorize URL and follows the
//! redirect to `http://127.0.0.1:PORT/callback` by hand. Forged redirects get an error
//! page while the login keeps waiting; timeout and cancel close the listener.

mod common;
mod http_browser;

use std::net::TcpStream;
use std::time::Duration;

use common::*;
use http_browser::{Page, get};
use serde_json::json;

fn port_of(redirect_uri: &str) -> u16 {
    url::Url::parse(redirect_uri).unwrap().port().expect("an explicit port")
}

/// Nothing listens any more: a connection is refused.
#[track_caller]
fn assert_refused(port: u16) {
    match TcpStream::connect(("127.0.0.1", port)) {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("127.0.0.1:{port} still accepts connections"),
    }
}

#[track_caller]
fn assert_page(page: &Page, status: u16, text: &str) {
    assert_eq!(page.status, status, "{page:?}");
    assert!(page.content_type.as_deref().is_some_and(|t| t.starts_with("text/html")), "{page:?}");
    assert!(page.body.contains(text), "expected {text:?} in the page: {}", page.body);
}

#[test]
fn a_loopback_login_with_a_real_http_client_and_a_forged_redirect_on_the_way() {
    let emu = emulator();
    let rec = Recorder::new();
    let c = new_client(&confidential(&emu), &rec);
    let (url, op) = c.start_loopback_login(r#"{"state": {"return_to": "/inbox"}}"#).unwrap();
    let redirect_uri = query_param(&url, "redirect_uri").unwrap();
    assert!(redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback"), "{redirect_uri}");
    let port = port_of(&redirect_uri);
    assert_eq!(query_param(&url, "code_challenge_method").as_deref(), Some("S256"));

    // Another path (a favicon request): 404, and the login keeps waiting.
    let other = get(&format!("http://127.0.0.1:{port}/favicon.ico")).unwrap();
    assert_page(&other, 404, "only receives the sign-in redirect");

    // The browser goes to the authorize URL; the emulator answers with the redirect.
    let callback = http_browser::authorize(&url);
    assert!(callback.starts_with(&redirect_uri), "{callback}");

    // A forged redirect (the right port and path, another CSRF token): an error page, no
    // exchange, and the login still waits for the real one.
    let mut state = b64url_json(&query_param(&callback, "state").unwrap());
    state["csrf_token"] = json!("0123456789abcdef0123456789abcdef");
    let forged = set_param(&callback, "state", Some(&b64url(&state)));
    assert_page(&get(&forged).unwrap(), 400, "Sign-in link not valid");
    // No state at all: the same.
    assert_page(&get(&set_param(&callback, "state", None)).unwrap(), 400, "Sign-in link not valid");
    assert!(c.wait(op, Some(Duration::ZERO)).unwrap().is_none(), "a forged redirect ended the login");
    assert!(token_requests(&emu, "authorization_code").is_empty(), "a forged redirect reached the token endpoint");

    // The real redirect: the success page, then the token.
    assert_page(&get(&callback).unwrap(), 200, "You are signed in");
    let r = wait_result(&c, op);
    assert_ok(&r);
    let access = r["access_token"].as_str().unwrap();
    assert!(emu.is_access_token_valid(access));
    assert_eq!(access_token_of(&c), access);
    assert_eq!(r["state"], json!({"return_to": "/inbox"}));
    let clean = r["clean_url"].as_str().unwrap();
    // The clean URL keeps the app's state, without the code or the CSRF token.
    assert!(query_param(clean, "code").is_none(), "{clean}");
    assert_eq!(b64url_json(&query_param(clean, "state").unwrap()), json!({"return_to": "/inbox"}));
    rec.wait_for_op("token:refresh", op, LONG);

    // The exchange used the loopback redirect URI and the login's PKCE verifier.
    let exchanges = token_requests(&emu, "authorization_code");
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].form_value("redirect_uri"), Some(redirect_uri.as_str()));
    let verifier = exchanges[0].form_value("code_verifier").expect("PKCE verifier");
    assert_eq!(query_param(&url, "code_challenge").unwrap(), s256(verifier));

    // Done: the listener is closed.
    assert_refused(port);
    rec.assert_well_formed();
}

#[test]
fn an_error_redirect_shows_a_failure_page_and_ends_the_login() {
    let emu = emulator();
    let c = new_client_no_sink(&confidential(&emu));
    let (url, op) = c.start_loopback_login("").unwrap();
    let callback = http_browser::authorize(&add_param(&url, "force_error", "access_denied"));
    assert!(callback.contains("error=access_denied"), "{callback}");
    assert_page(&get(&callback).unwrap(), 400, "Sign-in failed");
    let r = wait_result(&c, op);
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert!(token_of(&c).is_none());
    assert_refused(port_of(&query_param(&url, "redirect_uri").unwrap()));
}

#[test]
fn a_timeout_ends_with_wxa_err_timeout_and_closes_the_listener() {
    let emu = emulator();
    let c = new_client_no_sink(&confidential(&emu));
    let (url, op) = c.start_loopback_login(r#"{"timeout_ms": 300}"#).unwrap();
    let port = port_of(&query_param(&url, "redirect_uri").unwrap());
    let r = wait_result(&c, op);
    assert_failed(&r, "WXA_ERR_TIMEOUT");
    assert_refused(port);
    // The browser that comes back late finds nobody listening, and nothing is exchanged.
    assert!(get(&http_browser::authorize(&url)).is_err());
    assert!(token_requests(&emu, "authorization_code").is_empty());
}

#[test]
fn cancel_closes_the_listener() {
    let emu = emulator();
    let c = new_client_no_sink(&confidential(&emu));
    let (url, op) = c.start_loopback_login("").unwrap();
    let port = port_of(&query_param(&url, "redirect_uri").unwrap());
    // Listening before the cancel...
    drop(TcpStream::connect(("127.0.0.1", port)).expect("the listener accepts before the cancel"));
    c.cancel(op).unwrap();
    let r = wait_result(&c, op);
    assert_failed(&r, "WXA_ERR_CANCELED");
    // ...refused once the operation has ended.
    assert_refused(port);
}

#[test]
fn a_fixed_port_is_used_and_a_busy_one_is_refused() {
    let emu = emulator();
    let c = new_client_no_sink(&confidential(&emu));
    let port = closed_port();
    let (url, op) = c.start_loopback_login(&json!({"port": port}).to_string()).unwrap();
    assert_eq!(query_param(&url, "redirect_uri").unwrap(), format!("http://127.0.0.1:{port}/callback"));
    // A second login on the same port cannot listen: a clear error at once.
    let e = c.start_loopback_login(&json!({"port": port}).to_string()).unwrap_err();
    assert_eq!(e.status(), webex_auth::Status::Network, "{e}");
    assert!(e.message().contains("cannot listen on 127.0.0.1"), "{e}");
    assert_eq!(http_browser::sign_in(&url).status, 200);
    assert_ok(&wait_result(&c, op));
}
