//! Memory per Client: a service holding one Client per user must fit 100,000 of them
//! (target: a few KiB each). Creates N clients with a token each and reports the RSS
//! growth per client, next to the same count of bare 1 KiB heap blocks for scale.

use std::sync::Arc;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    let n: usize = std::env::var("CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let config = r#"{"client_id":"C0123456789","client_secret":"s3cret","redirect_uri":"https://app.example.com/cb","refresh_before_expiry_s":0}"#;
    let token = r#"{"access_token":"ZmFrZS1hY2Nlc3MtdG9rZW4tZm9yLWEtbWVtb3J5LW1lYXN1cmVtZW50","token_type":"Bearer","expires_in":3600,"refresh_token":"ZmFrZS1yZWZyZXNoLXRva2Vu","scope":"spark:all"}"#;
    let sink: webex_auth::EventSink = Arc::new(|_, _, _| {});
    // Warm up the runtime and allocator so their one-time cost is not counted.
    drop(webex_auth::Client::new(config, Some(sink.clone())).unwrap());

    let before = rss_bytes();
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let c = webex_auth::Client::new(config, Some(sink.clone())).unwrap();
            c.set_token(token).unwrap();
            c
        })
        .collect();
    let after = rss_bytes();
    let per_client = (after.saturating_sub(before)) as f64 / n as f64;

    let before_blocks = rss_bytes();
    let blocks: Vec<Vec<u8>> = (0..n).map(|_| vec![1u8; 1024]).collect();
    let per_block = (rss_bytes().saturating_sub(before_blocks)) as f64 / n as f64;

    println!("clients: {n}");
    println!("RSS per Client (config + token): {:.0} bytes ({:.2} KiB)", per_client, per_client / 1024.0);
    println!("RSS per 1 KiB heap block:        {:.0} bytes", per_block);
    println!("ratio Client / 1 KiB block:      {:.2}x", per_client / per_block);
    drop(blocks);
    let t = std::time::Instant::now();
    drop(clients);
    println!("closing {n} clients took {:?}", t.elapsed());
}
