//! Pending logins as a shared store keeps them, and the table that holds them:
//! `PendingLogin::{to_record, from_record, matches}`, `PendingLogins::{insert, find,
//! remove}`; and the messages of `protocol::json::from_str` (reached through
//! `LoginOptions::from_json` and `token::parse_saved_token`, its public readers that add
//! no words of their own about values).
//!
//! One input is used three ways: as the bytes of a stored record; as the source of
//! generated logins and a sequence of table operations; as the JSON text of options.
//!
//! Invariants: nothing panics; a record that reads is read back the same after being
//! written again; a record that does not read says only that (StateMismatch, no
//! content); `from_record(to_record(l)) == l` for every generated login, floats in the
//! app's state exactly; `matches` holds exactly for the login's own CSRF token before its
//! expiry; the table behaves as documented (a full table first drops expired logins,
//! then the oldest; it never holds more than `max(max, 1)`; `find` gives the newest
//! login with the token, and only before it expires; `remove` gives that login, None
//! past the end); a JSON error message repeats no value of the input (the check is
//! `messages::assert_no_value_in_message`).
#![no_main]

#[path = "common/messages.rs"]
mod messages;

use std::collections::VecDeque;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};
use webex_auth::Status;
use webex_auth::protocol::authorize::LoginOptions;
use webex_auth::protocol::state::{DEFAULT_MAX_PENDING_LOGINS, PendingLogin, PendingLogins};
use webex_auth::protocol::token;
use zeroize::Zeroizing;

const NOW: i64 = 1_750_000_000_000;

fn same(a: &PendingLogin, b: &PendingLogin) -> bool {
    a.csrf_token.as_str() == b.csrf_token.as_str()
        && a.code_verifier.as_str() == b.code_verifier.as_str()
        && a.app_state == b.app_state
        && a.redirect_uri == b.redirect_uri
        && a.nonce.as_deref() == b.nonce.as_deref()
        && a.created_at == b.created_at
        && a.expires_at == b.expires_at
}

fn describe(l: &PendingLogin) -> String {
    // The fuzzer's own values: printing them here is fine (PendingLogin's Debug hides them).
    format!(
        "csrf {:?} verifier {:?} state {:?} uri {:?} nonce {:?} created {} expires {}",
        l.csrf_token.as_str(),
        l.code_verifier.as_str(),
        l.app_state,
        l.redirect_uri,
        l.nonce.as_deref(),
        l.created_at,
        l.expires_at
    )
}

fn check_round_trip(l: &PendingLogin) {
    let rec = l.to_record();
    let back = PendingLogin::from_record(&rec)
        .unwrap_or_else(|e| panic!("to_record output does not read back ({e}): {}", describe(l)));
    assert!(same(&back, l), "from_record(to_record(l)) != l:\n  {}\n  {}", describe(l), describe(&back));
    assert_eq!(&back.to_record()[..], &rec[..], "writing a record again changes its bytes");
}

fn check_record_bytes(data: &[u8]) {
    match PendingLogin::from_record(data) {
        Ok(l) => check_round_trip(&l),
        Err(e) => {
            assert_eq!(e.status(), Status::StateMismatch);
            assert_eq!(e.message(), "the stored pending login is not readable", "the message must hold no content");
        }
    }
}

fn string(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 2)? { Ok((*u.choose(&["a", "b", "csrf-1", "", "ü\u{0}\"\\"])?).to_owned()) } else { u.arbitrary() }
}

fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=if depth == 0 { 4 } else { 6 })? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => {
            if u.ratio(1, 2)? {
                Value::from(u.arbitrary::<i64>()?)
            } else {
                Value::from(u.arbitrary::<u64>()?)
            }
        }
        // Non-finite floats have no JSON form: Null, as serde_json makes them.
        3 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 => Value::String(string(u)?),
        5 => Value::Array((0..u.int_in_range(0..=3)?).map(|_| value(u, depth - 1)).collect::<Result<_>>()?),
        _ => Value::Object(map(u, depth - 1)?),
    })
}

fn map(u: &mut Unstructured<'_>, depth: u32) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    for _ in 0..u.int_in_range(0..=4)? {
        m.insert(string(u)?, value(u, depth)?);
    }
    Ok(m)
}

fn time(u: &mut Unstructured<'_>) -> Result<i64> {
    if u.ratio(3, 4)? { Ok(NOW + u.int_in_range(-5..=5)? * 100_000) } else { u.arbitrary() }
}

fn login(u: &mut Unstructured<'_>, csrfs: &[String]) -> Result<PendingLogin> {
    let csrf = if !csrfs.is_empty() && u.ratio(1, 3)? { u.choose(csrfs)?.clone() } else { string(u)? };
    Ok(PendingLogin {
        csrf_token: Zeroizing::new(csrf),
        code_verifier: Zeroizing::new(string(u)?),
        app_state: map(u, 2)?,
        redirect_uri: string(u)?,
        nonce: if u.arbitrary()? { Some(Zeroizing::new(string(u)?)) } else { None },
        created_at: time(u)?,
        expires_at: time(u)?,
    })
}

/// The table as documented, by (csrf, expires_at).
#[derive(Default)]
struct Model(VecDeque<(String, i64)>);

impl Model {
    fn insert(&mut self, csrf: &str, expires_at: i64, now: i64, max: usize) {
        if self.0.len() >= max {
            self.0.retain(|(_, e)| *e > now);
        }
        while self.0.len() >= max.max(1) {
            self.0.pop_front();
        }
        self.0.push_back((csrf.to_owned(), expires_at));
    }

    /// The newest entry with this token, if it has not expired.
    fn find(&self, csrf: &str, now: i64) -> Option<usize> {
        let i = self.0.iter().rposition(|(c, _)| c == csrf)?;
        (self.0[i].1 > now).then_some(i)
    }
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let mut table = PendingLogins::default();
    let mut model = Model::default();
    let mut csrfs: Vec<String> = Vec::new();
    for _ in 0..32 {
        if u.is_empty() {
            break;
        }
        match u.int_in_range(0..=3)? {
            0 | 1 => {
                let l = login(u, &csrfs)?;
                check_round_trip(&l);
                let probe = if u.ratio(1, 2)? { l.csrf_token.to_string() } else { string(u)? };
                let now = time(u)?;
                let ok = probe == l.csrf_token.as_str() && l.expires_at > now;
                match l.matches(&probe, now) {
                    Ok(()) => assert!(ok, "matches({probe:?}, {now}) on {}", describe(&l)),
                    Err(e) => {
                        assert!(!ok, "matches({probe:?}, {now}) refused {}", describe(&l));
                        assert_eq!(e.status(), Status::StateMismatch);
                    }
                }
                let max = *u.choose(&[0usize, 1, 2, 3, 8, DEFAULT_MAX_PENDING_LOGINS])?;
                let now = time(u)?;
                model.insert(&l.csrf_token, l.expires_at, now, max);
                csrfs.push(l.csrf_token.to_string());
                table.insert(l, now, max);
                assert!(table.len() <= max.max(1), "{} logins in a table of {max}", table.len());
                assert_eq!(table.len(), model.0.len(), "insert kept the wrong logins (max {max}, now {now})");
            }
            2 => {
                let csrf = if !csrfs.is_empty() && u.ratio(3, 4)? { u.choose(&csrfs)?.clone() } else { string(u)? };
                let now = time(u)?;
                let found = table.find(&csrf, now);
                assert_eq!(found.as_ref().ok().copied(), model.find(&csrf, now), "find({csrf:?}, {now})");
                if let Err(e) = found {
                    assert_eq!(e.status(), Status::StateMismatch);
                }
            }
            _ => {
                let i = u.int_in_range(0..=table.len())?;
                let got = table.remove(i);
                let want = model.0.remove(i);
                assert_eq!(got.is_some(), want.is_some(), "remove({i})");
                if let (Some(g), Some((c, e))) = (got, want) {
                    assert_eq!((g.csrf_token.as_str(), g.expires_at), (c.as_str(), e), "remove({i}) gave another login");
                }
            }
        }
        assert_eq!(table.is_empty(), model.0.is_empty());
    }
    Ok(())
}

fn check_json_messages(text: &str) {
    if let Err(e) = LoginOptions::from_json(text) {
        messages::assert_no_value_in_message(e.message(), text, &[]);
    }
    if let Err(e) = token::parse_saved_token(text, NOW) {
        messages::assert_no_value_in_message(e.message(), text, &[]);
    }
}

fuzz_target!(|data: &[u8]| {
    check_record_bytes(data);
    let _ = run(&mut Unstructured::new(data));
    if let Ok(text) = std::str::from_utf8(data) {
        check_json_messages(text);
    }
});
