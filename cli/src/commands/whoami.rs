//! `webex-auth whoami`: who the token belongs to, as Webex says (GET people/me).

use serde_json::Value;

use crate::args::Global;
use crate::exit::CliError;
use crate::output::print_json;
use crate::session::{Need, Session};

pub fn run(global: &Global) -> Result<(), CliError> {
    let session = Session::open(global, Need::ExistingLogin)?;
    if session.token()?.is_none() {
        return Err(CliError::not_logged_in());
    }
    if session.emulator.is_some() {
        // A fresh emulator answers 401, the engine then refreshes, the refresh is refused
        // and the stored login would end: refuse instead of logging the demo out.
        return Err(CliError::other(
            "whoami --emulator: the emulator that issued this token ended with its command, and this \
             command's fresh one does not know it (`login --emulator` shows who logged in)",
        ));
    }
    let who = ask(&session)?;
    if global.json {
        print_json(&who);
        return Ok(());
    }
    println!("{}", person(&who));
    for (label, key) in [("id", "id"), ("org id", "org_id"), ("type", "type")] {
        if let Some(v) = who[key].as_str() {
            println!("  {label:<7} {v}");
        }
    }
    Ok(())
}

/// Who the token belongs to (GET people/me): `{"id","emails","display_name","org_id","type"}`.
/// The engine refreshes first when the token needs it, and once more after a 401.
pub fn ask(session: &Session) -> Result<Value, CliError> {
    let op = session.client.whoami()?;
    let mut who = session.run(op, None, |_| {})?;
    if let Some(m) = who.as_object_mut() {
        m.remove("ok");
    }
    Ok(who)
}

/// `Display Name <first@email>` (whatever of it is known).
pub fn person(who: &Value) -> String {
    let name = who["display_name"].as_str().unwrap_or("");
    let email = who["emails"].as_array().and_then(|e| e.first()).and_then(Value::as_str);
    match (name, email) {
        ("", Some(e)) => e.to_string(),
        (n, Some(e)) => format!("{n} <{e}>"),
        ("", None) => who["id"].as_str().unwrap_or("(unknown)").to_string(),
        (n, None) => n.to_string(),
    }
}
