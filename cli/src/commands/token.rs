//! `webex-auth token`: a valid access token on stdout, refreshed first when it would
//! expire within `--min-valid` seconds, for `curl -H "Authorization: Bearer $(webex-auth token)"`.
//! Only the access token: never the refresh token. `--rejected` is for the 401 case:
//! the refused token comes on stdin (not as an argument, which `ps` would show).

use serde_json::json;
use zeroize::Zeroizing;

use crate::args::{Global, TokenArgs};
use crate::exit::CliError;
use crate::output::print_json;
use crate::session::{Need, Session};

pub fn run(global: &Global, args: &TokenArgs) -> Result<(), CliError> {
    let session = Session::open(global, Need::ExistingLogin)?;
    if session.token()?.is_none() {
        return Err(CliError::not_logged_in());
    }
    let op = if args.rejected {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("--rejected: cannot read the token from stdin: {e}")))?;
        let rejected = line.trim();
        if rejected.is_empty() {
            return Err(CliError::usage("--rejected: give the refused access token on stdin"));
        }
        session.client.token_rejected(rejected)?
    } else {
        session.client.get_valid_token(args.min_valid)?
    };
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
