//! `webex-auth token`: a valid access token on stdout, refreshed first when it would
//! expire within `--min-valid` seconds, for `curl -H "Authorization: Bearer $(webex-auth token)"`.
//! Only the access token: never the refresh token.

use serde_json::json;

use crate::args::{Global, TokenArgs};
use crate::exit::CliError;
use crate::output::print_json;
use crate::session::{Need, Session};

pub fn run(global: &Global, args: &TokenArgs) -> Result<(), CliError> {
    let session = Session::open(global, Need::ExistingLogin)?;
    if session.token()?.is_none() {
        return Err(CliError::not_logged_in());
    }
    let op = session.client.get_valid_token(args.min_valid)?;
    let result = session.run(op, None, |_| {})?;
    let access_token = result["access_token"]
        .as_str()
        .ok_or_else(|| CliError::other("the engine's token result has no access token"))?;
    if global.json {
        print_json(&json!({
            "access_token": access_token,
            "token_type": result["token_type"],
            "expires_at": result["expires_at"],
            "expires_in": result["expires_in"],
            "scope": result["scope"],
        }));
    } else {
        println!("{access_token}");
    }
    Ok(())
}
