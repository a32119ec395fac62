//! `webex-auth-emulator [--host 127.0.0.1] [--port 0] [--access-token-ttl S] [--device-interval S|none]`
//!
//! Prints `listening http://HOST:PORT` once bound, then serves until killed.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use webex_auth_emulator::{Emulator, EmulatorConfig};

const USAGE: &str = "usage: webex-auth-emulator [--host 127.0.0.1] [--port 0] [--access-token-ttl S] \
[--refresh-token-ttl S] [--device-expires-in S] [--device-interval S|none] [--guest-token-ttl S]";

struct Options {
    host: IpAddr,
    port: u16,
    config: EmulatorConfig,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options { host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 0, config: EmulatorConfig::default() };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let seconds = || value.parse::<u64>().map_err(|_| format!("{flag}: {value:?} is not a number of seconds"));
        match flag.as_str() {
            "--host" => {
                options.host = if value == "localhost" {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    value.parse().map_err(|_| format!("--host: {value:?} is not an IP address"))?
                };
                if !options.host.is_loopback() {
                    return Err(format!("--host {value}: refusing a non-loopback address, this is a test server"));
                }
            }
            "--port" => options.port = value.parse().map_err(|_| format!("--port: {value:?} is not a port"))?,
            "--access-token-ttl" => options.config.access_token_ttl_s = seconds()?,
            "--refresh-token-ttl" => options.config.refresh_token_ttl_s = seconds()?,
            "--device-expires-in" => options.config.device_expires_in_s = seconds()?,
            "--device-interval" if value == "none" => options.config.device_interval_s = None,
            "--device-interval" => options.config.device_interval_s = Some(seconds()?),
            "--guest-token-ttl" => options.config.guest_token_ttl_s = seconds()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(why) if why.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("webex-auth-emulator: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::start_on(options.config, SocketAddr::new(options.host, options.port)) {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("webex-auth-emulator: cannot listen on {}:{}: {e}", options.host, options.port);
            return ExitCode::from(2);
        }
    };
    // Fixtures wait for exactly this line.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening {}", emulator.base_url());
    let _ = stdout.flush();
    drop(stdout);
    loop {
        std::thread::park();
    }
}
