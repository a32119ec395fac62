//! Authorization Code + PKCE against the emulator: the authorize URL, the redirect
//! checks (all before any network call), the exchange, and client authentication.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use webex_auth::Status;

const EMAIL: &str = "Alice.Private@Example.com";

#[test]
fn full_pkce_login() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);

    let url = client.initiate_login(&json!({"email": EMAIL, "state": {"page": "/inbox", "n": 7}}).to_string()).unwrap();
    assert!(url.starts_with(&format!("{}/authorize?", emu.api_url())), "{url}");
    assert_eq!(query_param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(query_param(&url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query_param(&url, "redirect_uri").as_deref(), Some(REDIRECT_URI));
    assert_eq!(query_param(&url, "scope").as_deref(), Some("spark:all"));
    assert_eq!(query_param(&url, "code_challenge_method").as_deref(), Some("S256"));
    let challenge = query_param(&url, "code_challenge").unwrap();
    assert_eq!(challenge.len(), 43);
    // The email is hashed (hex SHA-256, as given), never sent in clear.
    let hash = sha256_hex(EMAIL);
    assert_eq!(query_param(&url, "emailHash").as_deref(), Some(hash.as_str()));
    assert!(!url.to_lowercase().contains("alice"), "{url}");
    // state = base64url JSON: the app's fields + csrf_token + emailhash.
    let state = b64url_json(&query_param(&url, "state").unwrap());
    assert_eq!(state["page"], "/inbox");
    assert_eq!(state["n"], 7);
    assert_eq!(state["emailhash"], json!(hash));
    let csrf = state["csrf_token"].as_str().expect("csrf_token");
    assert!(csrf.len() >= 22, "CSRF token too short: {csrf}");

    let location = browser_authorize(&url);
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let code = query_param(&location, "code").unwrap();
    assert!(emu.requests(Endpoint::Token).is_empty(), "nothing sent before handle_redirect");

    let (op, clean) = client.handle_redirect(&location).unwrap();
    assert!(op >= 1);
    // Sanitized URL: no code, no csrf token, no email hash; the app's state stays.
    assert!(!clean.contains(&code), "{clean}");
    assert!(query_param(&clean, "code").is_none(), "{clean}");
    let clean_state = b64url_json(&query_param(&clean, "state").expect("app state kept"));
    assert_eq!(clean_state, json!({"page": "/inbox", "n": 7}));
    assert!(!clean.contains(csrf), "{clean}");

    let r = wait_result(&client, op);
    assert_ok(&r);
    let access = r["access_token"].as_str().expect("access_token");
    assert!(emu.is_access_token_valid(access));
    assert_eq!(r["token_type"], "Bearer");
    assert!(r["refresh_token"].is_string(), "{r}");
    assert!(r["expires_in"].as_i64().unwrap() > 3500, "{r}");
    assert!(r["expires_at"].as_i64().unwrap() > now_ms(), "{r}");
    assert_eq!(r["state"], json!({"page": "/inbox", "n": 7}));
    assert_eq!(r["org_id"], json!(emu.config().org_id));

    // The verifier the emulator saw matches the challenge of the URL (S256), and is a
    // 128-char RFC 3986 unreserved string.
    let reqs = emu.requests(Endpoint::Token);
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.form_value("grant_type"), Some("authorization_code"));
    assert_eq!(req.form_value("code"), Some(code.as_str()));
    assert_eq!(req.form_value("redirect_uri"), Some(REDIRECT_URI));
    assert_eq!(req.form_value("self_contained_token"), Some("true"));
    let verifier = req.form_value("code_verifier").expect("code_verifier sent");
    assert_eq!(verifier.len(), 128);
    assert!(verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{verifier}");
    assert_eq!(s256(verifier), challenge);
    assert_eq!(webex_auth_emulator::challenge_s256(verifier), challenge);
    // Confidential client, default client_auth: HTTP Basic.
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("test-client:test-secret"));
    assert_eq!(req.header("authorization"), Some(basic.as_str()));
    assert!(req.form_value("client_secret").is_none());

    // The email never reached the server in any form.
    for r in all_requests(&emu) {
        let blob = format!("{} {} {:?} {}", r.path, r.query, r.headers, r.body).to_lowercase();
        assert!(!blob.contains("alice"), "email leaked in {r:?}");
    }

    // token:refresh of this op, then done, in that order.
    let tr = rec.wait_for_op("token:refresh", op, LONG);
    assert_eq!(tr.payload["access_token"], json!(access));
    let done = rec.done(op);
    // The done payload is the result with "type" and "op" added.
    let mut stripped = done.payload.clone();
    let obj = stripped.as_object_mut().unwrap();
    assert_eq!(obj.remove("type"), Some(json!("done")));
    assert_eq!(obj.remove("op"), Some(json!(op)));
    assert_eq!(stripped, r);
    let names = rec.names_for(op);
    let i_tr = names.iter().position(|n| n == "token:refresh").unwrap();
    let i_done = names.iter().position(|n| n == "done").unwrap();
    assert!(i_tr < i_done, "{names:?}");
    assert_eq!(access_token_of(&client), access);
    rec.assert_well_formed();
}

#[test]
fn login_without_email_or_state() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let url = client.initiate_login("").unwrap();
    assert!(query_param(&url, "emailHash").is_none());
    let state = b64url_json(&query_param(&url, "state").unwrap());
    assert!(state.get("emailhash").is_none());
    assert_eq!(state.as_object().unwrap().len(), 1, "only csrf_token: {state}");
    let location = add_param(&browser_authorize(&url), "keep", "1");
    let (op, clean) = client.handle_redirect(&location).unwrap();
    // Only the CSRF token was in state: state disappears, other parameters stay.
    assert_eq!(clean, format!("{REDIRECT_URI}?keep=1"));
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_eq!(r["state"], json!({}));
}

/// Each bad redirect is refused by the call itself, starts no operation and sends nothing.
fn assert_refused(client: &Client, emu: &Emulator, url: &str) {
    match client.handle_redirect(url) {
        Ok((op, _)) => panic!("redirect {url} accepted as op {op}"),
        Err(e) => assert_eq!(e.status(), Status::StateMismatch, "{url}: {e}"),
    }
    assert!(emu.requests(Endpoint::Token).is_empty(), "a refused redirect reached the token endpoint");
}

#[test]
fn forged_missing_unknown_state_are_refused_and_the_real_login_survives() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let url = client.initiate_login(r#"{"state":{"a":1}}"#).unwrap();
    let location = browser_authorize(&url);
    let real_state = query_param(&location, "state").unwrap();

    // Missing state.
    assert_refused(&client, &emu, &set_param(&location, "state", None));
    // Not base64url JSON.
    assert_refused(&client, &emu, &set_param(&location, "state", Some("%%%not-state")));
    // JSON without csrf_token.
    assert_refused(&client, &emu, &set_param(&location, "state", Some(&b64url(&json!({"a":1})))));
    // Unknown csrf token.
    let forged = b64url(&json!({"a": 1, "csrf_token": "0123456789abcdef0123456789abcdef"}));
    assert_refused(&client, &emu, &set_param(&location, "state", Some(&forged)));
    // The real csrf token with a one-character change.
    let mut st = b64url_json(&real_state);
    let csrf = st["csrf_token"].as_str().unwrap().to_string();
    let flipped: String =
        csrf.chars().enumerate().map(|(i, c)| if i == 0 { if c == 'a' { 'b' } else { 'a' } } else { c }).collect();
    st["csrf_token"] = json!(flipped);
    assert_refused(&client, &emu, &set_param(&location, "state", Some(&b64url(&st))));
    // An injected error redirect with a forged state cannot end the real login either.
    let injected = add_param(&format!("{REDIRECT_URI}?error=access_denied"), "state", &forged);
    assert_refused(&client, &emu, &injected);
    // Wrong-client: the redirect goes to another client.
    let other = new_client(&confidential(&emu), &Recorder::new());
    assert_refused(&other, &emu, &location);

    assert_eq!(rec.len(), 0, "refused redirects emit nothing: {:?}", rec.summary());
    // After all of that, the genuine redirect still works.
    let (op, _) = client.handle_redirect(&location).unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_eq!(r["state"], json!({"a": 1}));
    // Replayed: the pending login was used up.
    emu.clear_requests();
    assert_refused(&client, &emu, &location);
}

#[test]
fn another_clients_state_is_refused_and_stays_pending_for_its_owner() {
    let emu = emulator();
    let a = new_client(&confidential(&emu), &Recorder::new());
    let b = new_client(&confidential(&emu), &Recorder::new());
    let location = browser_authorize(&a.initiate_login("").unwrap());
    // b has a pending login of its own, which does not help.
    let _ = b.initiate_login("").unwrap();
    assert_refused(&b, &emu, &location);
    let (op, _) = a.handle_redirect(&location).unwrap();
    assert_ok(&wait_result(&a, op));
}

#[test]
fn expired_pending_login_is_refused() {
    let emu = emulator();
    let client = new_client(&with(confidential(&emu), json!({"login_ttl_s": 1})), &Recorder::new());
    let location = browser_authorize(&client.initiate_login("").unwrap());
    std::thread::sleep(Duration::from_millis(1200));
    assert_refused(&client, &emu, &location);
    // A fresh login on the same client works.
    login(&client);
}

#[test]
fn iss_mismatch_is_refused_like_a_forged_state() {
    let emu = emulator();
    let issuer = "https://idbroker.webex.com/idb";
    let client = new_client(&with(confidential(&emu), json!({"issuer": issuer})), &Recorder::new());
    let location = browser_authorize(&client.initiate_login("").unwrap());
    assert_refused(&client, &emu, &add_param(&location, "iss", "https://evil.example.com/idb"));
    // The login stays pending: the right iss goes through.
    let (op, _) = client.handle_redirect(&add_param(&location, "iss", issuer)).unwrap();
    assert_ok(&wait_result(&client, op));
    // Absent iss is accepted.
    let location = browser_authorize(&client.initiate_login("").unwrap());
    let (op, _) = client.handle_redirect(&location).unwrap();
    assert_ok(&wait_result(&client, op));
}

#[test]
fn unparseable_redirect_is_invalid_argument() {
    let emu = emulator();
    let client = new_client(&confidential(&emu), &Recorder::new());
    let _ = client.initiate_login("").unwrap();
    let e = client.handle_redirect("not a url at all").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
}

#[test]
fn error_redirect_fails_the_op_and_uses_up_the_login() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let url = client.initiate_login(r#"{"state":{"x":"y"}}"#).unwrap();
    let location = browser_authorize(&add_param(&url, "force_error", "access_denied"));
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert!(query_param(&location, "code").is_none());

    let (op, clean) = client.handle_redirect(&location).unwrap();
    assert!(!clean.contains("csrf"), "{clean}");
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert_eq!(r["error"], "access_denied");
    assert!(r["error_description"].is_string(), "{r}");
    let auth_error = rec.wait_for_op("auth:error", op, LONG);
    assert_eq!(auth_error.payload["error"], "access_denied");
    let done = rec.done(op);
    assert_eq!(done.payload["error"], "access_denied");
    assert!(emu.requests(Endpoint::Token).is_empty(), "an error redirect is not exchanged");
    assert!(token_of(&client).is_none());
    // Used up: the same redirect again is a replay.
    assert_refused(&client, &emu, &location);
}

#[test]
fn exchange_code_directly_and_reused_code_is_invalid_grant() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    // A confidential client may authorize without PKCE; the app exchanges the code itself.
    let authorize = format!(
        "{}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&scope=spark%3Aall",
        emu.api_url(),
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let code = query_param(&browser_authorize(&authorize), "code").unwrap();
    let op = client.exchange_code(&code, None).unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_eq!(r["org_id"], json!(emu.config().org_id));
    assert!(r.get("state").is_none(), "exchange_code has no state: {r}");
    rec.wait_for_op("token:refresh", op, LONG);
    let req = &emu.requests(Endpoint::Token)[0];
    assert!(req.form_value("code_verifier").is_none());

    let op2 = client.exchange_code(&code, None).unwrap();
    assert!(op2 > op);
    let r2 = wait_result(&client, op2);
    assert_failed(&r2, "WXA_ERR_OAUTH");
    assert_eq!(r2["error"], "invalid_grant");
    assert_eq!(r2["http_status"], 400);
    assert!(r2["tracking_id"].is_string(), "{r2}");
    // An OAuth error answer is never retried.
    assert_eq!(emu.requests(Endpoint::Token).len(), 2);
    // The first token survives the failed exchange.
    assert_eq!(access_token_of(&client), r["access_token"].as_str().unwrap());
}

#[test]
fn exchange_code_with_own_verifier() {
    let emu = emulator();
    let client = new_client(&confidential(&emu), &Recorder::new());
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_eq!(s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "RFC 7636 golden value");
    let authorize = |c: &str| {
        format!(
            "{}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&code_challenge={c}&code_challenge_method=S256",
            emu.api_url(),
            url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
        )
    };
    let code = query_param(&browser_authorize(&authorize(&s256(verifier))), "code").unwrap();
    let op = client.exchange_code(&code, Some(verifier)).unwrap();
    assert_ok(&wait_result(&client, op));
    assert_eq!(emu.requests(Endpoint::Token)[0].form_value("code_verifier"), Some(verifier));

    // A verifier that does not match the challenge: the server refuses.
    let code = query_param(&browser_authorize(&authorize(&s256(verifier))), "code").unwrap();
    let wrong = "x".repeat(64);
    let r = wait_result(&client, client.exchange_code(&code, Some(&wrong)).unwrap());
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert_eq!(r["error"], "invalid_grant");

    // Bad arguments are refused by the call itself.
    assert_eq!(client.exchange_code("", None).unwrap_err().status(), Status::InvalidArgument);
    assert_eq!(client.exchange_code("c", Some("short")).unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn public_client_full_flow_sends_no_authorization_header() {
    let emu = emulator();
    let rec = Recorder::new();
    let client = new_client(&public(&emu), &rec);
    let url = client.initiate_login("").unwrap();
    assert_eq!(query_param(&url, "client_id").as_deref(), Some(PUBLIC_CLIENT_ID));
    let (op, _) = client.handle_redirect(&browser_authorize(&url)).unwrap();
    let r = wait_result(&client, op);
    assert_ok(&r);
    let req = &emu.requests(Endpoint::Token)[0];
    assert!(req.header("authorization").is_none(), "{:?}", req.headers);
    assert_eq!(req.form_value("client_id"), Some(PUBLIC_CLIENT_ID));
    assert!(req.form_value("client_secret").is_none());
    assert!(req.form_value("code_verifier").is_some());

    // Refresh of a public client: client_id in the form too, still no header.
    emu.clear_requests();
    let r = wait_result(&client, client.refresh().unwrap());
    assert_ok(&r);
    let req = &emu.requests(Endpoint::Token)[0];
    assert_eq!(req.form_value("grant_type"), Some("refresh_token"));
    assert!(req.header("authorization").is_none());
    assert_eq!(req.form_value("client_id"), Some(PUBLIC_CLIENT_ID));

    // A public client cannot use client credentials: refused by the call.
    assert_eq!(client.client_credentials().unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn client_auth_body_sends_the_secret_in_the_form() {
    let emu = emulator();
    let client = new_client(&with(confidential(&emu), json!({"client_auth": "body"})), &Recorder::new());
    login(&client);
    let req = &emu.requests(Endpoint::Token)[0];
    assert!(req.header("authorization").is_none(), "{:?}", req.headers);
    assert_eq!(req.form_value("client_id"), Some(CLIENT_ID));
    assert_eq!(req.form_value("client_secret"), Some(CLIENT_SECRET));
}

#[test]
fn wrong_client_secret_is_invalid_client_and_secret_not_echoed() {
    let emu = emulator();
    let secret = "WRONG-secret-do-not-print-4711";
    let client = new_client(&with(confidential(&emu), json!({"client_secret": secret})), &Recorder::new());
    let location = browser_authorize(&client.initiate_login("").unwrap());
    let (op, _) = client.handle_redirect(&location).unwrap();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_OAUTH");
    assert_eq!(r["error"], "invalid_client");
    assert_eq!(r["http_status"], 401);
    assert!(!r.to_string().contains(secret), "{r}");
    assert!(!format!("{client:?}").contains(secret));
}

#[test]
fn config_errors_name_the_key() {
    let emu = emulator();
    let e = Client::new(&with(confidential(&emu), json!({"clientid": "x"})).to_string(), None).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("clientid"), "{e}");
    let e = Client::new(&with(confidential(&emu), json!({"webex_api_url": "http://example.com/v1"})).to_string(), None)
        .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(!e.message().contains(CLIENT_SECRET) && !format!("{e:?}").contains(CLIENT_SECRET), "{e:?}");
    // A code flow without redirect_uri is refused when it starts.
    let client = new_client(&with(confidential(&emu), json!({"redirect_uri": null})), &Recorder::new());
    assert_eq!(client.initiate_login("").unwrap_err().status(), Status::InvalidArgument);
    // Unknown login options are refused by name.
    let client = new_client(&confidential(&emu), &Recorder::new());
    let e = client.initiate_login(r#"{"emial":"x"}"#).unwrap_err();
    assert!(e.message().contains("emial"), "{e}");
}

#[test]
fn a_code_exchange_that_times_out_is_not_retried() {
    let emu = emulator();
    let client = new_client(&with(confidential(&emu), json!({"timeout_ms": 300, "max_retries": 2})), &Recorder::new());
    let location = browser_authorize(&client.initiate_login("").unwrap());
    emu.set_delay(Endpoint::Token, Duration::from_millis(900));
    let (op, _) = client.handle_redirect(&location).unwrap();
    let r = wait_result(&client, op);
    assert_failed(&r, "WXA_ERR_TIMEOUT");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(emu.requests(Endpoint::Token).len(), 1, "the code may be spent: no retry");
    assert!(token_of(&client).is_none());
}

#[test]
fn self_contained_token_can_be_turned_off() {
    let emu = emulator();
    let client = new_client(&with(confidential(&emu), json!({"self_contained_token": false})), &Recorder::new());
    login(&client);
    assert!(emu.requests(Endpoint::Token)[0].form_value("self_contained_token").is_none());
}

#[test]
fn email_only_state_is_dropped_from_the_clean_url() {
    let emu = emulator();
    let client = new_client(&confidential(&emu), &Recorder::new());
    let url = client.initiate_login(&json!({"email": EMAIL, "prompt": "login"}).to_string()).unwrap();
    assert_eq!(query_param(&url, "prompt").as_deref(), Some("login"));
    let location = browser_authorize(&url);
    let (op, clean) = client.handle_redirect(&location).unwrap();
    // Only csrf_token and emailhash were in state: nothing of the app's remains.
    assert_eq!(clean, REDIRECT_URI);
    let r = wait_result(&client, op);
    assert_ok(&r);
    assert_eq!(r["state"], json!({}), "emailhash is not handed back as app state");
}
