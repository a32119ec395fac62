//! `webex-auth`: Webex login and tokens on the command line, a user of the webex-auth
//! Rust API like any other app (never its C ABI).
#![forbid(unsafe_code)]

mod args;
mod commands;
mod config;
mod emulator;
mod exit;
mod keyfile;
mod output;
mod session;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors exit with 2 and --help/--version with 0, from clap itself.
    let cli = args::Cli::parse();
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(cli.global.json),
    }
}
