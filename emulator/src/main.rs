//! `webex-auth-emulator [options]`: see `USAGE`.
//!
//! Prints `listening http://HOST:PORT` once bound (with `--print-sdk-config`, the Webex
//! JS SDK snippet after it), then serves until killed.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use webex_auth_emulator::{
    ClientRegistration, Consent, Emulator, EmulatorConfig, check_org_id, parse_client_spec, parse_guest_issuer_spec,
    parse_service_app_spec, sdk_snippet,
};

const USAGE: &str = "\
usage: webex-auth-emulator [options]
  --host 127.0.0.1            loopback address to listen on
  --port 0                    port (0: any free one)
  --client ID:SECRET:REDIRECT register a client (repeatable; empty SECRET: public client,
                              PKCE required; the same ID again adds a redirect URI)
  --guest-issuer ID:BASE64SECRET  the guest issuer (secret: at least 32 bytes)
  --service-app ID:SECRET     register a Service App, authorized in the org (repeatable)
  --org-id ORG                org id in codes, tokens and guest tokens (no '_')
  --consent browser|page|auto ask on a consent page: browsers only (default), always, never
  --access-token-ttl S  --refresh-token-ttl S  --guest-token-ttl S
  --device-expires-in S  --device-interval S|none
  --print-sdk-config          after the listening line, print the Webex JS SDK's
                              `new Webex({config})` for this emulator (first --client's)";

struct Options {
    host: IpAddr,
    port: u16,
    config: EmulatorConfig,
    /// The first `--client`, for the SDK snippet.
    sdk_client: Option<ClientRegistration>,
    print_sdk_config: bool,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        config: EmulatorConfig::default(),
        sdk_client: None,
        print_sdk_config: false,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--print-sdk-config" => {
                options.print_sdk_config = true;
                continue;
            }
            _ => {}
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
            "--client" => {
                let client = parse_client_spec(&value)?;
                options.sdk_client.get_or_insert_with(|| client.clone());
                options.config.register_client(client)?;
            }
            "--guest-issuer" => {
                let (issuer, secret) = parse_guest_issuer_spec(&value)?;
                options.config.guest_issuer = issuer;
                options.config.guest_secret_b64 = secret;
            }
            "--service-app" => options.config.register_service_app(parse_service_app_spec(&value)?),
            "--org-id" => {
                check_org_id(&value)?;
                options.config.org_id = value;
            }
            "--consent" => {
                options.config.consent = Consent::from_name(&value)
                    .ok_or_else(|| format!("--consent: {value:?} is not browser, page or auto"))?;
            }
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
    let sdk_client = options.sdk_client.clone().or_else(|| options.config.clients.first().cloned());
    let emulator = match Emulator::start_on(options.config, SocketAddr::new(options.host, options.port)) {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("webex-auth-emulator: cannot listen on {}:{}: {e}", options.host, options.port);
            return ExitCode::from(2);
        }
    };
    // Fixtures wait for exactly this line, first.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening {}", emulator.base_url());
    if options.print_sdk_config
        && let Some(client) = sdk_client
    {
        let _ = write!(stdout, "{}", sdk_snippet(&emulator.base_url(), &client, &emulator.config()));
    }
    let _ = stdout.flush();
    drop(stdout);
    loop {
        std::thread::park();
    }
}
