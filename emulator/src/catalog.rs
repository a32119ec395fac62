//! U2C, the service catalog the Webex SDK reads before anything else:
//! `/u2c/api/v1/{limited/catalog, catalog, signin/catalog}` in the `format=hostmap`
//! shape, every service on the emulator's own base URL.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::cloud::Cloud;
use crate::handler::{self, Answer};
use crate::reply;
use crate::script::Recorded;
use crate::session;
use crate::state::Shared;

pub(crate) const U2C_PATH: &str = "/u2c/api/v1";
/// Where the oauth-helper service lives on the emulator; the SDK finds it only
/// through the catalog, so the path is the emulator's choice.
pub(crate) const OAUTH_HELPER_PATH: &str = "/helperservice/v1";

/// The services and their URLs, as `serviceLinks` lists them (`base_url` is the
/// cloud's base: the emulator's, or its `/fedramp`). `hydra` ends in `/v1/`
/// and `idbroker` is the base under which `/idb/oauth2/v1/*` answers: the SDK builds
/// its token and authorize URLs from it after every catalog fetch.
pub(crate) fn service_links(base_url: &str) -> Map<String, Value> {
    let mut links = Map::new();
    links.insert("idbroker".into(), json!(format!("{base_url}/")));
    links.insert("identity".into(), json!(format!("{base_url}/")));
    links.insert("hydra".into(), json!(format!("{base_url}/v1/")));
    links.insert("oauth-helper".into(), json!(format!("{base_url}{OAUTH_HELPER_PATH}")));
    links.insert("u2c".into(), json!(format!("{base_url}{U2C_PATH}")));
    links
}

/// `{"serviceLinks", "hostCatalog", "format": "hostmap", ...}`.
///
/// The host catalog is keyed by the bare host name, as U2C keys it, while the SDK
/// looks hosts up by `host:port`: with a port in the base URL the lookups miss and
/// the SDK uses `serviceLinks` as they are. A hit would make it rewrite every
/// request's host to the entry's `host`, which drops the port (hostmap interceptor).
fn hostmap(base_url: &str, org_id: &str) -> Value {
    let links = service_links(base_url);
    let host = url::Url::parse(base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let entries: Vec<Value> = links
        .keys()
        .map(|name| json!({"host": host, "ttl": -1, "priority": 5, "id": format!("urn:TEAM:emulator_a:{name}")}))
        .collect();
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    json!({
        "serviceLinks": links,
        "hostCatalog": {host: entries},
        "format": "hostmap",
        "orgId": org_id,
        "timestamp": timestamp.to_string(),
    })
}

/// The keys that pick a preauth catalog; the SDK sends exactly one.
const PREAUTH_KEYS: [&str; 5] = ["mode", "emailhash", "orgId", "email", "userId"];

pub(crate) fn catalog(shared: &Shared, req: &Recorded) -> Answer {
    handler::method(req, &["GET"])?;
    let store = shared.lock();
    let org_id = store.config.org_id.clone();
    let cloud = Cloud::of_path(&req.path);
    let cloud_base = cloud.base(&shared.base_url);
    let path =
        req.path.strip_prefix(crate::cloud::FEDRAMP_PREFIX).filter(|_| cloud == Cloud::FedRamp).unwrap_or(&req.path);
    let suffix = path.strip_prefix(U2C_PATH).unwrap_or(path);
    match suffix {
        // Before sign-in: no credentials, a selector in the query.
        "/limited/catalog" => {
            if !PREAUTH_KEYS.iter().any(|k| req.query_value(k).is_some()) {
                return Err(reply::webex_error(400, "one of mode, emailhash, orgId, email or userId is required"));
            }
        }
        // After sign-in: any valid access token, the guest tokens of jwt/login included.
        "/catalog" => {
            session::bearer(&store, req)?;
        }
        // The SDK's user validation: a client-credentials token and the user's email hash.
        "/signin/catalog" => {
            session::bearer(&store, req)?;
            if req.query_value("emailhash").is_none() && req.query_value("email").is_none() {
                return Err(reply::webex_error(400, "emailhash is required"));
            }
        }
        _ => return Err(reply::webex_error(404, "no such catalog")),
    }
    drop(store);
    // FedRAMP's catalog lists FedRAMP's services.
    Ok(reply::json(200, hostmap(&cloud_base, &org_id)))
}
