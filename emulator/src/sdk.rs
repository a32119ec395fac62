//! The Webex JS SDK's configuration for an emulator: base URLs only, so the SDK's own
//! default paths (and its U2C catalog) lead everywhere else.

use serde_json::{Value, json};

use crate::catalog::U2C_PATH;
use crate::config::{ClientRegistration, EmulatorConfig};

/// The `config` object of `new Webex({config})` for `client`.
pub fn sdk_config(base_url: &str, client: &ClientRegistration) -> Value {
    let mut credentials = json!({
        "client_id": client.client_id,
        "scope": "spark:all",
        "idbroker": {"url": base_url},
        "identity": {"url": base_url},
    });
    if let Some(secret) = &client.client_secret {
        credentials["client_secret"] = json!(secret);
    }
    if let Some(redirect) = client.redirect_uris.first() {
        credentials["redirect_uri"] = json!(redirect);
    }
    json!({
        "credentials": credentials,
        "services": {
            "discovery": {
                "hydra": format!("{base_url}/v1"),
                "u2c": format!("{base_url}{U2C_PATH}"),
            },
        },
    })
}

/// The snippet `--print-sdk-config` prints: a comment naming the guest issuer, then
/// `const webex = new Webex({config: ...});`.
pub fn sdk_snippet(base_url: &str, client: &ClientRegistration, config: &EmulatorConfig) -> String {
    let body = serde_json::to_string_pretty(&sdk_config(base_url, client)).unwrap_or_default();
    let indented = body.replace('\n', "\n  ");
    format!(
        "// The Webex JS SDK against webex-auth-emulator at {base_url}\n\
// Guest issuer for createJwt(): issuer '{issuer}', secretId '{secret}'\n\
const webex = new Webex({{\n  config: {indented},\n}});\n",
        issuer = config.guest_issuer,
        secret = config.guest_secret_b64,
    )
}
