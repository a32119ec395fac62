//! `webex-auth logout`: revokes the token at Webex and deletes it from the store. The
//! engine clears the local token even when the server does not answer; the exit code
//! then says what failed. Logging out when logged out is not an error.

use serde_json::json;

use crate::args::Global;
use crate::exit::{CliError, Kind};
use crate::output::print_json;
use crate::session::{Need, Session};

pub fn run(global: &Global) -> Result<(), CliError> {
    let session = match Session::open(global, Need::ExistingLogin) {
        Err(e) if e.kind == Kind::NotLoggedIn => return already_out(global),
        other => other?,
    };
    if session.token()?.is_none() {
        return already_out(global);
    }
    let op = session.client.logout()?;
    let store = session.settings.store.describe();
    match session.run(op, None, |_| {}) {
        Ok(_) => {
            if global.json {
                print_json(&json!({"ok": true, "logged_out": true, "revoked": true}));
            } else {
                eprintln!("Logged out: the token was revoked and removed from {store}.");
            }
            Ok(())
        }
        Err(mut e) => {
            // The token is gone here whatever the server said: say so, keep the kind.
            if e.kind == Kind::NotLoggedIn {
                e.kind = Kind::Refused;
            }
            e.message = format!(
                "logged out here (removed from {store}), but the server did not confirm the revocation: {}",
                e.message
            );
            Err(e)
        }
    }
}

fn already_out(global: &Global) -> Result<(), CliError> {
    if global.json {
        print_json(&json!({"ok": true, "logged_out": true, "revoked": false}));
    } else {
        eprintln!("Not logged in; nothing to do.");
    }
    Ok(())
}
