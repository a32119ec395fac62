//! The paths the Webex JS SDK uses (identity broker, oauth-helper, U2C catalog, guest
//! JWT tokens), the pages a person sees, the clock, and the command line: real HTTP
//! against a running emulator.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webex_auth_emulator::{Consent, Emulator, EmulatorConfig, Endpoint, Scripted, challenge_s256};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1/callback";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What a browser sends when it navigates.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post_form(url: &str, auth: Option<&str>, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut request = http().post(url).form(form);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    send(request).await
}

fn authorize_params<'a>(client_id: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "spark:all spark:kms"),
        ("state", "st"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn identity_broker_paths_share_the_endpoint_names() {
    let emu = Emulator::start(EmulatorConfig::default());
    let base = emu.base_url();
    let challenge = challenge_s256(VERIFIER);
    let response = http()
        .get(format!("{base}/idb/oauth2/v1/authorize"))
        .query(&authorize_params("public-client", &challenge))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let code = query_param(&location(&response), "code").unwrap();

    let (status, tokens) = post_form(
        &format!("{base}/idb/oauth2/v1/access_token"),
        Some(&basic("public-client", "")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("self_contained_token", "true"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_string();

    // The SDK's downscope: a narrower token of the same grant, no client secret.
    let (status, reduced) = post_form(
        &format!("{base}/idb/oauth2/v1/access_token"),
        None,
        &[
            ("grant_type", "urn:cisco:oauth:grant-type:scope-reduction"),
            ("token", &access),
            ("scope", "spark:all"),
            ("client_id", "public-client"),
            ("self_contained_token", "true"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reduced}");
    assert_eq!(reduced["scope"], "spark:all");
    let narrow = reduced["access_token"].as_str().unwrap().to_string();
    assert!(emu.is_access_token_valid(&narrow) && narrow != access);
    let (status, wider) = post_form(
        &format!("{base}/idb/oauth2/v1/access_token"),
        None,
        &[
            ("grant_type", "urn:cisco:oauth:grant-type:scope-reduction"),
            ("token", &access),
            ("scope", "spark:all spark-admin:people_read"),
            ("client_id", "public-client"),
        ],
    )
    .await;
    assert_eq!((status, wider["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));

    // The identity broker's revoke takes the token's whole grant, the reduced one too.
    let code_client = ("test-client", "test-secret");
    let (status, cc) = post_form(
        &format!("{base}/idb/oauth2/v1/access_token"),
        Some(&basic(code_client.0, code_client.1)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cc_token = cc["access_token"].as_str().unwrap();
    let (status, _) = post_form(
        &format!("{base}/idb/oauth2/v1/revoke"),
        Some(&basic(code_client.0, code_client.1)),
        &[("token", cc_token), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!emu.is_access_token_valid(cc_token));

    let authorize = emu.requests(Endpoint::Authorize);
    assert_eq!(authorize.len(), 1);
    assert_eq!(authorize[0].path, "/idb/oauth2/v1/authorize");
    let token_paths: Vec<String> = emu.requests(Endpoint::Token).into_iter().map(|r| r.path).collect();
    assert_eq!(token_paths, vec!["/idb/oauth2/v1/access_token"; 4]);
    assert_eq!(emu.requests(Endpoint::Revoke)[0].path, "/idb/oauth2/v1/revoke");
    assert_eq!(
        emu.urls(Endpoint::Token),
        [
            format!("{base}/v1/access_token"),
            format!("{base}/idb/oauth2/v1/access_token"),
            format!("{base}/fedramp/v1/access_token"),
            format!("{base}/fedramp/idb/oauth2/v1/access_token"),
        ]
    );
}

async fn catalog(emu: &Emulator, kind: &str, query: &[(&str, &str)], auth: Option<&str>) -> (StatusCode, Value) {
    let mut request = http().get(format!("{}/{kind}", emu.u2c_url())).query(query);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    send(request).await
}

async fn guest_token(emu: &Emulator) -> String {
    let secret = base64::engine::general_purpose::STANDARD.decode(emu.guest_secret_b64()).unwrap();
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let input = format!(
        "{}.{}",
        enc(json!({"alg": "HS256", "typ": "JWT"})),
        enc(json!({"sub": "guest-1", "name": "Guest One", "iss": emu.guest_issuer(), "exp": now + 600}))
    );
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
    mac.update(input.as_bytes());
    let jwt =
        format!("{input}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    let (status, body) = send(http().post(format!("{}/jwt/login", emu.api_url())).header("authorization", jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn u2c_catalog_in_the_sdk_hostmap_shape() {
    let emu = Emulator::start(EmulatorConfig::default());
    let base = emu.base_url();
    for selector in [("mode", "DEFAULT_BY_PROXIMITY"), ("emailhash", "ab12"), ("orgId", "emulator-org-0001")] {
        let (status, body) = catalog(&emu, "limited/catalog", &[selector, ("format", "hostmap")], None).await;
        assert_eq!(status, StatusCode::OK, "{selector:?}: {body}");
        assert_eq!(body["format"], "hostmap");
        let links = &body["serviceLinks"];
        assert_eq!(links["hydra"], format!("{base}/v1/"));
        assert_eq!(links["idbroker"], format!("{base}/"));
        assert_eq!(links["identity"], format!("{base}/"));
        assert!(links["oauth-helper"].as_str().unwrap().starts_with(&base));
        // Keyed by the bare host: the SDK's host:port lookups miss and keep the port.
        let hosts = body["hostCatalog"].as_object().unwrap();
        assert_eq!(hosts.keys().collect::<Vec<_>>(), ["127.0.0.1"]);
        for entry in hosts["127.0.0.1"].as_array().unwrap() {
            assert_eq!(entry["id"].as_str().unwrap().split(':').count(), 4, "the SDK reads the 4th ':' part");
        }
    }
    let (status, body) = catalog(&emu, "limited/catalog", &[("format", "hostmap")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["trackingId"].is_string());

    // The post-auth catalog wants a token, a guest token from jwt/login included.
    let (status, _) = catalog(&emu, "catalog", &[("format", "hostmap")], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = catalog(&emu, "catalog", &[("format", "hostmap")], Some("Bearer nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let guest = guest_token(&emu).await;
    let (status, body) = catalog(&emu, "catalog", &[("format", "hostmap")], Some(&format!("Bearer {guest}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["serviceLinks"]["hydra"], format!("{base}/v1/"));

    // The sign-in catalog: a client token and an email hash.
    let (_, cc) = post_form(
        &emu.url(Endpoint::Token),
        Some(&basic("test-client", "test-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let client_token = format!("Bearer {}", cc["access_token"].as_str().unwrap());
    let (status, _) =
        catalog(&emu, "signin/catalog", &[("emailhash", "ab12"), ("format", "hostmap")], Some(&client_token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = catalog(&emu, "signin/catalog", &[("format", "hostmap")], Some(&client_token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let recorded: Vec<String> = emu.requests(Endpoint::Catalog).into_iter().map(|r| r.path).collect();
    assert_eq!(recorded.len(), 9);
    assert!(recorded.iter().all(|p| p.starts_with("/u2c/api/v1/")));

    // The oauth-helper base from the catalog leads to the device endpoints.
    let (_, body) = catalog(&emu, "limited/catalog", &[("mode", "DEFAULT_BY_PROXIMITY")], None).await;
    let helper = body["serviceLinks"]["oauth-helper"].as_str().unwrap().to_string();
    let (status, started) = post_form(
        &format!("{helper}/actions/device/authorize"),
        Some(&basic("public-client", "")),
        &[("client_id", "public-client"), ("scope", "spark:all")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["verification_uri"], emu.verification_url());
}

#[tokio::test]
async fn guest_tokens_are_jwts_the_sdk_can_read() {
    let emu = Emulator::start(EmulatorConfig::default());
    let token = guest_token(&emu).await;
    assert_eq!(token.split('.').count(), 3);
    let claims = jwt_claims(&token);
    assert_eq!(claims["user_type"], "guest");
    assert_eq!(claims["realm"], "emulator-org-0001");
    assert_eq!(claims["sub"], "guest-1");
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
    // Two logins never share a token.
    assert_ne!(guest_token(&emu).await, token);
    let me = http().get(format!("{}/people/me", emu.api_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["displayName"], "Guest One");
}

#[tokio::test]
async fn oauth_helper_polls_follow_device_token_scripts() {
    let emu = Emulator::start(EmulatorConfig::default());
    let helper = format!("{}/helperservice/v1/actions/device", emu.base_url());
    let auth = basic("test-client", "test-secret");
    let (_, started) = post_form(&format!("{helper}/authorize"), Some(&auth), &[("client_id", "test-client")]).await;
    let device_code = started["device_code"].as_str().unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(started["verification_uri_complete"], format!("{}?userCode={user_code}", emu.verification_url()));
    emu.script(Endpoint::DeviceToken, vec![Scripted::json(400, json!({"message": "slow_down"}))]);
    let poll = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", "test-client")];
    let (status, body) = post_form(&format!("{helper}/token"), Some(&auth), &poll).await;
    assert_eq!((status.as_u16(), body["message"].as_str()), (400, Some("slow_down")));
    let (status, _) = post_form(&format!("{helper}/token"), Some(&auth), &poll).await;
    assert_eq!(status.as_u16(), 428);
    assert!(emu.approve_user_code(user_code));
    let (status, tokens) = post_form(&format!("{helper}/token"), Some(&auth), &poll).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let recorded = emu.requests(Endpoint::DeviceToken);
    assert_eq!(recorded.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 428, 200]);
    assert!(recorded.iter().all(|r| r.path == "/helperservice/v1/actions/device/token"));
    assert_eq!(emu.requests(Endpoint::DeviceAuthorize)[0].path, "/helperservice/v1/actions/device/authorize");
}

/// The hidden `consent` id of a consent page.
fn consent_id(html: &str) -> String {
    let at = html.find("name=\"consent\" value=\"").expect("consent field") + "name=\"consent\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn browsers_get_a_consent_page_api_clients_a_redirect() {
    let emu = Emulator::start(EmulatorConfig::default());
    let challenge = challenge_s256(VERIFIER);
    let url = format!("{}/authorize", emu.api_url());
    let params = authorize_params("public-client", &challenge);

    let page = http().get(&url).query(&params).header("accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\" action=\"/v1/authorize\">"), "{html}");
    assert!(html.contains("<code>public-client</code>") && html.contains("<code>spark:kms</code>"));
    assert!(!html.contains("<script"), "no scripts on the pages");
    let consent = consent_id(&html);
    assert!(emu.requests(Endpoint::Authorize).len() == 1);

    // Allow: a code for the redirect, with the state.
    let allow = http().post(&url).form(&[("consent", consent.as_str()), ("decision", "allow")]).send().await.unwrap();
    assert_eq!(allow.status(), StatusCode::FOUND);
    let target = location(&allow);
    assert!(target.starts_with(REDIRECT));
    assert_eq!(query_param(&target, "state").as_deref(), Some("st"));
    let code = query_param(&target, "code").unwrap();
    let (status, _) = post_form(
        &emu.url(Endpoint::Token),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "public-client"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A consent is answered once.
    let again = http().post(&url).form(&[("consent", consent.as_str()), ("decision", "allow")]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // Deny: access_denied through the redirect.
    let html =
        http().get(&url).query(&params).header("accept", BROWSER_ACCEPT).send().await.unwrap().text().await.unwrap();
    let deny =
        http().post(&url).form(&[("consent", consent_id(&html).as_str()), ("decision", "deny")]).send().await.unwrap();
    let target = location(&deny);
    assert_eq!(query_param(&target, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&target, "state").as_deref(), Some("st"));

    // Checks come before the page: an unregistered redirect is refused, never shown.
    let bad = http()
        .get(&url)
        .query(&[("response_type", "code"), ("client_id", "test-client"), ("redirect_uri", "http://evil/cb")])
        .header("accept", BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Consent::Auto never asks; Consent::Page always does.
    emu.update_config(|c| c.consent = Consent::Auto);
    let auto = http().get(&url).query(&params).header("accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(auto.status(), StatusCode::FOUND);
    emu.update_config(|c| c.consent = Consent::Page);
    let always = http().get(&url).query(&params).send().await.unwrap();
    assert_eq!(always.status(), StatusCode::OK);
    assert!(always.text().await.unwrap().contains("name=\"consent\""));
}

#[tokio::test]
async fn the_verification_page_takes_a_typed_code() {
    let emu = Emulator::start(EmulatorConfig::default());
    let start = || async {
        let (_, started) =
            post_form(&emu.url(Endpoint::DeviceAuthorize), None, &[("client_id", "public-client")]).await;
        started
    };
    let verify = emu.verification_url();

    // A browser following the QR link sees the code filled in; nothing is decided yet.
    let started = start().await;
    let user_code = started["user_code"].as_str().unwrap().to_string();
    let page = http()
        .get(started["verification_uri_complete"].as_str().unwrap())
        .header("accept", BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{user_code}\"")), "{html}");
    assert_eq!(emu.pending_user_codes(), vec![user_code.clone()]);

    // Typed in lower case without the dash, approved.
    let typed = user_code.replace('-', "").to_lowercase();
    let approved =
        http().post(&verify).form(&[("user_code", typed.as_str()), ("decision", "approve")]).send().await.unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    assert!(approved.text().await.unwrap().contains("Device signed in"));
    assert!(emu.pending_user_codes().is_empty());
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", started["device_code"].as_str().unwrap()),
        ("client_id", "public-client"),
    ];
    let (status, _) = post_form(&emu.url(Endpoint::DeviceToken), None, &poll).await;
    assert_eq!(status, StatusCode::OK);

    // Denied from the form.
    let started = start().await;
    let denied = http()
        .post(&verify)
        .form(&[("user_code", started["user_code"].as_str().unwrap()), ("decision", "deny")])
        .send()
        .await
        .unwrap();
    assert!(denied.text().await.unwrap().contains("Request denied"));
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", started["device_code"].as_str().unwrap()),
        ("client_id", "public-client"),
    ];
    let (status, body) = post_form(&emu.url(Endpoint::DeviceToken), None, &poll).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("access_denied")));

    // A wrong code shows the form again with the reason.
    let wrong = http().post(&verify).form(&[("user_code", "BBBB-BBBB"), ("decision", "approve")]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert!(wrong.text().await.unwrap().contains("role=\"alert\""));
    // No code at all: an empty form to type into.
    let empty = http().get(&verify).header("accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    assert!(empty.text().await.unwrap().contains("name=\"user_code\""));
}

#[tokio::test]
async fn the_clock_expires_tokens_codes_and_device_logins() {
    let emu = Emulator::start(EmulatorConfig::default());
    let auth = basic("test-client", "test-secret");
    let (_, cc) = post_form(&emu.url(Endpoint::Token), Some(&auth), &[("grant_type", "client_credentials")]).await;
    let token = cc["access_token"].as_str().unwrap().to_string();
    let (_, started) = post_form(&emu.url(Endpoint::DeviceAuthorize), None, &[("client_id", "public-client")]).await;
    assert!(emu.is_access_token_valid(&token));

    emu.advance_clock(Duration::from_secs(3599));
    assert!(emu.is_access_token_valid(&token));
    let response = http()
        .post(format!("{}/_emulator/clock/advance", emu.base_url()))
        .json(&json!({"seconds": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!emu.is_access_token_valid(&token));
    let me = http().get(format!("{}/people/me", emu.api_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", started["device_code"].as_str().unwrap()),
        ("client_id", "public-client"),
    ];
    let (status, body) = post_form(&emu.url(Endpoint::DeviceToken), None, &poll).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("expired_token")));
}

#[tokio::test]
async fn admin_config_checks_and_sdk_config() {
    let emu = Emulator::start(EmulatorConfig::default());
    let admin = |path: &str| format!("{}/_emulator/{path}", emu.base_url());
    for bad in
        [json!({"org_id": "has_underscore"}), json!({"guest_secret_b64": "c2hvcnQ="}), json!({"consent": "maybe"})]
    {
        let response = http().post(admin("config")).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let response = http().post(admin("config")).json(&json!({"consent": "page"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(emu.config().consent, Consent::Page);

    let (status, config) = send(http().get(admin("sdk-config?client_id=public-client"))).await;
    assert_eq!(status, StatusCode::OK);
    let base = emu.base_url();
    assert_eq!(
        config,
        json!({
            "credentials": {
                "client_id": "public-client",
                "scope": "spark:all",
                "redirect_uri": REDIRECT,
                "idbroker": {"url": base},
                "identity": {"url": base},
            },
            "services": {"discovery": {"hydra": format!("{base}/v1"), "u2c": format!("{base}/u2c/api/v1")}},
        })
    );
    assert_eq!(emu.sdk_config(Some("public-client")), Some(config));
    assert_eq!(emu.sdk_config(None).unwrap()["credentials"]["client_secret"], "test-secret");
    let (status, _) = send(http().get(admin("sdk-config?client_id=nobody"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The binary, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn command_line_clients_guest_issuer_and_sdk_snippet() {
    let secret = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_webex-auth-emulator"))
            .args([
                "--port",
                "0",
                "--client",
                "my-app:my-secret:http://127.0.0.1:5000/cb?x=1",
                "--client",
                "my-spa::http://localhost:3000/",
                "--guest-issuer",
                &format!("my-issuer:{secret}"),
                "--service-app",
                "my-sa:sa-secret",
                "--print-sdk-config",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("listening ").unwrap().to_string();
    let snippet: Vec<String> =
        lines.by_ref().take_while(|l| l.as_ref().is_ok_and(|l| l != "});")).map(Result::unwrap).collect();
    let snippet = snippet.join("\n");
    assert!(snippet.contains("const webex = new Webex({"), "{snippet}");
    assert!(snippet.contains("\"client_id\": \"my-app\"") && snippet.contains("\"client_secret\": \"my-secret\""));
    assert!(snippet.contains(&format!("\"u2c\": \"{base}/u2c/api/v1\"")));
    assert!(snippet.contains(&format!("issuer 'my-issuer', secretId '{secret}'")));

    let info: Value = http().get(format!("{base}/_emulator/info")).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["guest_issuer"], "my-issuer");
    let apps: Vec<&str> =
        info["service_apps"].as_array().unwrap().iter().map(|a| a["client_id"].as_str().unwrap()).collect();
    assert_eq!(apps, ["service-app", "my-sa"]);
    let clients = info["clients"].as_array().unwrap();
    let spa = clients.iter().find(|c| c["client_id"] == "my-spa").unwrap();
    assert!(spa["client_secret"].is_null());
    let app = clients.iter().find(|c| c["client_id"] == "my-app").unwrap();
    assert_eq!(app["redirect_uris"], json!(["http://127.0.0.1:5000/cb?x=1"]));
    // The registered redirect (with its own colons and query) works.
    let response = http()
        .get(format!("{base}/v1/authorize"))
        .query(&[("response_type", "code"), ("client_id", "my-app"), ("redirect_uri", "http://127.0.0.1:5000/cb?x=1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with("http://127.0.0.1:5000/cb?x=1&code="));

    // A short guest secret is refused before anything listens.
    let short = base64::engine::general_purpose::STANDARD.encode([9u8; 16]);
    let output = Command::new(env!("CARGO_BIN_EXE_webex-auth-emulator"))
        .args(["--guest-issuer", &format!("i:{short}")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("16 bytes"));
}
