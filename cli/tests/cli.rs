//! The real `webex-auth` binary against an emulator the test starts: device and browser
//! login, token (refresh included), status, logout, configuration sources, exit codes,
//! and `--emulator` end to end.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

#[test]
fn device_login_stores_an_encrypted_token_that_token_prints_and_logout_revokes() {
    let emu = emulator();
    let home = Home::new();
    let done = device_login(&home, &emu);
    assert_eq!(done["ok"], true);
    assert_eq!(done["scope"], "spark:all");
    assert_eq!(done["store"], home.store().to_str().unwrap());
    assert!(done.get("access_token").is_none() && done.get("refresh_token").is_none(), "{done}");

    // The store and its key: private files; the token is not in the store in clear.
    assert_eq!(mode(&home.store()), 0o600);
    assert_eq!(mode(&home.key_file()), 0o600);
    assert_eq!(mode(&home.data_dir()), 0o700);
    let access = token(&home, &emu);
    assert!(emu.is_access_token_valid(&access), "{access}");
    let stored = std::fs::read(home.store()).unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&access), "the store holds the token in clear");

    // `token` prints the token and nothing else; --json adds the expiry, no refresh token.
    let out = run(home.cmd_for(&emu, &["token"]));
    assert_eq!(out.stdout, format!("{access}\n"));
    assert_eq!(out.stderr, "");
    let j = run(home.cmd_for(&emu, &["token", "--json"])).json();
    assert_eq!(j["access_token"], access.as_str());
    let expires_at = j["expires_at"].as_i64().unwrap();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((expires_at - now_ms - 3_600_000).abs() < 120_000, "expires_at {expires_at}");
    assert!(j.get("refresh_token").is_none(), "{j}");

    // status: no secret, the scopes and expiry.
    let out = run(home.cmd_for(&emu, &["status", "--offline"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("spark:all") && out.stdout.contains("refresh token:  present"), "{}", out.stdout);
    assert!(!out.stdout.contains(&access));
    let j = run(home.cmd_for(&emu, &["status", "--offline", "--json"])).json();
    assert_eq!(j["logged_in"], true);
    assert_eq!(j["has_refresh_token"], true);
    assert!(j["expires_at"].as_i64().unwrap() > now_ms);
    assert!(!j.to_string().contains(&access) && j.get("refresh_token").is_none(), "{j}");

    // logout: revoked at the emulator, gone from the store; logged-out commands say so.
    let out = run(home.cmd_for(&emu, &["logout"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(emu.requests(Endpoint::Logout).len(), 1);
    assert!(!emu.is_access_token_valid(&access));
    let out = run(home.cmd_for(&emu, &["token"]));
    assert_eq!((out.code, out.stdout.as_str()), (3, ""), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one line on stderr: {:?}", out.stderr);
    assert!(out.stderr.starts_with("webex-auth: not logged in"), "{}", out.stderr);
    assert_eq!(run(home.cmd_for(&emu, &["status", "--offline"])).code, 3);
    // Logging out twice is fine.
    let out = run(home.cmd_for(&emu, &["logout", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["revoked"], false);
    assert_eq!(emu.requests(Endpoint::Logout).len(), 1);
}

#[test]
fn token_refreshes_when_asked_for_more_life_than_is_left_and_stores_the_new_one() {
    let emu = emulator();
    let home = Home::new();
    device_login(&home, &emu);
    let first = token(&home, &emu);
    assert_eq!(emu.requests(Endpoint::Token).len(), 0, "device tokens come from device/token");

    // The token lives an hour: asking for two forces a refresh.
    let out = run(home.cmd_for(&emu, &["token", "--min-valid", "7200"]));
    assert_eq!(out.code, 0, "{out:?}");
    let second = out.stdout.trim_end().to_string();
    assert_ne!(second, first);
    assert!(emu.is_access_token_valid(&second));
    let refreshes = emu.requests(Endpoint::Token);
    assert_eq!(refreshes.len(), 1);
    // The next process reads the refreshed token from the store: no new request.
    assert_eq!(token(&home, &emu), second);
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
}

#[test]
fn token_rejected_refreshes_only_a_token_that_is_still_the_stored_one() {
    let emu = emulator();
    let home = Home::new();
    device_login(&home, &emu);
    let first = token(&home, &emu);
    // The API said 401 to `first`: a new token, from one refresh.
    let out = run_with_stdin(home.cmd_for(&emu, &["token", "--rejected"]), &format!("{first}\n"));
    assert_eq!(out.code, 0, "{out:?}");
    let second = out.stdout.trim_end().to_string();
    assert_ne!(second, first);
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
    assert_eq!(token(&home, &emu), second, "the new token is stored");
    // Another script saw the same 401 a little later: no second refresh, the new token.
    let out = run_with_stdin(home.cmd_for(&emu, &["token", "--rejected", "--json"]), &first);
    assert_eq!(out.json()["access_token"], second.as_str());
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
    // Nothing on stdin: usage.
    assert_eq!(run_with_stdin(home.cmd_for(&emu, &["token", "--rejected"]), "").code, 2);
}

#[test]
fn a_refresh_token_the_server_no_longer_accepts_ends_the_login_with_exit_3() {
    let emu = emulator();
    let home = Home::new();
    device_login(&home, &emu);
    emu.expire_refresh_tokens();
    let out = run(home.cmd_for(&emu, &["token", "--min-valid", "7200"]));
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("invalid_grant") && out.stderr.contains("webex-auth login"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    // The ended login is gone from the store.
    assert_eq!(run(home.cmd_for(&emu, &["status", "--offline"])).code, 3);
}

#[test]
fn whoami_and_status_say_who_the_token_belongs_to() {
    let emu = emulator();
    let home = Home::new();
    let done = device_login(&home, &emu);
    assert_eq!(done["who"]["display_name"], "Emulated User", "login says who logged in: {done}");

    let out = run(home.cmd_for(&emu, &["whoami"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("Emulated User <emulated.user@example.com>\n"), "{}", out.stdout);
    assert!(out.stdout.contains("type    person"), "{}", out.stdout);
    let j = run(home.cmd_for(&emu, &["whoami", "--json"])).json();
    assert_eq!(j["emails"], json!(["emulated.user@example.com"]));
    assert_eq!(j["org_id"].as_str().map(|s| !s.is_empty()), Some(true), "{j}");
    assert!(j.get("ok").is_none());

    let out = run(home.cmd_for(&emu, &["status"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("Logged in as Emulated User <emulated.user@example.com>"), "{}", out.stdout);
    let j = run(home.cmd_for(&emu, &["status", "--json"])).json();
    assert_eq!(j["who"]["display_name"], "Emulated User");
    let access = token(&home, &emu);
    assert!(!j.to_string().contains(&access));
    // people/me was asked with the stored token.
    let me = emu.requests(Endpoint::PeopleMe);
    assert_eq!(me.last().unwrap().header("authorization"), Some(format!("Bearer {access}").as_str()));
}

#[test]
fn whoami_refused_token_is_refreshed_once_and_a_dead_login_exits_3() {
    let emu = emulator();
    let home = Home::new();
    device_login(&home, &emu);
    let first = token(&home, &emu);
    // One 401: the engine refreshes and asks again; the new token is stored.
    emu.script(Endpoint::PeopleMe, vec![Scripted::status(401)]);
    let out = run(home.cmd_for(&emu, &["whoami"]));
    assert_eq!(out.code, 0, "{out:?}");
    let second = token(&home, &emu);
    assert_ne!(first, second);
    // A 401 whose refresh is refused too: the login has ended.
    emu.expire_refresh_tokens();
    emu.script(Endpoint::PeopleMe, vec![Scripted::status(401)]);
    let out = run(home.cmd_for(&emu, &["whoami"]));
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
}

#[test]
fn browser_login_through_the_loopback_redirect() {
    let emu = emulator();
    let home = Home::new();
    let mut login = Running::spawn(home.cmd_for(&emu, &["login", "--browser", "--no-open", "--json"]));
    let ev = login.next_json();
    assert_eq!(ev["event"], "authorize_url", "{ev}");
    assert_eq!(ev["browser_opened"], false);
    let url = ev["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/authorize?", emu.api_url())), "{url}");
    assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"), "{url}");
    // The "browser": the emulator consents at once for an API client and redirects to
    // the CLI's loopback listener, which answers with its page.
    let page = ureq::get(url).call().unwrap().into_body().read_to_string().unwrap();
    assert!(!page.is_empty());
    let done = login.next_json();
    assert_eq!(done["ok"], true, "{done}");
    let out = login.finish();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(emu.is_access_token_valid(&token(&home, &emu)));
}

#[test]
fn browser_login_opens_the_system_browser_from_browser_env() {
    let emu = emulator();
    let home = Home::new();
    // $BROWSER, as the webbrowser crate reads it: a script that fetches the URL like a
    // browser would (following the redirect to the loopback listener).
    let browser = home.path().join("fake-browser");
    std::fs::write(
        &browser,
        "#!/usr/bin/env python3\nimport sys, urllib.request\nurllib.request.urlopen(sys.argv[1]).read()\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = home.cmd_for(&emu, &["login", "--browser", "--json"]);
    cmd.env("BROWSER", &browser);
    let mut login = Running::spawn(cmd);
    let ev = login.next_json();
    assert_eq!(ev["browser_opened"], true, "{ev}");
    assert_eq!(login.next_json()["ok"], true);
    assert_eq!(login.finish().code, 0);
    assert!(emu.is_access_token_valid(&token(&home, &emu)));
}

#[test]
fn configuration_comes_from_the_file_then_the_environment_then_the_flags() {
    let emu = emulator();
    let home = Home::new();
    home.write_config(&json!({
        "client_id": "test-client",
        "client_secret": "test-secret",
        "webex_api_url": emu.api_url(),
        "idbroker_url": emu.idbroker_url(),
        "scope": "spark:all spark:people_read",
    }));
    // The file alone is enough.
    let mut login = Running::spawn(home.cmd(&["login", "--json"]));
    let code = login.next_json();
    assert!(emu.approve_user_code(code["user_code"].as_str().unwrap()));
    let done = login.next_json();
    assert_eq!(login.finish().code, 0);
    assert_eq!(done["scope"], "spark:all spark:people_read");
    assert_eq!(emu.requests(Endpoint::DeviceAuthorize)[0].form_value("scope"), Some("spark:all spark:people_read"));

    // The environment beats the file, the flag beats the environment.
    let mut env_wins = home.cmd(&["token"]);
    env_wins.env("WEBEX_CLIENT_SECRET", "wrong-secret");
    let out = run(env_wins);
    assert_eq!(out.code, 0, "a valid token needs no secret: {out:?}");
    let mut env_wins = home.cmd(&["token", "--min-valid", "7200"]);
    env_wins.env("WEBEX_CLIENT_SECRET", "wrong-secret");
    let out = run(env_wins);
    assert_eq!(out.code, 5, "the wrong secret from the environment was used: {out:?}");
    assert!(out.stderr.contains("invalid_client"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong-secret") && !out.stderr.contains("test-secret"), "{}", out.stderr);

    let mut flag_wins = home.cmd(&["token", "--api-url", &format!("http://127.0.0.1:{}/v1", closed_port())]);
    flag_wins.env("WEBEX_API_URL", emu.api_url());
    flag_wins.arg("--min-valid").arg("7200");
    let out = run(flag_wins);
    assert_eq!(out.code, 4, "the flag's closed port was used: {out:?}");
}

#[test]
fn exit_codes_for_usage_and_configuration_mistakes() {
    let home = Home::new();
    // clap: unknown flag, missing subcommand.
    assert_eq!(run(home.cmd(&["login", "--no-such-flag"])).code, 2);
    assert_eq!(run(home.cmd(&[])).code, 2);
    // No client id anywhere.
    let out = run(home.cmd(&["login"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no client id") && out.stderr.contains("WEBEX_CLIENT_ID"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1);
    // A config file that is not JSON, an explicit one that does not exist, an unknown key.
    std::fs::create_dir_all(home.config_file().parent().unwrap()).unwrap();
    std::fs::write(home.config_file(), "{client_id: nope").unwrap();
    assert_eq!(run(home.cmd(&["token"])).code, 2);
    assert_eq!(run(home.cmd(&["token", "--config", "/nonexistent/config.json"])).code, 2);
    home.write_config(&json!({"client_id": "c", "clientsecret": "typo"}));
    let out = run(home.cmd(&["login"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("clientsecret"), "{}", out.stderr);
    // --json failures: one object on stdout too.
    let out = run(home.cmd(&["login", "--json"]));
    assert_eq!(out.json()["kind"], "usage");
    assert_eq!(out.json()["exit_code"], 2);
}

#[test]
fn exit_codes_for_login_failures() {
    let home = Home::new();
    // Not logged in.
    let mut c = home.cmd(&["token"]);
    c.env("WEBEX_CLIENT_ID", "test-client");
    assert_eq!(run(c).code, 3);

    // Network: nothing listens there.
    let mut c = home.cmd(&["login", "--api-url", &format!("http://127.0.0.1:{}/v1", closed_port())]);
    c.env("WEBEX_CLIENT_ID", "test-client");
    let out = run(c);
    assert_eq!(out.code, 4, "{out:?}");

    // The server refuses: the person denies the login.
    let emu = emulator();
    let mut login = Running::spawn(home.cmd_for(&emu, &["login", "--json"]));
    let code = login.next_json();
    assert!(emu.deny_user_code(code["user_code"].as_str().unwrap()));
    let out = login.finish();
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("access_denied"), "{}", out.stderr);

    // Timeout: the code expires before anyone approves it.
    let emu = Emulator::start(EmulatorConfig {
        device_interval_s: Some(1),
        device_expires_in_s: 2,
        ..EmulatorConfig::default()
    });
    let out = run(home.cmd_for(&emu, &["login", "--json"]));
    assert_eq!(out.code, 6, "{out:?}");
    // --timeout gives up sooner than the code's lifetime.
    let emu = emulator();
    let started = std::time::Instant::now();
    let out = run(home.cmd_for(&emu, &["login", "--timeout", "1", "--json"]));
    assert_eq!(out.code, 6, "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_the_login_with_exit_7() {
    let emu = emulator();
    let home = Home::new();
    let mut login = Running::spawn(home.cmd_for(&emu, &["login", "--json"]));
    assert_eq!(login.next_json()["event"], "user_code");
    let kill = std::process::Command::new("kill").args(["-INT", &login.pid().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = login.finish();
    assert_eq!(out.code, 7, "{out:?}");
    assert!(out.stderr.contains("cancel"), "{}", out.stderr);
    assert!(!home.store().exists() || run(home.cmd_for(&emu, &["status", "--offline"])).code == 3);
}

#[test]
fn emulator_mode_logs_in_offline_and_token_reads_the_store_later() {
    let home = Home::new();
    let mut login = home.cmd(&["login", "--emulator", "--json"]);
    login.env("WEBEX_AUTH_EMULATOR_DELAY_MS", "100");
    let mut login = Running::spawn(login);
    let code = login.next_json();
    assert_eq!(code["event"], "user_code");
    assert!(code["verification_uri"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    let done = login.next_json();
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(login.finish().code, 0);

    // Its own store: a real login is never overwritten by a demo.
    let emulator_store = home.data_dir().join("emulator-token.store");
    assert_eq!(done["store"], emulator_store.to_str().unwrap());
    assert!(emulator_store.exists() && !home.store().exists());
    assert_eq!(mode(&emulator_store), 0o600);

    // A later command (a fresh emulator) still prints the stored, valid token.
    let out = run(home.cmd(&["token", "--emulator"]));
    assert_eq!(out.code, 0, "{out:?}");
    let access = out.stdout.trim_end();
    assert!(access.ends_with("_emulator-org-0001"), "{access}");
    assert!(!String::from_utf8_lossy(&std::fs::read(&emulator_store).unwrap()).contains(access));
    // whoami and status do not ask a fresh emulator about an earlier one's token (it
    // would refuse it and the login would end): the token stays.
    let out = run(home.cmd(&["whoami", "--emulator"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("fresh one does not know it"), "{}", out.stderr);
    let out = run(home.cmd(&["status", "--emulator"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("Logged in (emulator)"), "{}", out.stdout);
    assert_eq!(run(home.cmd(&["token", "--emulator"])).stdout.trim_end(), access);
    // Without --emulator, nothing is logged in.
    let mut c = home.cmd(&["token"]);
    c.env("WEBEX_CLIENT_ID", "test-client");
    assert_eq!(run(c).code, 3);
}

#[test]
fn emulator_mode_browser_login_consents_by_itself() {
    let home = Home::new();
    let mut c = home.cmd(&["login", "--emulator", "--browser", "--json"]);
    c.env("WEBEX_AUTH_EMULATOR_DELAY_MS", "100");
    let mut login = Running::spawn(c);
    let ev = login.next_json();
    assert_eq!(ev["event"], "authorize_url");
    assert_eq!(ev["browser_opened"], false, "no real browser in emulator mode");
    assert_eq!(login.next_json()["ok"], true);
    assert_eq!(login.finish().code, 0);
    assert_eq!(run(home.cmd(&["token", "--emulator"])).code, 0);
}

#[test]
fn jwt_creates_a_guest_token_the_emulator_accepts() {
    let home = Home::new();
    let out = run(home.cmd(&["jwt", "--emulator", "--subject", "guest-42", "--name", "Guest 42", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["subject"], "guest-42");
    assert_eq!(j["name"], "Guest 42");
    let jwt = j["jwt"].as_str().unwrap();
    // The emulator's jwt/login takes it (same default guest issuer and secret).
    let emu = emulator();
    let answer = ureq::post(&emu.url(Endpoint::JwtLogin))
        .header("Authorization", jwt)
        .send_empty()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert!(answer["token"].is_string(), "{answer}");

    // The plain output is the JWT alone; the secret comes from the environment.
    let mut c = home.cmd(&["jwt", "--issuer", &emu.guest_issuer()]);
    c.env("WEBEX_GUEST_SECRET", emu.guest_secret_b64());
    let out = run(c);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim_end().split('.').count(), 3);
    // No secret: usage. A lifetime without a unit: refused by the engine as invalid.
    assert_eq!(run(home.cmd(&["jwt", "--issuer", "i"])).code, 2);
    let mut c = home.cmd(&["jwt", "--issuer", "i", "--expires-in", "30"]);
    c.env("WEBEX_GUEST_SECRET", emu.guest_secret_b64());
    let out = run(c);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn every_subcommand_has_help_and_the_exit_codes_are_documented() {
    let home = Home::new();
    let out = run(home.cmd(&["--help"]));
    assert_eq!(out.code, 0);
    for line in [
        "0  success",
        "2  usage",
        "3  not logged in",
        "4  network",
        "5  the server refused",
        "6  timeout",
        "7  canceled",
    ] {
        assert!(out.stdout.contains(line), "--help lacks {line:?}");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for sub in ["login", "token", "status", "whoami", "jwt", "logout"] {
        let out = run(home.cmd(&[sub, "--help"]));
        assert_eq!(out.code, 0, "{sub} --help");
        assert!(out.stdout.contains("Usage: webex-auth"), "{sub}: {}", out.stdout);
        assert!(readme.contains(&format!("webex-auth {sub}")), "README lacks {sub}");
    }
    // The README's table is the binary's.
    let table = out_table(&run(home.cmd(&["--help"])).stdout);
    assert!(readme.contains(&table), "README's exit code table differs from --help:\n{table}");
}

fn out_table(help: &str) -> String {
    help[help.find("Exit codes:").unwrap()..].trim_end().to_string()
}
