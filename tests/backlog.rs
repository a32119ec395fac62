//! Issue #10 item 7: the event backlog of one client behind a blocked callback is bounded
//! in memory. Its own test binary: it measures the process's resident memory, which
//! other tests running beside it would disturb.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn fifty_thousand_token_changes_behind_a_blocked_callback_stay_within_a_few_mib() {
    let emu = emulator();
    let gate = Arc::new(Gate::default());
    let rec = Recorder::new();
    let sink = gated_sink(&gate, &rec);
    let client = Client::new(&confidential(&emu).to_string(), Some(sink)).unwrap();
    // After the client: dropped first, so a failing assertion opens the gate before the
    // client's close waits for its callback.
    let _open_at_the_end = OpenOnDrop(gate.clone());
    // Tokens as long as real Webex ones (a few hundred bytes each, access + refresh).
    let token = |i: usize| {
        json!({"access_token": format!("{i:08}{}", "a".repeat(400)), "refresh_token": format!("{i:08}{}", "r".repeat(400)),
               "expires_in": 3600})
        .to_string()
    };
    // Warm up: the first event is in the callback, allocator arenas exist.
    for i in 0..2_000 {
        client.set_token(&token(i)).unwrap();
    }
    let before = rss_bytes();
    let mut ops = Vec::new();
    for i in 0..50_000 {
        client.set_token(&token(i)).unwrap();
        // An operation per change: its done (which carries the token) is never dropped.
        if i % 5 == 0 {
            let op = client.get_valid_token(0).unwrap();
            // Ended (its result is readable while the callback is blocked).
            wait_result(&client, op);
            ops.push(op);
        }
    }
    let grown = rss_bytes().saturating_sub(before);
    eprintln!(
        "RSS grew {} KiB for 50,000 token changes and {} operations behind a blocked callback",
        grown / 1024,
        ops.len()
    );
    assert!(grown < 6 << 20, "the backlog grew RSS by {} KiB", grown / 1024);

    gate.open();
    let last_op = *ops.last().unwrap();
    rec.wait_for_op("done", last_op, Duration::from_secs(60));
    rec.wait_until("the latest token arrives", Duration::from_secs(60), |evs| {
        evs.iter()
            .rev()
            .find(|e| e.name == "token:refresh")
            .is_some_and(|e| e.payload["access_token"].as_str().unwrap().starts_with("00049999"))
    });
    // No done is ever dropped; superseded ones come without the token.
    let dones = rec.events().into_iter().filter(|e| e.name == "done").collect::<Vec<_>>();
    assert_eq!(dones.len(), ops.len());
    assert!(dones.iter().filter(|d| d.payload.get("access_token").is_some()).count() <= 1);
    client.close();
}
