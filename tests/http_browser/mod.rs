//! A real HTTP client (hyper, through hyper-util's client) playing the browser of a
//! loopback login: it opens the authorize URL (the emulator answers non-browser clients
//! with the redirect at once), and follows the redirect to
//! `http://127.0.0.1:PORT/callback` by hand, so each hop can be checked.
#![allow(dead_code)]

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// One answer: status, `Location` (if any), `Content-Type` and body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

/// GETs `url` without following redirects. `Err` when no connection could be made.
pub fn get(url: &str) -> Result<Page, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
        let req = http::Request::get(url)
            .header("accept", "*/*")
            .header("user-agent", "webex-auth-tests")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .map_err(|_| "no answer within 10 s".to_owned())?
            .map_err(|e| format!("{e:?}"))?;
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (location, content_type) = (header("location"), header("content-type"));
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.map_err(|e| format!("{e:?}"))?.to_bytes();
        Ok(Page { status, location, content_type, body: String::from_utf8_lossy(&body).into_owned() })
    })
}

/// Opens the authorize URL and returns the redirect it answers with (the loopback
/// callback URL carrying the code and state).
pub fn authorize(url: &str) -> String {
    let page = get(url).expect("the authorize endpoint answers");
    assert!(matches!(page.status, 302 | 303), "authorize answered {}: {}", page.status, page.body);
    page.location.expect("authorize redirects")
}

/// The whole browser side of a loopback login: authorize, then the callback page.
pub fn sign_in(url: &str) -> Page {
    let callback = authorize(url);
    assert!(callback.starts_with("http://127.0.0.1:"), "the redirect goes to the loopback listener: {callback}");
    get(&callback).expect("the loopback listener answers")
}
