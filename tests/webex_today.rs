//! Issue #14 against the emulator: Service App tokens, guests through a Service App,
//! whoami, Login with Webex (OIDC id_token checks), refresh-token keep-alive and
//! `unauthorized` reasons, and the FedRAMP environment.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use webex_auth::Status;

const SERVICE_APP: &str = "service-app";
const SERVICE_APP_SECRET: &str = "service-app-secret";

/// An integration's token with `spark:applications_token`: it authorizes Service Apps.
fn authorizing_token(emu: &Emulator) -> String {
    let client = new_client_no_sink(&with(confidential(emu), json!({"scope": "spark:all spark:applications_token"})));
    login(&client)["access_token"].as_str().unwrap().to_string()
}

fn service_app(emu: &Emulator, rec: &Recorder) -> Client {
    new_client(
        &with(
            confidential(emu),
            json!({"client_id": SERVICE_APP, "client_secret": SERVICE_APP_SECRET, "redirect_uri": null}),
        ),
        rec,
    )
}

fn org(emu: &Emulator) -> String {
    emu.config().org_id
}

#[test]
fn a_service_app_gets_a_token_for_an_authorized_org_and_refreshes_it() {
    let emu = emulator();
    let authorizing = authorizing_token(&emu);
    let rec = Recorder::new();
    let app = service_app(&emu, &rec);
    let opts = json!({"target_org_id": org(&emu), "authorizing_token": authorizing}).to_string();
    let r = wait_result(&app, app.service_app_token(Some(&opts)).unwrap());
    assert_ok(&r);
    assert!(r["refresh_token"].is_string() && r["expires_in"].as_i64().unwrap() > 0, "{r}");
    let req = &emu.requests(Endpoint::ApplicationToken)[0];
    assert_eq!(req.header("authorization").unwrap(), format!("Bearer {authorizing}"));
    assert!(req.path.ends_with(&format!("/applications/{}/token", webex_auth_emulator::application_id(SERVICE_APP))));
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body, json!({"clientId": SERVICE_APP, "clientSecret": SERVICE_APP_SECRET, "targetOrgId": org(&emu)}));
    rec.wait_for_op("token:refresh", 1, LONG);
    // The Service App's token refreshes like any other, with its own id and secret.
    emu.clear_requests();
    let refreshed = wait_result(&app, app.refresh().unwrap());
    assert_ok(&refreshed);
    assert_ne!(refreshed["access_token"], r["access_token"]);
    let who = wait_result(&app, app.whoami().unwrap());
    assert_eq!(who["type"], "bot", "{who}");
}

#[test]
fn a_service_app_not_authorized_in_the_org_gets_a_message_that_says_what_to_do() {
    let emu = emulator();
    let authorizing = authorizing_token(&emu);
    assert!(emu.set_service_app_authorized(SERVICE_APP, false));
    let app = service_app(&emu, &Recorder::new());
    let opts = json!({"target_org_id": org(&emu), "authorizing_token": authorizing}).to_string();
    let r = wait_result(&app, app.service_app_token(Some(&opts)).unwrap());
    assert_failed(&r, "WXA_ERR_HTTP");
    assert_eq!(r["http_status"], 403);
    let msg = r["message"].as_str().unwrap();
    assert!(msg.contains("Full Admin") && msg.contains("authorize"), "{msg}");
    assert!(r["tracking_id"].is_string(), "{r}");
    assert!(token_of(&app).is_none());
}

#[test]
fn service_app_options_are_required_and_nothing_is_sent_without_them() {
    let emu = emulator();
    let app = service_app(&emu, &Recorder::new());
    // Even a client holding a token never uses it as the authorizing token.
    app.set_token(r#"{"access_token":"own","expires_in":3600}"#).unwrap();
    for opts in [None, Some(r#"{"target_org_id":"o"}"#), Some(r#"{"authorizing_token":"t"}"#), Some("{}")] {
        let e = app.service_app_token(opts).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{opts:?}");
    }
    assert!(emu.requests(Endpoint::ApplicationToken).is_empty());
}

#[test]
fn guests_through_a_service_app_and_who_they_are() {
    let emu = emulator();
    let authorizing = authorizing_token(&emu);
    let app = service_app(&emu, &Recorder::new());
    let opts = json!({"target_org_id": org(&emu), "authorizing_token": authorizing}).to_string();
    assert_ok(&wait_result(&app, app.service_app_token(Some(&opts)).unwrap()));
    let g = wait_result(&app, app.create_guest(Some(r#"{"subject":"kiosk-7","display_name":"Lobby Kiosk"}"#)).unwrap());
    assert_ok(&g);
    for k in ["access_token", "expires_in", "id", "subject", "display_name", "email"] {
        assert!(g.get(k).is_some(), "{k} missing: {g}");
    }
    assert_eq!((g["subject"].as_str(), g["display_name"].as_str()), (Some("kiosk-7"), Some("Lobby Kiosk")));
    let sent: Value = serde_json::from_str(&emu.requests(Endpoint::GuestsToken)[0].body).unwrap();
    assert_eq!(sent, json!({"subject": "kiosk-7", "displayName": "Lobby Kiosk"}));
    assert_ne!(access_token_of(&app), g["access_token"].as_str().unwrap(), "the guest token is not the client's");
    // A second client adopts the guest token.
    let guest = new_client_no_sink(&confidential(&emu));
    guest.set_token(&json!({"access_token": g["access_token"], "expires_in": g["expires_in"]}).to_string()).unwrap();
    let who = wait_result(&guest, guest.whoami().unwrap());
    assert_eq!(who["type"], "appuser", "{who}");
    assert!(app.create_guest(None).is_err());
    assert_eq!(app.create_guest(Some(r#"{"display_name":"x"}"#)).unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn whoami_refreshes_once_on_a_401_and_retries() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({}));
    let me = wait_result(&client, client.whoami().unwrap());
    assert_ok(&me);
    assert_eq!(me["type"], "person");
    for k in ["id", "emails", "display_name", "org_id"] {
        assert!(me.get(k).is_some(), "{k}: {me}");
    }
    // The server forgot the access token (revoked elsewhere): 401, one refresh, retry.
    client
        .set_token(
            &json!({"access_token": "revoked-elsewhere", "refresh_token": first["refresh_token"], "expires_in": 3600})
                .to_string(),
        )
        .unwrap();
    emu.clear_requests();
    let me = wait_result(&client, client.whoami().unwrap());
    assert_ok(&me);
    assert_eq!(emu.requests(Endpoint::PeopleMe).len(), 2);
    assert_eq!(token_requests(&emu, "refresh_token").len(), 1);
    assert_ne!(access_token_of(&client), "revoked-elsewhere");
}

// ---------------------------------------------------------------------------------
// Login with Webex (OpenID Connect)

fn oidc_client(emu: &Emulator) -> Client {
    new_client_no_sink(&with(confidential(emu), json!({"scope": "openid email profile"})))
}

fn oidc_login(client: &Client) -> Value {
    let url = client.initiate_login("").unwrap();
    assert!(query_param(&url, "nonce").is_some_and(|n| n.len() >= 32), "a nonce is sent: {url}");
    let (op, _) = client.handle_redirect(&browser_authorize(&url)).unwrap();
    wait_result(client, op)
}

#[test]
fn login_with_webex_returns_validated_claims() {
    let emu = emulator();
    let client = oidc_client(&emu);
    let r = oidc_login(&client);
    assert_ok(&r);
    let claims = &r["id_token_claims"];
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["iss"], emu.oidc_issuer());
    assert!(claims["sub"].is_string() && claims["email"].is_string() && claims["name"].is_string(), "{claims}");
    // The JWKS is cached (max-age): a second login fetches nothing.
    let fetched = emu.requests(Endpoint::Jwks).len();
    assert_eq!(fetched, 1);
    assert_ok(&oidc_login(&client));
    assert_eq!(emu.requests(Endpoint::Jwks).len(), 1, "served from the cache");
    // A plain login (no openid) sends no nonce and needs no id_token.
    let plain = new_client_no_sink(&confidential(&emu));
    assert!(query_param(&plain.initiate_login("").unwrap(), "nonce").is_none());
}

#[test]
fn a_rotated_key_is_refetched_once() {
    let emu = emulator();
    let client = oidc_client(&emu);
    assert_ok(&oidc_login(&client));
    emu.rotate_signing_key(false);
    emu.clear_requests();
    let r = oidc_login(&client);
    assert_ok(&r);
    assert_eq!(emu.requests(Endpoint::Jwks).len(), 1, "one immediate refetch on the unknown kid");
}

#[test]
fn bad_id_tokens_fail_the_login_and_store_nothing() {
    let emu = emulator();
    for (what, claims) in [
        ("wrong audience", json!({"aud": "someone-else"})),
        ("wrong issuer", json!({"iss": "https://evil.example/idb"})),
        ("expired", json!({"exp": 1_000_000_000, "iat": 999_990_000})),
        ("issued in the future", json!({"iat": 4_000_000_000i64, "exp": 4_000_007_200i64})),
        ("no nonce", json!({"nonce": null})),
        ("wrong nonce", json!({"nonce": "not-this-logins"})),
    ] {
        emu.update_config(|c| c.id_token_claims = Some(claims.clone()));
        let client = oidc_client(&emu);
        let r = oidc_login(&client);
        assert_failed(&r, "WXA_ERR_ID_TOKEN");
        assert!(token_of(&client).is_none(), "{what}: a token was stored");
    }
    emu.update_config(|c| c.id_token_claims = None);
}

/// An id_token signed with the test key of tests/data (not the emulator's), with the
/// given header `kid`/`alg` and the claims a good token of this login would have.
fn forged(emu: &Emulator, nonce: &str, kid: Option<&str>, alg: jsonwebtoken::Algorithm) -> String {
    use base64::Engine as _;
    let now = now_ms() / 1000;
    let claims = json!({"iss": emu.oidc_issuer(), "aud": CLIENT_ID, "sub": "u", "iat": now, "exp": now + 600,
                        "nonce": nonce});
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let key = match alg {
        jsonwebtoken::Algorithm::RS256 => {
            let pem = include_str!("data/oidc-test-key.pem");
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            jsonwebtoken::EncodingKey::from_rsa_der(&base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
        }
        // "HS256 with the public key": the published JWK's modulus as an HMAC secret.
        _ => jsonwebtoken::EncodingKey::from_secret(emu.signing_kids()[0].as_bytes()),
    };
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[test]
fn forged_id_tokens_are_refused_and_an_unknown_key_is_fetched_at_most_twice() {
    let emu = emulator();
    let real_kid = emu.signing_kids().last().unwrap().clone();
    type Forge<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let cases: Vec<(&str, Forge)> = vec![
        (
            "a key the JWKS does not have",
            Box::new(|n: &str| forged(&emu, n, Some("forged-kid"), jsonwebtoken::Algorithm::RS256)),
        ),
        (
            "a bad signature under the real kid",
            Box::new(|n: &str| forged(&emu, n, Some(&real_kid), jsonwebtoken::Algorithm::RS256)),
        ),
        ("HS256", Box::new(|n: &str| forged(&emu, n, Some(&real_kid), jsonwebtoken::Algorithm::HS256))),
        (
            "alg none",
            Box::new(|n: &str| {
                use base64::Engine as _;
                let good = forged(&emu, n, None, jsonwebtoken::Algorithm::RS256);
                let payload = good.split('.').nth(1).unwrap().to_string();
                let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
                format!("{none}.{payload}.")
            }),
        ),
    ];
    for (what, make) in cases {
        let client = oidc_client(&emu);
        let url = client.initiate_login("").unwrap();
        let nonce = query_param(&url, "nonce").unwrap();
        let redirect = browser_authorize(&url);
        emu.script(
            Endpoint::Token,
            vec![Scripted::json(
                200,
                json!({"access_token": "AT", "refresh_token": "RT", "expires_in": 3600,
                                            "id_token": make(&nonce)}),
            )],
        );
        emu.clear_requests();
        let (op, _) = client.handle_redirect(&redirect).unwrap();
        let r = wait_result(&client, op);
        assert_failed(&r, "WXA_ERR_ID_TOKEN");
        assert!(token_of(&client).is_none(), "{what}: a token was stored");
        assert!(emu.requests(Endpoint::Jwks).len() <= 2, "{what}: the JWKS was fetched more than twice");
    }
}

// ---------------------------------------------------------------------------------
// Refresh tokens that do not die silently

#[test]
fn a_refresh_token_near_its_expiry_is_kept_alive() {
    let emu = emulator();
    emu.update_config(|c| c.refresh_token_ttl_s = 600);
    // Keep-alive window as long as the refresh token's life: due at once after login.
    let (client, rec, first) = logged_in(&emu, json!({"refresh_keepalive_s": 600}));
    let ev = rec.wait_for_op("token:refresh", 0, LONG);
    assert_ne!(ev.payload["access_token"], first["access_token"]);
    assert!(
        ev.payload["refresh_token_expires_at"].as_i64().unwrap()
            > first["refresh_token_expires_at"].as_i64().unwrap() - 1000
    );
    // An observation window for an absence: no keep-alive loop (the refresh above may
    // have come before the login's request log was cleared, so compare with now).
    let after_one = token_requests(&emu, "refresh_token").len();
    assert!(after_one <= 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(token_requests(&emu, "refresh_token").len(), after_one, "the keep-alive refreshed again");
    client.close();
}

#[test]
fn unauthorized_says_why_the_refresh_token_is_dead() {
    let emu = emulator();
    // Refused by the server.
    let (client, rec, _) = logged_in(&emu, json!({}));
    emu.expire_refresh_tokens();
    let r = wait_result(&client, client.refresh().unwrap());
    assert_failed(&r, "WXA_ERR_OAUTH");
    let ev = rec.wait_for("unauthorized", LONG);
    assert!(["invalid_grant", "refresh_token_expired", "revoked"].contains(&ev.payload["reason"].as_str().unwrap()));
    assert!(token_of(&client).is_none());
    // Past its own expiry, locally: reason and time; the access token lives on.
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let now = now_ms();
    client
        .set_token(
            &json!({"access_token": "A", "refresh_token": "R", "expires_at": now + 60_000,
                           "refresh_token_expires_at": now - 1000})
            .to_string(),
        )
        .unwrap();
    let r = wait_result(&client, client.get_valid_token(3600).unwrap());
    assert_failed(&r, "WXA_ERR_NOT_AUTHORIZED");
    let ev = rec.wait_for("unauthorized", LONG);
    assert_eq!(ev.payload["reason"], "refresh_token_expired");
    assert_eq!(ev.payload["refresh_token_expired_at"], now - 1000);
    assert_eq!(access_token_of(&client), "A", "the access token is kept until it expires");
    assert!(emu.requests(Endpoint::Token).iter().all(|r| r.form_value("refresh_token") != Some("R")));
}

#[test]
fn an_unchanged_token_from_a_refresh_is_accepted() {
    let emu = emulator();
    let (client, _rec, first) = logged_in(&emu, json!({}));
    emu.script(
        Endpoint::Token,
        vec![Scripted::json(
            200,
            json!({"access_token": first["access_token"], "expires_in": 3600, "token_type": "Bearer"}),
        )],
    );
    let r = wait_result(&client, client.refresh().unwrap());
    assert_ok(&r);
    assert_eq!(r["access_token"], first["access_token"]);
    assert_eq!(r["refresh_token"], first["refresh_token"], "the refresh token is kept");
}

// ---------------------------------------------------------------------------------
// FedRAMP

#[test]
fn fedramp_derives_every_endpoint_and_refuses_guests() {
    let emu = emulator();
    let cfg = with(
        confidential(&emu),
        json!({"environment": "fedramp", "webex_api_url": emu.fedramp_api_url(), "idbroker_url": emu.fedramp_idbroker_url()}),
    );
    let client = new_client_no_sink(&cfg);
    let url = client.initiate_login("").unwrap();
    assert!(url.starts_with(&format!("{}/authorize", emu.fedramp_api_url())), "{url}");
    let (op, _) = client.handle_redirect(&browser_authorize(&url)).unwrap();
    assert_ok(&wait_result(&client, op));
    assert!(emu.requests(Endpoint::Token).iter().all(|r| r.path.starts_with("/fedramp/")));
    let jwt = webex_auth::create_jwt(
        &json!({"issuer": emu.guest_issuer(), "secret": emu.guest_secret_b64(), "expires_in": 60}).to_string(),
    )
    .unwrap();
    for e in [client.login_with_jwt(&jwt).unwrap_err(), client.create_guest(Some(r#"{"subject":"s"}"#)).unwrap_err()] {
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("FedRAMP"), "{}", e.message());
    }
    // Without explicit keys: Webex for Government's hosts.
    let gov = new_client_no_sink(&json!({"client_id": "c", "redirect_uri": REDIRECT_URI, "environment": "fedramp"}));
    assert!(gov.initiate_login("").unwrap().starts_with("https://api-usgov.webex.com/v1/authorize?"));
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
