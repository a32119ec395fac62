//! What a failure is called and which exit code it leaves: one kind per exit code, one
//! line on stderr (and, with `--json`, one object on stdout). Messages are built from
//! the engine's messages and the server's error fields, never from token values.

use std::process::ExitCode;

use serde_json::{Value, json};
use webex_auth::Status;

/// The kinds of failure, each with its own exit code (the table in `--help` and the
/// README is `EXIT_CODES`; a test checks they agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 1: anything else (a bug, an unreadable store, a browser that failed to start).
    Other,
    /// 2: bad flags, environment or config file.
    Usage,
    /// 3: not logged in, or the login ended (refresh token expired or revoked, token refused).
    NotLoggedIn,
    /// 4: the server could not be reached.
    Network,
    /// 5: the server refused or answered something unexpected (OAuth error, HTTP error, rate limit).
    Refused,
    /// 6: time ran out (a request, or a login nobody approved in time).
    Timeout,
    /// 7: canceled (Ctrl-C).
    Canceled,
}

/// `webex-auth --help`'s and the README's table.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  other failure
  2  usage: bad flags, environment or config file
  3  not logged in, or the login has ended (run `webex-auth login`)
  4  network: the server could not be reached
  5  the server refused (OAuth error, unexpected HTTP answer, rate limit)
  6  timeout: a request, or a login not approved in time
  7  canceled (Ctrl-C)";

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Usage => 2,
            Kind::NotLoggedIn => 3,
            Kind::Network => 4,
            Kind::Refused => 5,
            Kind::Timeout => 6,
            Kind::Canceled => 7,
        }
    }

    /// The name `--json` output gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Other => "other",
            Kind::Usage => "usage",
            Kind::NotLoggedIn => "not_logged_in",
            Kind::Network => "network",
            Kind::Refused => "refused",
            Kind::Timeout => "timeout",
            Kind::Canceled => "canceled",
        }
    }

    /// The kind of an engine status. `invalid_grant` (a refresh token past its life or
    /// revoked) is decided by the caller: it means "logged out" for a refresh only.
    pub fn of_status(status: Status) -> Kind {
        match status {
            Status::InvalidArgument => Kind::Usage,
            Status::NotAuthorized => Kind::NotLoggedIn,
            Status::Network => Kind::Network,
            Status::OAuth | Status::Http | Status::RateLimited | Status::StateMismatch | Status::IdToken => {
                Kind::Refused
            }
            Status::Timeout | Status::Expired => Kind::Timeout,
            Status::Canceled => Kind::Canceled,
            Status::Ok | Status::Pending | Status::UnknownOperation | Status::Internal => Kind::Other,
        }
    }
}

/// A failure on its way to stderr and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> CliError {
        CliError { kind, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(Kind::Usage, message)
    }

    pub fn other(message: impl Into<String>) -> CliError {
        CliError::new(Kind::Other, message)
    }

    pub fn not_logged_in() -> CliError {
        CliError::new(Kind::NotLoggedIn, "not logged in (run `webex-auth login`)")
    }

    /// From an engine call that failed before any operation started.
    pub fn engine(e: &webex_auth::Error) -> CliError {
        CliError::new(Kind::of_status(e.status()), e.message().to_string())
    }

    /// From a failed operation's result JSON (`{"ok":false,"status",...}`).
    pub fn from_result(result: &Value) -> CliError {
        let status = result["status"].as_str().and_then(status_by_name).unwrap_or(Status::Internal);
        let mut kind = Kind::of_status(status);
        let error = result["error"].as_str();
        // A token the server no longer accepts ends the login: an expired or revoked
        // refresh token, or an API's 401 for the access token. (A 401 with
        // `invalid_client` is the client's secret, not the login: that stays "refused".)
        let token_refused = result["http_status"] == 401 && matches!(error, None | Some("invalid_token"));
        if error == Some("invalid_grant") || token_refused {
            kind = Kind::NotLoggedIn;
        }
        let mut message = result["message"].as_str().unwrap_or("the operation failed").to_string();
        if let Some(error) = error {
            if !message.contains(error) {
                message.push_str(&format!(" ({error})"));
            }
        }
        if let Some(description) = result["error_description"].as_str() {
            if !message.contains(description) {
                message.push_str(&format!(": {description}"));
            }
        }
        if let Some(tracking) = result["tracking_id"].as_str() {
            message.push_str(&format!(" [tracking id {tracking}]"));
        }
        if kind == Kind::NotLoggedIn {
            message.push_str(" — run `webex-auth login`");
        }
        CliError::new(kind, message)
    }

    /// Writes the one line on stderr (and the JSON object on stdout with `--json`) and
    /// gives the exit code.
    pub fn report(&self, json_output: bool) -> ExitCode {
        if json_output {
            println!(
                "{}",
                json!({"ok": false, "kind": self.kind.name(), "exit_code": self.kind.code(), "message": self.message})
            );
        }
        eprintln!("webex-auth: {}", self.message);
        ExitCode::from(self.kind.code())
    }
}

fn status_by_name(name: &str) -> Option<Status> {
    Status::ALL.iter().copied().find(|s| s.name() == name)
}

impl From<webex_auth::Error> for CliError {
    fn from(e: webex_auth::Error) -> CliError {
        CliError::engine(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_in_the_help_table_with_its_own_code() {
        let kinds =
            [Kind::Other, Kind::Usage, Kind::NotLoggedIn, Kind::Network, Kind::Refused, Kind::Timeout, Kind::Canceled];
        let mut codes: Vec<u8> = kinds.iter().map(|k| k.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
        for k in kinds {
            assert!(EXIT_CODES.contains(&format!("\n  {}  ", k.code())), "{k:?} missing from the table");
        }
    }

    #[test]
    fn results_map_to_kinds() {
        let r = json!({"ok":false,"status":"WXA_ERR_OAUTH","message":"token endpoint refused","error":"invalid_grant",
                       "error_description":"expired","tracking_id":"T1"});
        let e = CliError::from_result(&r);
        assert_eq!(e.kind, Kind::NotLoggedIn);
        assert!(e.message.contains("invalid_grant") && e.message.contains("expired") && e.message.contains("T1"));
        let r = json!({"ok":false,"status":"WXA_ERR_OAUTH","message":"denied","error":"access_denied"});
        assert_eq!(CliError::from_result(&r).kind, Kind::Refused);
        let r = json!({"ok":false,"status":"WXA_ERR_NETWORK","message":"connection refused"});
        assert_eq!(CliError::from_result(&r).kind, Kind::Network);
        let r = json!({"ok":false,"status":"WXA_ERR_EXPIRED","message":"the device code expired"});
        assert_eq!(CliError::from_result(&r).kind, Kind::Timeout);
        let r = json!({"ok":false,"status":"WXA_ERR_CANCELED","message":"canceled"});
        assert_eq!(CliError::from_result(&r).kind, Kind::Canceled);
        let r = json!({"ok":false,"status":"WXA_ERR_HTTP","message":"people/me answered 401","http_status":401});
        assert_eq!(CliError::from_result(&r).kind, Kind::NotLoggedIn);
        let r = json!({"ok":false,"status":"WXA_ERR_OAUTH","message":"wrong secret","error":"invalid_client","http_status":401});
        assert_eq!(CliError::from_result(&r).kind, Kind::Refused);
    }
}
