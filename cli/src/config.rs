//! Where the configuration comes from and where the token lives: the config file (the
//! engine's own JSON keys), then the environment, then the flags; the store and its key
//! in the user's data directory unless told otherwise. `--emulator` replaces the
//! server-facing keys with the in-process emulator's and uses a store of its own, so a
//! demo never overwrites a real login.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;
use serde_json::{Map, Value};

use crate::args::Global;
use crate::exit::CliError;

/// The engine config keys the emulator decides in `--emulator` mode; the file's values
/// for them (a real client, real URLs) do not apply there.
const SERVER_KEYS: [&str; 12] = [
    "client_id",
    "client_secret",
    "redirect_uri",
    "webex_api_url",
    "idbroker_url",
    "authorize_url",
    "token_url",
    "device_authorize_url",
    "device_token_url",
    "jwt_login_url",
    "logout_url",
    "revoke_url",
];

/// Where the token is kept.
#[derive(Clone, Debug)]
pub enum StoreLocation {
    /// The CLI's file store and its key file.
    File { path: PathBuf, key_file: PathBuf },
    /// A `token_store` the config file gives (e.g. Redis): passed to the engine as is.
    Configured(Value),
}

impl StoreLocation {
    /// For people: where the token is, without any key or password.
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::File { path, .. } => path.display().to_string(),
            StoreLocation::Configured(v) => match (v["path"].as_str(), v["redis"].as_str()) {
                (Some(p), _) => p.to_string(),
                (None, Some(_)) => "a Redis store (from the config file)".to_string(),
                _ => "the config file's token_store".to_string(),
            },
        }
    }

    /// The engine's `token_store` value.
    pub fn to_config(&self) -> Value {
        match self {
            StoreLocation::File { path, key_file } => serde_json::json!({
                "path": path.to_string_lossy(),
                "key_file": key_file.to_string_lossy(),
            }),
            StoreLocation::Configured(v) => v.clone(),
        }
    }
}

/// Everything a command needs to build its client.
#[derive(Debug)]
pub struct Settings {
    /// The engine's config JSON, without `token_store` (added where the client is built).
    pub engine: Map<String, Value>,
    pub store: StoreLocation,
}

/// The user's directories (XDG on Linux, Application Support on macOS, AppData on Windows).
fn project_dirs() -> Result<ProjectDirs, CliError> {
    ProjectDirs::from("", "", "webex-auth")
        .ok_or_else(|| CliError::usage("no home directory: pass --config, --store and --key-file"))
}

pub fn default_config_file() -> Result<PathBuf, CliError> {
    Ok(project_dirs()?.config_dir().join("config.json"))
}

/// The config file's JSON object: `--config` must exist; the default may be absent.
pub fn read_config_file(global: &Global) -> Result<Map<String, Value>, CliError> {
    let (path, explicit) = match &global.config {
        Some(p) => (p.clone(), true),
        None => (default_config_file()?, false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(Map::new()),
        Err(e) => return Err(CliError::usage(format!("cannot read the config file {}: {e}", path.display()))),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(CliError::usage(format!("the config file {} must hold a JSON object", path.display()))),
        // serde_json's message names the line and column, never the content.
        Err(e) => Err(CliError::usage(format!("the config file {} is not valid JSON: {e}", path.display()))),
    }
}

/// The settings of a command. `emulator`: the in-process emulator's client and URLs.
pub fn resolve(global: &Global, emulator: Option<Map<String, Value>>) -> Result<Settings, CliError> {
    let mut engine = read_config_file(global)?;
    let configured_store = engine.remove("token_store");
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            engine.insert(key.to_string(), Value::String(v.clone()));
        }
    };
    // Secrets come from the environment or the file only: a flag shows in `ps`.
    set("client_secret", &std::env::var("WEBEX_CLIENT_SECRET").ok());
    set("client_id", &global.client_id);
    set("webex_api_url", &global.api_url);
    set("idbroker_url", &global.idbroker_url);
    set("scope", &global.scope);

    let store = if let Some(emu) = emulator {
        for key in SERVER_KEYS {
            engine.remove(key);
        }
        engine.extend(emu);
        file_store(global, "emulator-token.store")?
    } else {
        if !engine.contains_key("client_id") {
            let file = global.config.clone().map(Ok).unwrap_or_else(default_config_file)?;
            return Err(CliError::usage(format!(
                "no client id: pass --client-id, set WEBEX_CLIENT_ID or put \"client_id\" in {} \
                 (or try --emulator)",
                file.display()
            )));
        }
        match configured_store {
            Some(v) if global.store.is_none() && global.key_file.is_none() => StoreLocation::Configured(v),
            _ => file_store(global, "token.store")?,
        }
    };
    Ok(Settings { engine, store })
}

fn file_store(global: &Global, default_name: &str) -> Result<StoreLocation, CliError> {
    let path = match &global.store {
        Some(p) => p.clone(),
        None => project_dirs()?.data_dir().join(default_name),
    };
    let key_file = match &global.key_file {
        Some(k) => k.clone(),
        None => path.parent().unwrap_or(Path::new(".")).join("token.key"),
    };
    Ok(StoreLocation::File { path, key_file })
}

/// The config file's guest issuer values, for `jwt` (flags and environment win).
pub fn guest_from_file(global: &Global) -> Result<(Option<String>, Option<String>), CliError> {
    let file = read_config_file(global)?;
    let get = |k: &str| file.get(k).and_then(Value::as_str).map(str::to_string);
    Ok((get("guest_issuer"), get("guest_secret")))
}
