//! Engine overhead, as ratios against a comparison run in the same process:
//! - `initiate_login` through the C ABI (target: under 10 µs);
//! - a code exchange through the engine (op + wait) next to a raw hyper POST of the
//!   same form to the same in-process emulator endpoint (target: within 1.10x).
//!
//! The side-by-side against libcurl and OpenSSL is scripts/bench.sh (BENCHMARKS.md).
//!
//! Both exchange routines get a fresh code from the emulator in untimed setup.

use std::ffi::{CString, c_char};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use webex_auth::ffi::*;
use webex_auth_emulator::{Emulator, EmulatorConfig};

const REDIRECT: &str = "http://127.0.0.1/callback";

fn config(emu: &Emulator) -> String {
    format!(
        r#"{{"client_id":"test-client","client_secret":"test-secret","redirect_uri":"{REDIRECT}","webex_api_url":"{}","idbroker_url":"{}","refresh_before_expiry_s":0}}"#,
        emu.api_url(),
        emu.idbroker_url()
    )
}

type Http = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

fn http_client() -> Http {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new())
}

fn request(method: &str, url: &str, body: &str) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut r = http::Request::new(http_body_util::Full::new(bytes::Bytes::from(body.to_owned())));
    *r.method_mut() = method.parse().unwrap();
    *r.uri_mut() = url.parse().unwrap();
    r
}

/// A fresh authorization code, as the browser would bring it back (no PKCE).
async fn new_code(http: &Http, emu: &Emulator) -> String {
    let url = format!(
        "{}/authorize?response_type=code&client_id=test-client&redirect_uri={REDIRECT}&scope=spark:all&state=x",
        emu.api_url()
    );
    let resp = http.request(request("GET", &url, "")).await.expect("authorize");
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let u = url::Url::parse(&loc).unwrap();
    u.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
}

/// The code exchange as a plain hyper POST: the baseline the engine is measured against.
async fn raw_exchange(http: &Http, token_url: &str, code: &str) -> bool {
    use base64::Engine as _;
    use http_body_util::BodyExt as _;
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("self_contained_token", "true")
        .finish();
    let mut req = request("POST", token_url, &form);
    let basic = base64::engine::general_purpose::STANDARD.encode("test-client:test-secret");
    req.headers_mut().insert("authorization", format!("Basic {basic}").parse().unwrap());
    req.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    let resp = http.request(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["access_token"].is_string()
}

fn bench(c: &mut Criterion) {
    let emu = Emulator::start(EmulatorConfig::default());
    let cfg = CString::new(config(&emu)).unwrap();
    let mut client = std::ptr::null_mut();
    assert_eq!(wxa_init(cfg.as_ptr(), None, std::ptr::null_mut(), &mut client), WXA_OK);

    c.bench_function("initiate_login (C ABI)", |b| {
        let opts = CString::new(r#"{"email":"user@example.com","state":{"page":"/home"}}"#).unwrap();
        b.iter(|| {
            let mut url: *mut c_char = std::ptr::null_mut();
            assert_eq!(wxa_initiate_login(client, opts.as_ptr(), &mut url), WXA_OK);
            wxa_string_free(url);
        })
    });

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = rt.block_on(async { http_client() });
    let token_url = format!("{}/access_token", emu.api_url());
    let mut group = c.benchmark_group("code exchange");
    group.measurement_time(Duration::from_secs(8));

    group.bench_function("raw hyper POST", |b| {
        b.iter_batched(
            || rt.block_on(new_code(&http, &emu)),
            |code| {
                assert!(rt.block_on(raw_exchange(&http, &token_url, &code)));
            },
            BatchSize::SmallInput,
        )
    });

    // The same POST handed to a multi-thread runtime and awaited from the calling thread,
    // as any asynchronous C API must: separates the thread handoff from engine overhead.
    // As many workers as the engine's runtime (one by default).
    let mt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let http_mt = mt.block_on(async { http_client() });
    group.bench_function("raw hyper POST on a runtime + wait", |b| {
        b.iter_batched(
            || rt.block_on(new_code(&http, &emu)),
            |code| {
                let (tx, rx) = std::sync::mpsc::channel();
                let (http, url) = (http_mt.clone(), token_url.clone());
                mt.spawn(async move { tx.send(raw_exchange(&http, &url, &code).await).unwrap() });
                assert!(rx.recv().unwrap());
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("engine exchange_code + wait (C ABI)", |b| {
        b.iter_batched(
            || CString::new(rt.block_on(new_code(&http, &emu))).unwrap(),
            |code| {
                let mut op = 0;
                assert_eq!(wxa_exchange_code(client, code.as_ptr(), std::ptr::null(), &mut op), WXA_OK);
                let mut result: *mut c_char = std::ptr::null_mut();
                assert_eq!(wxa_wait(client, op, 10_000, &mut result), WXA_OK);
                let ok = unsafe { std::ffi::CStr::from_ptr(result) }.to_bytes().starts_with(b"{\"ok\":true");
                wxa_string_free(result);
                assert!(ok);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    wxa_free(client);
}

criterion_group!(benches, bench);
criterion_main!(benches);
