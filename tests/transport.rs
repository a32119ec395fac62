//! Issue #10 item 11: no proxy ever sees a loopback request; `proxy` and `ca_file` config
//! keys. One test function in its own binary: it sets the process's proxy environment
//! before any HTTP client exists, which would disturb tests running beside it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;
use webex_auth::Status;

/// A fake HTTP proxy on loopback: records each request line, answers 502.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start() -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut line = String::new();
                let _ = BufReader::new(conn.try_clone().unwrap()).read_line(&mut line);
                log.lock().unwrap().push(line.trim().to_string());
                let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        FakeProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// A TLS token endpoint on loopback whose certificate chains to a private CA.
struct TlsTokenServer {
    port: u16,
    ca_pem: String,
}

impl TlsTokenServer {
    fn start() -> TlsTokenServer {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "webex-auth test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(tcp) = conn else { return };
                let config = config.clone();
                std::thread::spawn(move || serve_tls(tcp, config));
            }
        });
        TlsTokenServer { port, ca_pem: ca.pem() }
    }
}

fn serve_tls(tcp: TcpStream, config: Arc<rustls::ServerConfig>) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the headers and the body (Content-Length), then answer one token.
    loop {
        let Ok(n) = tls.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0usize);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    let body = r#"{"access_token":"TLS-TOKEN","token_type":"Bearer","expires_in":3600}"#;
    let resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(resp.as_bytes());
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn client_credentials(cfg: &serde_json::Value) -> serde_json::Value {
    let client = new_client_no_sink(cfg);
    wait_result(&client, client.client_credentials().unwrap())
}

#[test]
fn proxies_never_see_loopback_and_are_explicit_and_extra_roots_are_trusted() {
    let system_proxy = FakeProxy::start();
    // SAFETY (test process): set before any HTTP client of this process exists; the only
    // test of this binary.
    unsafe {
        for k in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
            std::env::set_var(k, &system_proxy.url);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let emu = emulator();

    // 1. Loopback: straight to the emulator, whatever the system proxy says.
    assert_ok(&client_credentials(&confidential(&emu)));
    assert_eq!(emu.requests(Endpoint::Token).len(), 1);
    assert!(system_proxy.seen().is_empty(), "the proxy saw a loopback request: {:?}", system_proxy.seen());
    let explicit = FakeProxy::start();
    assert_ok(&client_credentials(&with(confidential(&emu), json!({"proxy": explicit.url}))));
    assert!(explicit.seen().is_empty(), "an explicit proxy saw a loopback request");

    // 2. Elsewhere: the system proxy by default, the configured one when set, none with "none".
    let remote = |extra: serde_json::Value| {
        with(
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "token_url": "https://api.webex-auth.invalid/v1/access_token", "timeout_ms": 3000, "max_retries": 0}),
            extra,
        )
    };
    let r = client_credentials(&remote(json!({})));
    assert_eq!(r["ok"], false);
    assert_eq!(system_proxy.seen(), vec!["CONNECT api.webex-auth.invalid:443 HTTP/1.1".to_string()]);
    let r = client_credentials(&remote(json!({"proxy": explicit.url})));
    assert_eq!(r["ok"], false);
    assert_eq!(explicit.seen(), vec!["CONNECT api.webex-auth.invalid:443 HTTP/1.1".to_string()]);
    let r = client_credentials(&remote(json!({"proxy": "none"})));
    assert_eq!(r["status"], "WXA_ERR_NETWORK", "a direct connection to a name that does not resolve: {r}");
    assert_eq!(system_proxy.seen().len(), 1, "\"none\" still went through the system proxy");
    assert_eq!(explicit.seen().len(), 1);

    // 3. ca_file: a private CA is refused until it is configured.
    let tls = TlsTokenServer::start();
    let dir = std::env::temp_dir().join(format!("wxa-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, &tls.ca_pem).unwrap();
    let tls_cfg = |extra: serde_json::Value| {
        with(
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "token_url": format!("https://localhost:{}/access_token", tls.port), "timeout_ms": 5000, "max_retries": 0}),
            extra,
        )
    };
    let r = client_credentials(&tls_cfg(json!({})));
    assert_eq!(r["status"], "WXA_ERR_NETWORK", "an unknown CA must fail: {r}");
    let r = client_credentials(&tls_cfg(json!({"ca_file": ca_path.to_str().unwrap()})));
    assert_ok(&r);
    assert_eq!(r["access_token"], "TLS-TOKEN");

    // A ca_file that is missing or holds no certificate is a config error naming the key.
    std::fs::write(dir.join("junk.pem"), "not a certificate").unwrap();
    for bad in [dir.join("missing.pem"), dir.join("junk.pem")] {
        let e = Client::new(&tls_cfg(json!({"ca_file": bad.to_str().unwrap()})).to_string(), None).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("ca_file"), "{}", e.message());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
