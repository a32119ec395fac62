//! End-to-end flows over real HTTP against an in-process emulator.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use webex_auth_emulator::{Emulator, EmulatorConfig, Endpoint, Scripted, challenge_s256};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1/callback";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// Runs `/v1/authorize` and returns the `Location` it redirected to.
async fn authorize(emu: &Emulator, client_id: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "spark:all spark:kms"),
        ("state", "opaque-state_="),
    ];
    params.extend_from_slice(extra);
    http().get(format!("{}/authorize", emu.api_url())).query(&params).send().await.unwrap()
}

async fn code_for(emu: &Emulator, client_id: &str, with_pkce: bool) -> String {
    let challenge = challenge_s256(VERIFIER);
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let response = authorize(emu, client_id, if with_pkce { &pkce } else { &[] }).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("opaque-state_="));
    query_param(&location, "code").unwrap()
}

async fn post_form(emu: &Emulator, path: &str, auth: Option<&str>, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut request = http().post(format!("{}{path}", emu.base_url())).form(form);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn people_me(emu: &Emulator, token: &str) -> StatusCode {
    http().get(format!("{}/people/me", emu.api_url())).bearer_auth(token).send().await.unwrap().status()
}

#[tokio::test]
async fn code_flow_refresh_and_logout() {
    let emu = Emulator::start(EmulatorConfig::default());
    let code = code_for(&emu, "test-client", true).await;
    assert_eq!(code.split('_').nth(2), Some("emulator-org-0001"));

    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("self_contained_token", "true"),
    ];
    let auth = basic("test-client", "test-secret");
    let (status, tokens) = post_form(&emu, "/v1/access_token", Some(&auth), &exchange).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["refresh_token_expires_in"], 5_184_000);
    assert_eq!(tokens["scope"], "spark:all spark:kms");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert!(emu.is_access_token_valid(&access));
    assert_eq!(people_me(&emu, &access).await, StatusCode::OK);

    // single use
    let (status, again) = post_form(&emu, "/v1/access_token", Some(&auth), &exchange).await;
    assert_eq!((status, again["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // refresh, SDK style: redirect_uri along, same refresh token back
    let (status, refreshed) = post_form(
        &emu,
        "/v1/access_token",
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["refresh_token"], refresh.as_str());
    let access2 = refreshed["access_token"].as_str().unwrap().to_string();
    assert_ne!(access2, access);

    // idbroker logout as the SDK sends it: {"token"} + Bearer; the whole grant goes
    let response = http()
        .post(format!("{}/idb/oauth2/v1/logout", emu.idbroker_url()))
        .bearer_auth(&access2)
        .json(&json!({"token": access2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!emu.is_access_token_valid(&access));
    assert_eq!(people_me(&emu, &access2).await, StatusCode::UNAUTHORIZED);
    let (status, gone) = post_form(
        &emu,
        "/v1/access_token",
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!((status, gone["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    let recorded = emu.requests(Endpoint::Token);
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0].form_value("code_verifier"), Some(VERIFIER));
    assert_eq!(recorded[0].header("Authorization"), Some(auth.as_str()));
    assert_eq!(recorded.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 400, 200, 400]);
}

#[tokio::test]
async fn pkce_and_redirect_checks() {
    let emu = Emulator::start(EmulatorConfig::default());

    // wrong verifier
    let code = code_for(&emu, "public-client", true).await;
    let wrong = "x".repeat(64);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "public-client"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", wrong.as_str()),
    ];
    let (status, body) = post_form(&emu, "/v1/access_token", None, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // public client in both SDK Basic forms and the plain form
    for auth in [Some(basic("public-client", "")), Some(basic("public-client", "undefined")), None] {
        let code = code_for(&emu, "public-client", true).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", "public-client"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let (status, body) = post_form(&emu, "/v1/access_token", auth.as_deref(), &form).await;
        assert_eq!(status, StatusCode::OK, "{auth:?}: {body}");
    }

    // a confidential client may skip PKCE; redirect_uri must still match
    let code = code_for(&emu, "test-client", false).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "test-client"),
        ("client_secret", "test-secret"),
        ("code", code.as_str()),
        ("redirect_uri", "http://localhost/callback"),
    ];
    let (status, body) = post_form(&emu, "/v1/access_token", None, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // public client without a challenge: error redirect
    let response = authorize(&emu, "public-client", &[]).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));

    // forced error redirect keeps the state
    let response = authorize(&emu, "test-client", &[("force_error", "access_denied")]).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("opaque-state_="));

    // unknown redirect / client: 400 JSON, never a redirect
    let response = http()
        .get(format!("{}/authorize", emu.api_url()))
        .query(&[("response_type", "code"), ("client_id", "test-client"), ("redirect_uri", "http://evil/cb")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let response = authorize(&emu, "nobody", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // wrong secret
    let (status, body) = post_form(
        &emu,
        "/v1/access_token",
        Some(&basic("test-client", "nope")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

#[tokio::test]
async fn client_credentials_and_revoke() {
    let emu = Emulator::start(EmulatorConfig::default());
    let auth = basic("test-client", "test-secret");
    let (status, body) =
        post_form(&emu, "/v1/access_token", Some(&auth), &[("grant_type", "client_credentials"), ("scope", "a b")])
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "a b");
    let token = body["access_token"].as_str().unwrap().to_string();

    let (status, body) = post_form(
        &emu,
        "/v1/access_token",
        None,
        &[("grant_type", "client_credentials"), ("client_id", "public-client")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));

    let (status, body) = post_form(&emu, "/v1/access_token", Some(&auth), &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (status, body) = post_form(&emu, "/v1/access_token", Some(&auth), &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    assert!(emu.is_access_token_valid(&token));
    let (status, body) =
        post_form(&emu, "/oauth2/revoke", Some(&auth), &[("token", &token), ("token_type_hint", "access_token")]).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String(String::new())));
    assert!(!emu.is_access_token_valid(&token));
}

#[tokio::test]
async fn device_flow_pending_approve_token() {
    let emu = Emulator::start(EmulatorConfig::default());
    let (status, started) =
        post_form(&emu, "/v1/device/authorize", None, &[("client_id", "public-client"), ("scope", "spark:all")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 300);
    let user_code = started["user_code"].as_str().unwrap().to_string();
    assert_eq!(user_code.replace('-', "").len(), 8);
    let device_code = started["device_code"].as_str().unwrap().to_string();
    let complete = started["verification_uri_complete"].as_str().unwrap().to_string();
    assert_eq!(complete, format!("{}/device/verify?userCode={user_code}", emu.api_url()));

    let poll = [("grant_type", DEVICE_GRANT), ("device_code", device_code.as_str()), ("client_id", "public-client")];
    let (status, pending) = post_form(&emu, "/v1/device/token", None, &poll).await;
    assert_eq!(status.as_u16(), 428);
    assert_eq!(pending["message"], "authorization_pending");
    assert!(pending["trackingId"].as_str().unwrap().starts_with("EMU_"));

    assert_eq!(emu.pending_user_codes(), vec![user_code.clone()]);
    // the QR page approves
    let page = http().get(&complete).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(emu.approve_user_code(&user_code.to_lowercase()), "repeating an approval is fine");
    let (status, tokens) = post_form(&emu, "/v1/access_token", None, &poll).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["refresh_token"].is_string());
    let (status, spent) = post_form(&emu, "/v1/device/token", None, &poll).await;
    assert_eq!((status, spent["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // denied; then expired; interval omitted when configured so
    emu.update_config(|c| c.device_interval_s = None);
    let (_, started) = post_form(&emu, "/v1/device/authorize", Some(&basic("test-client", "test-secret")), &[]).await;
    assert!(started.get("interval").is_none());
    assert!(emu.deny_user_code(started["user_code"].as_str().unwrap()));
    let device_code = started["device_code"].as_str().unwrap();
    let auth = basic("test-client", "test-secret");
    let poll = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", "test-client")];
    let (status, denied) = post_form(&emu, "/v1/device/token", Some(&auth), &poll).await;
    assert_eq!((status, denied["error"].as_str()), (StatusCode::BAD_REQUEST, Some("access_denied")));

    emu.update_config(|c| c.device_expires_in_s = 0);
    let (_, started) = post_form(&emu, "/v1/device/authorize", None, &[("client_id", "public-client")]).await;
    assert!(!emu.approve_user_code(started["user_code"].as_str().unwrap()));
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", started["device_code"].as_str().unwrap()),
        ("client_id", "public-client"),
    ];
    let (status, expired) = post_form(&emu, "/v1/device/token", None, &poll).await;
    assert_eq!((status, expired["error"].as_str()), (StatusCode::BAD_REQUEST, Some("expired_token")));
}

fn guest_jwt(secret: &[u8], issuer: &str, exp_offset: i64) -> String {
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let input = format!(
        "{}.{}",
        enc(json!({"alg": "HS256", "typ": "JWT"})),
        enc(json!({"sub": "guest-7", "name": "Guest Seven", "iss": issuer, "iat": now, "exp": now + exp_offset}))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{sig}")
}

#[tokio::test]
async fn guest_jwt_login() {
    let emu = Emulator::start(EmulatorConfig::default());
    let secret = base64::engine::general_purpose::STANDARD.decode(emu.guest_secret_b64()).unwrap();
    let login = |authorization: String| {
        let url = format!("{}/jwt/login", emu.api_url());
        async move {
            let response = http().post(url).header("authorization", authorization).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = login(guest_jwt(&secret, &emu.guest_issuer(), 60)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expiresIn"], 3600);
    let token = body["token"].as_str().unwrap();
    let me = http().get(format!("{}/people/me", emu.api_url())).bearer_auth(token).send().await.unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["displayName"], "Guest Seven");

    let (status, _) = login(format!("Bearer {}", guest_jwt(&secret, &emu.guest_issuer(), 60))).await;
    assert_eq!(status, StatusCode::OK);
    for bad in [
        guest_jwt(b"wrong-secret", &emu.guest_issuer(), 60),
        guest_jwt(&secret, "other-issuer", 60),
        guest_jwt(&secret, &emu.guest_issuer(), -10),
        "not-a-jwt".to_string(),
    ] {
        let (status, body) = login(bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["message"].is_string() && body["errors"][0]["description"].is_string());
        assert!(body["trackingId"].is_string());
    }
}

#[tokio::test]
async fn scripted_answers_in_order_then_real() {
    let emu = Emulator::start(EmulatorConfig::default());
    emu.script(
        Endpoint::Token,
        vec![
            Scripted::json(503, json!({"message": "busy"})).with_header("Retry-After", "1"),
            Scripted::status(200).with_body("{not json"),
            Scripted::passthrough(),
        ],
    );
    let auth = basic("test-client", "test-secret");
    let form = [("grant_type", "client_credentials")];
    let response = http()
        .post(format!("{}/access_token", emu.api_url()))
        .header("authorization", &auth)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = post_form(&emu, "/v1/access_token", Some(&auth), &form).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("{not json".into())));
    for _ in 0..2 {
        let (status, body) = post_form(&emu, "/v1/access_token", Some(&auth), &form).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["access_token"].is_string());
    }
    let statuses: Vec<u16> = emu.requests(Endpoint::Token).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200, 200, 200]);
    emu.clear_requests();
    assert!(emu.requests(Endpoint::Token).is_empty());

    // delays: scripted and configured
    emu.script(Endpoint::PeopleMe, vec![Scripted::status(204).delayed(300)]);
    let started = Instant::now();
    assert_eq!(people_me(&emu, "x").await, StatusCode::NO_CONTENT);
    assert!(started.elapsed() >= Duration::from_millis(300));
    emu.set_delay(Endpoint::PeopleMe, Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(people_me(&emu, "x").await, StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // a dripped body arrives whole, slowly
    emu.script(Endpoint::PeopleMe, vec![Scripted::json(200, json!({"a": 1})).dripped()]);
    let started = Instant::now();
    let response = http().get(format!("{}/people/me", emu.api_url())).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), r#"{"a":1}"#);
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn expired_refresh_tokens_are_invalid_grant() {
    let emu = Emulator::start(EmulatorConfig::default());
    let code = code_for(&emu, "public-client", true).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "public-client"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (_, tokens) = post_form(&emu, "/v1/access_token", None, &form).await;
    emu.expire_refresh_tokens();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("client_id", "public-client"), ("refresh_token", refresh)];
    let (status, body) = post_form(&emu, "/v1/access_token", None, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn admin_endpoints() {
    let emu = Emulator::start(EmulatorConfig::default());
    let admin = |path: &str| format!("{}/_emulator/{path}", emu.base_url());
    let info: Value = http().get(admin("info")).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["api_url"], emu.api_url());
    assert_eq!(info["guest_secret_b64"], emu.guest_secret_b64());

    let script = json!({"endpoint": "device_token", "responses": [
        {"status": 400, "body": "{\"message\":\"slow_down\"}", "headers": [["Retry-After", "1"]]},
        {"status": 428, "body": {"message": "authorization_pending"}},
        {"passthrough": true}
    ]});
    let response = http().post(admin("script")).json(&script).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bad = http().post(admin("script")).json(&json!({"endpoint": "nope", "responses": []})).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let (_, started) = post_form(&emu, "/v1/device/authorize", None, &[("client_id", "public-client")]).await;
    let device_code = started["device_code"].as_str().unwrap();
    let poll = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", "public-client")];
    let (status, body) = post_form(&emu, "/v1/device/token", None, &poll).await;
    assert_eq!((status.as_u16(), body["message"].as_str()), (400, Some("slow_down")));
    let (status, _) = post_form(&emu, "/v1/device/token", None, &poll).await;
    assert_eq!(status.as_u16(), 428);
    let approved: Value = http()
        .post(admin("device/approve"))
        .json(&json!({"user_code": started["user_code"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approved, json!({"ok": true}));
    let (status, _) = post_form(&emu, "/v1/device/token", None, &poll).await;
    assert_eq!(status, StatusCode::OK);

    let recorded: Value =
        http().get(admin("requests?endpoint=device_token")).send().await.unwrap().json().await.unwrap();
    let statuses: Vec<u64> = recorded.as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [400, 428, 200]);
    assert_eq!(recorded[0]["form"][1], json!(["device_code", device_code]));

    let response = http().post(admin("config")).json(&json!({"access_token_ttl_s": 60})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(emu.config().access_token_ttl_s, 60);
    let response = http().post(admin("config")).json(&json!({"access_token_ttl": 60})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response =
        http().post(admin("delay")).json(&json!({"endpoint": "token", "delay_ms": 10})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn drop_stops_the_server() {
    let emu = Emulator::start(EmulatorConfig::default());
    let addr = emu.local_addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(emu);
    assert!(std::net::TcpStream::connect(addr).is_err());
}
