//! `webex-auth status`: whether a token is stored, for whom, its scopes and when the
//! tokens expire. No token is ever printed. Who the token belongs to needs the network
//! (people/me); `--offline` skips it.

use serde_json::{Value, json};

use crate::args::{Global, StatusArgs};
use crate::commands::whoami;
use crate::exit::CliError;
use crate::output::{self, print_json};
use crate::session::{Need, Session};

pub fn run(global: &Global, args: &StatusArgs) -> Result<(), CliError> {
    let session = Session::open(global, Need::ExistingLogin)?;
    let token = session.token()?.ok_or_else(CliError::not_logged_in)?;
    let client_id = session.settings.engine.get("client_id").cloned().unwrap_or(Value::Null);
    let store = session.settings.store.describe();
    let expires_at = token["expires_at"].as_i64();
    let refresh_expires_at = token["refresh_token_expires_at"].as_i64();
    let has_refresh = token["refresh_token"].is_string();
    let expired = expires_at.is_some_and(|t| t <= output::now_ms());
    // Not with --emulator: its fresh emulator would refuse the token and end the login
    // (see `whoami`).
    let who = if args.offline || session.emulator.is_some() { None } else { Some(whoami::ask(&session)) };

    if global.json {
        let mut out = json!({
            "logged_in": true,
            "client_id": client_id,
            "scope": token["scope"],
            "expires_at": expires_at,
            "expired": expired,
            "has_refresh_token": has_refresh,
            "refresh_token_expires_at": refresh_expires_at,
            "store": store,
        });
        match who {
            Some(Ok(w)) => out["who"] = w,
            Some(Err(e)) => out["who_error"] = json!(e.message),
            None => {}
        }
        print_json(&out);
        return Ok(());
    }
    match who {
        Some(Ok(w)) => println!("Logged in as {}", whoami::person(&w)),
        Some(Err(e)) => println!("Logged in (who: unknown, {})", e.message),
        None if session.emulator.is_some() => println!("Logged in (emulator)"),
        None => println!("Logged in"),
    }
    println!("  client id:      {}", client_id.as_str().unwrap_or("?"));
    println!("  scopes:         {}", token["scope"].as_str().unwrap_or("?"));
    let state = if expired { "expired" } else { "valid" };
    println!("  access token:   {state}, expires {}", output::when(expires_at));
    if has_refresh {
        println!("  refresh token:  present, expires {}", output::when(refresh_expires_at));
    } else {
        println!("  refresh token:  none (log in again when the access token expires)");
    }
    println!("  store:          {store} (encrypted)");
    Ok(())
}
