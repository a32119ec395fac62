//! The command line: global options (where the configuration comes from) and one
//! subcommand per thing a person or a script wants. Parsing only; `commands` acts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES;

const ABOUT: &str = "Log in to Webex and get access tokens for scripts.";

const LONG_ABOUT: &str = "\
Log in to Webex and get access tokens for scripts.

Configuration, later sources winning: the config file (a JSON object with the
engine's keys, e.g. {\"client_id\": \"...\", \"client_secret\": \"...\", \"scope\": \"...\"}),
the environment (WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET, WEBEX_SCOPE, WEBEX_API_URL,
WEBEX_IDBROKER_URL, ...), then the flags. The client secret is never taken from a
flag (other users could read it in the process list).

The token is stored encrypted in the user's data directory (a key file beside it,
both mode 0600) and refreshed when needed. `--emulator` runs everything against the
bundled Webex emulator, offline, with its own store.";

#[derive(Parser, Debug)]
#[command(name = "webex-auth", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Integration client id
    #[arg(long, env = "WEBEX_CLIENT_ID", global = true, hide_env_values = true)]
    pub client_id: Option<String>,

    /// Space-separated scopes to ask for [default: spark:all]
    #[arg(long, env = "WEBEX_SCOPE", global = true, hide_env_values = true)]
    pub scope: Option<String>,

    /// Webex API base URL (authorize, token, device, JWT endpoints)
    #[arg(long, env = "WEBEX_API_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub api_url: Option<String>,

    /// Identity broker base URL (logout endpoint)
    #[arg(long, env = "WEBEX_IDBROKER_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub idbroker_url: Option<String>,

    /// Config file [default: config.json in the user's config directory]
    #[arg(long, env = "WEBEX_AUTH_CONFIG", global = true, hide_env_values = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Token store file [default: token.store in the user's data directory]
    #[arg(long, env = "WEBEX_AUTH_STORE", global = true, hide_env_values = true, value_name = "FILE")]
    pub store: Option<PathBuf>,

    /// Key file of the token store (base64 of 32 random bytes; created at the first login)
    /// [default: token.key beside the store]
    #[arg(long, env = "WEBEX_AUTH_KEY_FILE", global = true, hide_env_values = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Print JSON on stdout (for scripts)
    #[arg(long, global = true)]
    pub json: bool,

    /// Run against the bundled Webex emulator, in-process and offline; logins are
    /// approved by themselves after a short delay. Uses its own token store.
    #[arg(long, global = true)]
    pub emulator: bool,

    /// With --emulator: how long the emulated person takes to approve, in milliseconds
    #[arg(long, env = "WEBEX_AUTH_EMULATOR_DELAY_MS", global = true, hide = true, default_value_t = 2500)]
    pub emulator_delay_ms: u64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Log in: a QR code and a code to enter on another device (device login), or the
    /// browser with --browser; the token is stored encrypted
    Login(LoginArgs),
    /// Print a valid access token (refreshed when needed), e.g. for
    /// curl -H "Authorization: Bearer $(webex-auth token)" ...
    Token(TokenArgs),
    /// Show who is logged in, the scopes and when the tokens expire (no secrets)
    Status(StatusArgs),
    /// Ask Webex who the token belongs to (GET people/me)
    Whoami,
    /// Create a guest-issuer JWT (HS256); the secret comes from WEBEX_GUEST_SECRET or the
    /// config file's "guest_secret"
    Jwt(JwtArgs),
    /// Revoke the token at Webex and delete it from the store
    Logout,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Log in in the browser (a loopback redirect to this machine) instead of with a code
    #[arg(long)]
    pub browser: bool,

    /// With --browser: print the URL instead of opening a browser
    #[arg(long, requires = "browser")]
    pub no_open: bool,

    /// With --browser: the loopback port to listen on [default: any free port]
    #[arg(long, requires = "browser")]
    pub port: Option<u16>,

    /// Give up after this many seconds [default: the code's lifetime; with --browser, the
    /// login's (10 minutes)]
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,

    /// Do not draw the QR code
    #[arg(long)]
    pub no_qr: bool,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// Refresh first unless the token stays valid this many more seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub min_valid: u32,

    /// The API refused a token (401): read that token from stdin and get a fresh one;
    /// refreshes only if it is still the stored token (another process may have already)
    #[arg(long)]
    pub rejected: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Do not ask Webex who the token belongs to (no network)
    #[arg(long)]
    pub offline: bool,
}

#[derive(Args, Debug)]
pub struct JwtArgs {
    /// Guest issuer id [env: WEBEX_GUEST_ISSUER, or the config file's "guest_issuer"]
    #[arg(long, env = "WEBEX_GUEST_ISSUER")]
    pub issuer: Option<String>,

    /// The guest's subject [default: guest-user-<uuid>]
    #[arg(long)]
    pub subject: Option<String>,

    /// The guest's display name [default: Guest User - <uuid>]
    #[arg(long)]
    pub name: Option<String>,

    /// Lifetime: seconds, or a number with a unit (90s, 30m, 12h, 7d)
    #[arg(long, default_value = "1h")]
    pub expires_in: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
