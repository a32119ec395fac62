//! Shared by the targets that read JSON: an error message must not repeat a value of the
//! input (a value may be a secret). `protocol::json::from_str` promises this for the
//! messages it makes; `decode_secret` and `jwt::create` for the secret.
//!
//! The check has to be safe against false alarms: a message legitimately holds the
//! input's keys (`login options \`state.a\`: ...`, `unknown field \`x\``), serde's and the
//! library's fixed wording, and punctuation. So a value counts as repeated only where a
//! window of it occurs in the message at a place that none of those explain, byte for
//! byte. The check is weaker for inputs whose keys are single letters, never wrong.
#![allow(dead_code)]

/// How long a piece of a value must be to count as repeated.
const WINDOW: usize = 12;
/// Values shorter than this are not checked (`"a"` is in every message).
const MIN_VALUE: usize = 8;

/// The fixed wording messages are made of: serde_json's syntax errors, serde's derive
/// errors without their values, the library's own sentences for the readers fuzzed here.
const VOCABULARY: &[&str] = &[
    "EOF while parsing a list",
    "EOF while parsing an object",
    "EOF while parsing a string",
    "EOF while parsing a value",
    "expected `:`",
    "expected `,` or `]`",
    "expected `,` or `}`",
    "expected ident",
    "expected value",
    "expected `\"`",
    "invalid escape",
    "invalid number",
    "number out of range",
    "invalid unicode code point",
    "control character (\\u0000-\\u001F) found while parsing a string",
    "key must be a string",
    "float key must be finite (got NaN or +/-inf)",
    "lone leading surrogate in hex escape",
    "trailing comma",
    "trailing characters",
    "unexpected end of hex escape",
    "recursion limit exceeded",
    "unexpected text after the JSON value",
    "invalid type, expected ",
    "invalid value, expected ",
    "invalid length, expected ",
    "unknown variant, expected ",
    "missing field ",
    "duplicate field ",
    "unknown field ",
    ", expected one of ",
    ", there are no fields",
    "a string",
    "a map",
    "a sequence",
    "an object",
    "any valid JSON value",
    "struct LoginOptions",
    "struct JwtOptions",
    "struct PendingRecord",
    "option",
    "i64",
    "login options",
    "login options: state may not carry csrf_token or emailhash",
    "token JSON",
    "token JSON must be an object",
    "token JSON: `access_token` is required",
    "has the wrong type or range",
    "JWT options",
    "`secret` is empty",
    "`secret` is not valid base64 (standard or URL-safe alphabet)",
    "`secret` decodes to ",
    " bytes; an HS256 key needs at least 32 (RFC 7518 §3.2)",
    "`secret` is required",
    "`issuer` is required",
    "`issuer` is empty",
    "`subject` is empty",
    "`display_name` is empty",
    "`expires_in` is required (seconds or \"12h\")",
    "the stored pending login is not readable",
    "email",
    "state",
    "scope",
    "prompt",
    "login_hint",
    "issuer",
    "secret",
    "subject",
    "display_name",
    "expires_in",
    "csrf",
    "verifier",
    "redirect_uri",
    "nonce",
    "created_at",
    "expires_at",
    "`",
    ".",
    ":",
    " ",
    ",",
    "[",
    "]",
    "(",
    ")",
    "\"",
];

/// The input's JSON strings and numbers, read lexically (the input need not parse):
/// (keys, values). Strings come both as written and unescaped. A string is a key when a
/// `:` follows it, or when it stands where an object's key stands (serde reads, and may
/// name, a key before it sees the colon: `{"x"` gives "unknown field `x`").
pub fn tokens(input: &str) -> (Vec<String>, Vec<String>) {
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    let b = input.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut prev = 0u8;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(b.len());
                let raw = &input[start..end.max(start)];
                let mut forms = vec![raw.to_owned()];
                if let Ok(s) = serde_json::from_str::<String>(&format!("\"{raw}\"")) {
                    if s != raw {
                        forms.push(s);
                    }
                }
                let mut k = end + 1;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                let key_place = stack.last() == Some(&b'{') && matches!(prev, b'{' | b',');
                if key_place || (k < b.len() && b[k] == b':') { keys.extend(forms) } else { values.extend(forms) }
                prev = b'"';
                i = end + 1;
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = i;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                let raw = &input[start..i];
                values.push(raw.to_owned());
                // serde quotes numbers as it read them: `integer \`42\``, `floating point \`1.5\``.
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) {
                    values.push(v.to_string());
                }
                prev = b'0';
            }
            c => {
                match c {
                    b'{' | b'[' => stack.push(c),
                    b'}' | b']' => {
                        stack.pop();
                    }
                    _ => {}
                }
                if !c.is_ascii_whitespace() {
                    prev = c;
                }
                i += 1;
            }
        }
    }
    (keys, values)
}

/// True when every byte of `message[at..at + len]` lies inside an occurrence of one of
/// `allowed` in the message.
fn explained(message: &str, at: usize, len: usize, allowed: &[&str]) -> bool {
    let mut covered = vec![false; len];
    for p in allowed.iter().filter(|p| !p.is_empty()) {
        for (pos, _) in message.match_indices(p) {
            let (s, e) = (pos.max(at), (pos + p.len()).min(at + len));
            for c in covered.iter_mut().take(e.saturating_sub(at)).skip(s.saturating_sub(at)) {
                *c = true;
            }
        }
    }
    covered.iter().all(|&c| c)
}

/// The pieces of `value` that must not appear in a message.
fn windows(value: &str) -> Vec<&str> {
    let idx: Vec<usize> = value.char_indices().map(|(i, _)| i).chain([value.len()]).collect();
    let n = idx.len() - 1;
    if n < MIN_VALUE {
        return Vec::new();
    }
    let w = n.min(WINDOW);
    (0..=n - w).map(|s| &value[idx[s]..idx[s + w]]).collect()
}

/// Whether `w` shares a piece of 4 characters with one of `sources`.
fn shares_text(w: &str, sources: &[String]) -> bool {
    let idx: Vec<usize> = w.char_indices().map(|(i, _)| i).chain([w.len()]).collect();
    let n = idx.len() - 1;
    (0..n.saturating_sub(3)).any(|s| {
        let piece = &w[idx[s]..idx[s + 4]];
        sources.iter().any(|src| src.contains(piece))
    })
}

/// Panics when a window of `value` occurs in `message` where `allowed` does not explain
/// it byte for byte, unless the window shares text with one of `sources` (other text of
/// the input, which the message may quote in pieces: `expires_in` has an unknown unit
/// "h\"x"` quotes part of one value, escaped, next to the library's own words).
fn check(message: &str, value: &str, allowed: &[&str], sources: &[String], why: &str) {
    for w in windows(value) {
        if shares_text(w, sources) {
            continue;
        }
        for (at, _) in message.match_indices(w) {
            if !explained(message, at, w.len(), allowed) {
                panic!("{why}: the message {message:?} repeats {w:?}, a piece of the value {value:?}");
            }
        }
    }
}

/// `message` (an error about `input`) repeats no value of the input. `extra` is wording
/// the caller knows the message may hold.
pub fn assert_no_value_in_message(message: &str, input: &str, extra: &[&str]) {
    let (keys, values) = tokens(input);
    if values.is_empty() {
        return;
    }
    let mut allowed: Vec<&str> = VOCABULARY.to_vec();
    allowed.extend(keys.iter().map(String::as_str));
    allowed.extend_from_slice(extra);
    for v in &values {
        check(message, v, &allowed, &[], "a JSON error message repeats a value");
    }
}

/// `message` does not repeat `secret`. `others` is the rest of the input, which the
/// message may quote (as written, lower-cased, escaped as Rust's Debug does), and which
/// may hold the same text.
pub fn assert_not_repeated(message: &str, secret: &str, others: &[String]) {
    let mut sources = Vec::new();
    for o in others {
        for t in [o.clone(), o.to_lowercase(), o.to_ascii_lowercase()] {
            let debug = format!("{t:?}");
            sources.push(debug[1..debug.len() - 1].to_owned());
            sources.push(t);
        }
    }
    check(message, secret, VOCABULARY, &sources, "an error message repeats the secret");
}
