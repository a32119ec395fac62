//! Issue #14's server side: Service App tokens, guests of a Service App, people/me,
//! refresh tokens on the emulator's clock, OpenID Connect id_tokens with a rotatable
//! JWKS, and the FedRAMP cloud under `/fedramp`. Real HTTP against a running emulator.

use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use webex_auth_emulator::{Emulator, EmulatorConfig, Endpoint, ServiceApp, application_id, challenge_s256};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Code login of `test-client` at `base` (a cloud's base URL) with `scope` and `extra`
/// authorize parameters; the token answer.
async fn login(base: &str, scope: &str, extra: &[(&str, &str)]) -> Value {
    let challenge = challenge_s256(VERIFIER);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "test-client"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let response = http().get(format!("{base}/v1/authorize")).query(&params).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let (status, tokens) = send(
        http()
            .post(format!("{base}/v1/access_token"))
            .header("authorization", basic("test-client", "test-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn hydra(kind: &str, id: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("ciscospark://us/{kind}/{id}"))
}

fn webex_error_shape(body: &Value) {
    assert!(body["message"].is_string(), "{body}");
    assert!(body["errors"][0]["description"].is_string(), "{body}");
    assert!(body["trackingId"].is_string(), "{body}");
}

async fn people_me(url: &str, token: &str) -> (StatusCode, Value) {
    send(http().get(url).bearer_auth(token)).await
}

async fn app_token(emu: &Emulator, app_id: &str, bearer: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = http().post(format!("{}/applications/{app_id}/token", emu.api_url())).json(&body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    send(request).await
}

fn sa_body(org: &str) -> Value {
    json!({"clientId": "service-app", "clientSecret": "service-app-secret", "targetOrgId": org})
}

#[tokio::test]
async fn service_app_tokens_need_the_scope_and_an_admin() {
    let emu = Emulator::start(EmulatorConfig::default());
    let org = hydra("ORGANIZATION", "emulator-org-0001");
    let app = application_id("service-app");
    let authorizing = login(&emu.base_url(), "spark:all spark:applications_token", &[]).await;
    let bearer = authorizing["access_token"].as_str().unwrap();

    let (status, tokens) = app_token(&emu, &app, Some(bearer), sa_body(&org)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    for key in ["access_token", "refresh_token"] {
        assert!(tokens[key].is_string(), "{key}: {tokens}");
    }
    assert_eq!((tokens["token_type"].as_str(), tokens["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
    assert_eq!(tokens["refresh_token_expires_in"], 5_184_000);
    let sa_access = tokens["access_token"].as_str().unwrap().to_string();
    let (_, me) = people_me(&format!("{}/people/me", emu.api_url()), &sa_access).await;
    assert_eq!(me["type"], "bot");

    // The id padded too (BYODS pads), the org as a bare id.
    emu.update_config(|c| c.register_service_app(ServiceApp::new("sa-1", "sa-1-secret")));
    let padded = base64::engine::general_purpose::STANDARD.encode("ciscospark://us/APPLICATION/sa-1");
    assert!(padded.ends_with('='));
    let body = json!({"clientId": "sa-1", "clientSecret": "sa-1-secret", "targetOrgId": "emulator-org-0001"});
    let (status, _) = app_token(&emu, &padded, Some(bearer), body).await;
    assert_eq!(status, StatusCode::OK);

    // Its refresh token refreshes at the token endpoint with the Service App's credentials.
    let (status, refreshed) = send(
        http()
            .post(emu.url(Endpoint::Token))
            .header("authorization", basic("service-app", "service-app-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_ne!(refreshed["access_token"], tokens["access_token"]);

    // Refusals, each in Webex's shape.
    let user_only = login(&emu.base_url(), "spark:all", &[]).await;
    let cases = [
        (app_token(&emu, &app, Some(user_only["access_token"].as_str().unwrap()), sa_body(&org)).await, 403),
        (app_token(&emu, &app, None, sa_body(&org)).await, 401),
        (app_token(&emu, &app, Some("nope"), sa_body(&org)).await, 401),
        (app_token(&emu, &application_id("no-such-app"), Some(bearer), sa_body(&org)).await, 404),
        (
            app_token(
                &emu,
                &app,
                Some(bearer),
                json!({"clientId": "service-app", "clientSecret": "wrong", "targetOrgId": org}),
            )
            .await,
            401,
        ),
        (app_token(&emu, &app, Some(bearer), json!({"clientId": "service-app", "targetOrgId": org})).await, 400),
        (app_token(&emu, &app, Some(bearer), sa_body(&hydra("ORGANIZATION", "another-org"))).await, 403),
    ];
    for (i, ((status, body), expected)) in cases.into_iter().enumerate() {
        assert_eq!(status.as_u16(), expected, "case {i}: {body}");
        webex_error_shape(&body);
    }

    // The Control Hub switch, from Rust and from the admin API.
    assert!(emu.set_service_app_authorized("service-app", false));
    let (status, body) = app_token(&emu, &app, Some(bearer), sa_body(&org)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("not authorized by a Full Admin"), "{body}");
    let (status, flipped) = send(
        http()
            .post(format!("{}/_emulator/service_apps/authorize", emu.base_url()))
            .json(&json!({"client_id": "service-app", "authorized": true})),
    )
    .await;
    assert_eq!((status, flipped), (StatusCode::OK, json!({"ok": true})));
    let (status, _) = app_token(&emu, &app, Some(bearer), sa_body(&org)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!emu.set_service_app_authorized("nobody", true));
    assert_eq!(emu.requests(Endpoint::ApplicationToken).len(), 11);
}

async fn create_guest(emu: &Emulator, base: &str, bearer: &str, body: Value) -> (StatusCode, Value) {
    let _ = emu;
    send(http().post(format!("{base}/v1/guests/token")).bearer_auth(bearer).json(&body)).await
}

#[tokio::test]
async fn service_apps_create_guests() {
    let emu = Emulator::start(EmulatorConfig::default());
    let base = emu.base_url();
    let authorizing = login(&base, "spark:applications_token", &[]).await;
    let (_, sa) = app_token(
        &emu,
        &application_id("service-app"),
        authorizing["access_token"].as_str(),
        sa_body("emulator-org-0001"),
    )
    .await;
    let sa_token = sa["access_token"].as_str().unwrap();

    let (status, guest) = create_guest(&emu, &base, sa_token, json!({"subject": "ext-42", "displayName": "Ada"})).await;
    assert_eq!(status, StatusCode::OK, "{guest}");
    assert_eq!((guest["subject"].as_str(), guest["displayName"].as_str()), (Some("ext-42"), Some("Ada")));
    assert_eq!(guest["expiresIn"], 3600);
    assert!(guest["email"].as_str().unwrap().ends_with("@appid.ciscospark.com"));
    let first_token = guest["accessToken"].as_str().unwrap().to_string();
    let (status, me) = people_me(&format!("{base}/v1/people/me"), &first_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((me["type"].as_str(), me["displayName"].as_str()), (Some("appuser"), Some("Ada")));
    assert_eq!(me["id"], guest["id"]);

    // Same subject: the same guest, renamed, one more token; the first still works.
    let (_, again) = create_guest(&emu, &base, sa_token, json!({"subject": "ext-42", "displayName": "Ada L."})).await;
    assert_eq!(again["id"], guest["id"]);
    assert_ne!(again["accessToken"], guest["accessToken"]);
    let (status, me) = people_me(&format!("{base}/v1/people/me"), &first_token).await;
    assert_eq!((status, me["displayName"].as_str()), (StatusCode::OK, Some("Ada L.")));
    let (_, other) = create_guest(&emu, &base, sa_token, json!({"subject": "ext-43", "displayName": "Bob"})).await;
    assert_ne!(other["id"], guest["id"]);

    let (status, body) = create_guest(&emu, &base, sa_token, json!({"subject": "ext-44"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    webex_error_shape(&body);
    // A user's token, even one with the scope, is not a Service App's.
    let user = login(&base, "spark:all guest-issuer:write", &[]).await;
    let (status, body) =
        create_guest(&emu, &base, user["access_token"].as_str().unwrap(), json!({"subject": "s", "displayName": "d"}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    webex_error_shape(&body);
    // FedRAMP has no guests.
    let (status, body) =
        create_guest(&emu, &emu.fedramp_idbroker_url(), sa_token, json!({"subject": "s", "displayName": "d"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("FedRAMP"));
}

async fn refresh(emu: &Emulator, refresh_token: &str) -> (StatusCode, Value) {
    send(
        http()
            .post(emu.url(Endpoint::Token))
            .header("authorization", basic("test-client", "test-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]),
    )
    .await
}

#[tokio::test]
async fn refresh_tokens_live_on_the_clock_and_are_renewed_by_use() {
    let emu = Emulator::start(EmulatorConfig::default());
    let tokens = login(&emu.base_url(), "spark:all", &[]).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let day = 24 * 3600;

    emu.advance_clock(Duration::from_secs(59 * day));
    assert!(!emu.is_access_token_valid(tokens["access_token"].as_str().unwrap()));
    let (status, body) = refresh(&emu, refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refresh_token"], refresh_token);
    assert_eq!(body["refresh_token_expires_in"], 60 * day, "a refresh renews the refresh token's life");
    // 59 more days: past the first life, inside the renewed one.
    emu.advance_clock(Duration::from_secs(59 * day));
    let (status, _) = refresh(&emu, refresh_token).await;
    assert_eq!(status, StatusCode::OK);
    emu.advance_clock(Duration::from_secs(60 * day + 1));
    let (status, body) = refresh(&emu, refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(body["error_description"], "The refresh token provided is expired, revoked, malformed, or invalid.");
}

async fn jwks(emu: &Emulator, path: &str) -> (JwkSet, String) {
    let response = http().get(format!("{}{path}", emu.base_url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers()["cache-control"].to_str().unwrap().to_string();
    (response.json().await.unwrap(), cache)
}

fn verify(id_token: &str, keys: &JwkSet, audience: &str) -> Result<Value, String> {
    let kid = jsonwebtoken::decode_header(id_token).map_err(|e| e.to_string())?.kid.ok_or("no kid")?;
    let jwk = keys.find(&kid).ok_or(format!("kid {kid} not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
}

#[tokio::test]
async fn id_tokens_verify_against_a_rotating_jwks() {
    let emu = Emulator::start(EmulatorConfig::default());
    let base = emu.base_url();
    let tokens = login(&base, "openid email profile spark:all", &[("nonce", "n-123")]).await;
    let id_token = tokens["id_token"].as_str().expect("an id_token for openid");
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::RS256, Some("emulator-key-1")));

    let (keys, cache) = jwks(&emu, "/v1/verification").await;
    assert_eq!(cache, "public, max-age=300");
    let claims = verify(id_token, &keys, "test-client").unwrap();
    assert_eq!(claims["iss"], format!("{base}/idb"));
    assert_eq!(claims["iss"], emu.oidc_issuer());
    assert_eq!(claims["nonce"], "n-123");
    assert_eq!(claims["sub"], "emulated-user-0001");
    assert_eq!(
        (claims["email"].as_str(), claims["name"].as_str()),
        (Some("emulated.user@example.com"), Some("Emulated User"))
    );
    assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
    let (same, _) = jwks(&emu, "/idb/oauth2/v2/keys/verificationjwk").await;
    assert_eq!(same.keys.len(), 1);

    // Rotation keeping the old key: both published, new tokens carry the new kid.
    assert_eq!(emu.rotate_signing_key(true), "emulator-key-2");
    let newer = login(&base, "openid", &[]).await["id_token"].as_str().unwrap().to_string();
    assert_eq!(jsonwebtoken::decode_header(&newer).unwrap().kid.as_deref(), Some("emulator-key-2"));
    assert!(verify(&newer, &keys, "test-client").unwrap_err().contains("not in the JWKS"), "the old JWKS lacks it");
    let (keys, _) = jwks(&emu, "/v1/verification").await;
    assert!(verify(&newer, &keys, "test-client").unwrap()["nonce"].is_null(), "no nonce asked, none given");
    assert!(verify(id_token, &keys, "test-client").is_ok());
    // Rotation dropping the old key, through the admin API.
    let (status, rotated) =
        send(http().post(format!("{base}/_emulator/jwks/rotate")).json(&json!({"keep_old": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rotated["kids"], json!(["emulator-key-3"]));
    let (keys, _) = jwks(&emu, "/v1/verification").await;
    assert!(verify(id_token, &keys, "test-client").is_err());
    assert_eq!(emu.signing_kids(), ["emulator-key-3"]);
    assert_eq!(emu.requests(Endpoint::Jwks).len(), 4, "every JWKS fetch is recorded");

    // No openid, no id_token.
    assert!(login(&base, "spark:all", &[]).await.get("id_token").is_none());

    // Knobs for the engine's negative tests: the issuer, and claims laid over.
    let response = http()
        .post(format!("{base}/_emulator/config"))
        .json(&json!({"oidc_issuer": "https://idbroker-b-us.webex.com/idb", "id_token_claims": {"aud": "someone-else", "nonce": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let odd = login(&base, "openid", &[("nonce", "n-9")]).await["id_token"].as_str().unwrap().to_string();
    assert!(verify(&odd, &keys, "test-client").unwrap_err().contains("InvalidAudience"));
    let claims = verify(&odd, &keys, "someone-else").unwrap();
    assert_eq!(claims["iss"], "https://idbroker-b-us.webex.com/idb");
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn userinfo_and_discovery() {
    let emu = Emulator::start(EmulatorConfig::default());
    let base = emu.base_url();
    let with_openid = login(&base, "openid spark:all", &[]).await;
    let (status, info) = people_me(&format!("{base}/v1/userinfo"), with_openid["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["email_verified"], "true", "a string in userinfo, as Webex sends it");
    assert_eq!(info["sub"], "emulated-user-0001");
    let without = login(&base, "spark:all", &[]).await;
    let (status, _) = people_me(&format!("{base}/v1/userinfo"), without["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for path in ["/v1/.well-known/openid-configuration", "/idb/.well-known/openid-configuration"] {
        let (status, doc) = send(http().get(format!("{base}{path}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["issuer"], format!("{base}/idb"));
        assert_eq!(doc["jwks_uri"], emu.jwks_url());
        assert_eq!(doc["token_endpoint"], format!("{base}/v1/access_token"));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    }
}

#[tokio::test]
async fn fedramp_answers_under_its_prefix() {
    let emu = Emulator::start(EmulatorConfig::default());
    let fed = emu.fedramp_idbroker_url();
    assert_eq!(emu.fedramp_api_url(), format!("{fed}/v1"));
    let tokens = login(&fed, "openid spark:all", &[("nonce", "f")]).await;
    let (status, me) =
        people_me(&format!("{}/people/me", emu.fedramp_api_url()), tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let id =
        String::from_utf8(base64::engine::general_purpose::STANDARD_NO_PAD.decode(me["id"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(id, "ciscospark://urn:TEAM:us-gov-west-1_a1/PEOPLE/emulated-user-0001");
    let (keys, _) = jwks(&emu, "/fedramp/v1/verification").await;
    let claims = verify(tokens["id_token"].as_str().unwrap(), &keys, "test-client").unwrap();
    assert_eq!(claims["iss"], format!("{fed}/idb"));

    // Device logins started there verify there.
    let (status, started) = send(
        http().post(format!("{}/device/authorize", emu.fedramp_api_url())).form(&[("client_id", "public-client")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(started["verification_uri"], format!("{fed}/v1/device/verify"));
    let page = http().get(started["verification_uri_complete"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the FedRAMP verification link approves");
    assert!(emu.pending_user_codes().is_empty());

    // Guest issuer JWT login is not there.
    let (status, body) =
        send(http().post(format!("{}/jwt/login", emu.fedramp_api_url())).header("authorization", "x.y.z")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("FedRAMP"));

    // Its catalog lists its own services.
    let (status, catalog) =
        send(http().get(format!("{fed}/u2c/api/v1/limited/catalog")).query(&[("mode", "DEFAULT_BY_PROXIMITY")])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(catalog["serviceLinks"]["hydra"], format!("{fed}/v1/"));
    assert_eq!(catalog["serviceLinks"]["idbroker"], format!("{fed}/"));
    // Same endpoint names as the commercial cloud; the path tells them apart.
    assert!(emu.requests(Endpoint::Token).iter().all(|r| r.path == "/fedramp/v1/access_token"));
}
