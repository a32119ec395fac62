//! Which URLs the engine talks to or hands on: https, or http to a loopback host (the
//! emulator, tests, a native app's own redirect listener).

use url::{Host, Url};

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// https with a host, or http to a loopback host.
pub fn is_secure_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for u in ["http://127.0.0.1:1/x", "http://localhost/x", "http://[::1]/x", "https://127.9.9.9/"] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in ["https://webexapis.com/v1", "http://10.0.0.1/", "https://localhost.example.com/"] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn secure_or_loopback() {
        for ok in ["https://x.example/a", "http://127.0.0.1:8/v", "http://localhost/"] {
            assert!(is_secure_or_loopback(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in ["http://evil.example/", "javascript:alert(1)", "ftp://x.example/", "data:text/html,hi"] {
            assert!(!is_secure_or_loopback(&Url::parse(bad).unwrap()), "{bad}");
        }
    }
}
