//! One module per subcommand; each takes the parsed arguments and returns what failed.

pub mod jwt;
pub mod login;
pub mod logout;
pub mod status;
pub mod token;
pub mod whoami;

use crate::args::{Cli, Command};
use crate::exit::CliError;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    let g = &cli.global;
    match &cli.command {
        Command::Login(args) => login::run(g, args),
        Command::Token(args) => token::run(g, args),
        Command::Status(args) => status::run(g, args),
        Command::Whoami => whoami::run(g),
        Command::Jwt(args) => jwt::run(g, args),
        Command::Logout => logout::run(g),
    }
}
