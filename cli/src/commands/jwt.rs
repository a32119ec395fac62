//! `webex-auth jwt`: a guest-issuer JWT (HS256), signed here (no network). The issuer's
//! secret comes from the environment or the config file, never from a flag.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::args::{Global, JwtArgs};
use crate::config;
use crate::emulator::LocalEmulator;
use crate::exit::CliError;
use crate::output::print_json;

pub fn run(global: &Global, args: &JwtArgs) -> Result<(), CliError> {
    let (issuer, secret) = if global.emulator {
        let (issuer, secret) = LocalEmulator::guest_issuer();
        (Some(args.issuer.clone().unwrap_or(issuer)), Some(secret))
    } else {
        let (file_issuer, file_secret) = config::guest_from_file(global)?;
        (args.issuer.clone().or(file_issuer), std::env::var("WEBEX_GUEST_SECRET").ok().or(file_secret))
    };
    let issuer = issuer.ok_or_else(|| {
        CliError::usage(
            "no guest issuer: pass --issuer, set WEBEX_GUEST_ISSUER or put \"guest_issuer\" in the config file",
        )
    })?;
    let secret = secret.ok_or_else(|| {
        CliError::usage("no guest issuer secret: set WEBEX_GUEST_SECRET or put \"guest_secret\" in the config file")
    })?;
    let mut options = json!({"issuer": issuer, "secret": secret, "expires_in": args.expires_in});
    if let Some(s) = &args.subject {
        options["subject"] = json!(s);
    }
    if let Some(n) = &args.name {
        options["display_name"] = json!(n);
    }
    let jwt = webex_auth::create_jwt(&options.to_string())?;
    if global.json {
        let claims = claims(&jwt);
        print_json(&json!({
            "jwt": jwt,
            "issuer": claims["iss"],
            "subject": claims["sub"],
            "name": claims["name"],
            "expires_at": claims["exp"].as_i64().map(|s| s * 1000),
        }));
    } else {
        println!("{jwt}");
    }
    Ok(())
}

/// The claims of a JWT the engine just signed (to show what it holds).
fn claims(jwt: &str) -> Value {
    jwt.split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}
