//! Device Authorization (QR login) against the emulator: the polling schedule in real
//! time, denial, expiry, cancel and close, concurrency, malformed answers, and QR codes
//! decoded back with a QR reader.

mod common;

use std::ffi::{CStr, CString, c_char};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use webex_auth::Status;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const FLOW: Duration = Duration::from_secs(30);

fn device_emulator(interval_s: Option<u64>) -> Emulator {
    let emu = emulator();
    emu.update_config(|c| c.device_interval_s = interval_s);
    emu
}

/// Starts a device login and waits for its user code event.
fn start(client: &Client, rec: &Recorder) -> (u64, Ev) {
    let op = client.start_device_login().unwrap();
    let ev = rec.wait_for_op("getUserCodeSuccess", op, LONG);
    (op, ev)
}

#[track_caller]
fn assert_gap(actual_ms: u64, expected_ms: u64) {
    assert!(
        actual_ms + 300 >= expected_ms && actual_ms <= expected_ms + 300,
        "gap {actual_ms} ms, expected {expected_ms} ± 300 ms"
    );
}

#[test]
// Named to sort first: the longest test (15 s of real polling) starts at once.
fn a_full_device_flow_with_pending_slow_down_and_success() {
    let emu = device_emulator(Some(1));
    emu.script(
        Endpoint::DeviceToken,
        vec![
            Scripted::status(428),
            Scripted::json(400, json!({"error": "authorization_pending"})),
            Scripted::json(400, json!({"message": "slow_down", "trackingId": "EMU_SLOW"})),
            Scripted::json(428, json!({"message": "authorization_pending"})),
            Scripted::passthrough(),
        ],
    );
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, code) = start(&client, &rec);
    let user_code = code.payload["userCode"].as_str().unwrap().to_string();
    assert_eq!(code.payload["interval"], 1);
    assert_eq!(code.payload["expiresIn"], 300);
    let complete = code.payload["verificationUriComplete"].as_str().unwrap();
    assert!(complete.contains(&user_code), "{complete}");
    assert!(code.payload["verificationUri"].as_str().unwrap().starts_with(&emu.base_url()));
    assert!(emu.approve_user_code(&user_code));

    let done = rec.wait_for_op("done", op, FLOW);
    assert_eq!(done.payload["ok"], true, "{}", done.payload);
    let r = wait_result(&client, op);
    assert_ok(&r);
    let access = r["access_token"].as_str().unwrap();
    assert!(emu.is_access_token_valid(access));
    assert!(r["refresh_token"].is_string());
    assert_eq!(access_token_of(&client), access);

    // Events of the op, in order.
    let names = rec.names_for(op);
    assert_eq!(
        names,
        vec![
            "getUserCodeSuccess",
            "authorizationPending",
            "authorizationPending",
            "authorizationPending",
            "authorizationPending",
            "authorizationSuccess",
            "token:refresh",
            "done"
        ],
        "{:#?}",
        rec.summary()
    );
    let pending: Vec<Value> =
        rec.events().into_iter().filter(|e| e.name == "authorizationPending").map(|e| e.payload).collect();
    let intervals: Vec<i64> = pending.iter().map(|p| p["interval"].as_i64().unwrap()).collect();
    assert_eq!(intervals, vec![1, 1, 6, 6], "{pending:?}");
    assert_eq!(rec.count("pollingCanceled"), 0);

    // The schedule, from the emulator's clock: interval, interval, interval, then +5 s.
    let authorize = emu.requests(Endpoint::DeviceAuthorize);
    assert_eq!(authorize.len(), 1);
    assert_eq!(authorize[0].form_value("client_id"), Some(CLIENT_ID));
    assert_eq!(authorize[0].form_value("scope"), Some("spark:all"));
    let polls = emu.requests(Endpoint::DeviceToken);
    assert_eq!(polls.len(), 5);
    let mut at = vec![authorize[0].at_ms];
    at.extend(polls.iter().map(|p| p.at_ms));
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, expected) in gaps.iter().zip([1000, 1000, 1000, 6000, 6000]) {
        assert_gap(*gap, expected);
    }
    for p in &polls {
        assert_eq!(p.form_value("grant_type"), Some(DEVICE_GRANT));
        assert!(p.form_value("device_code").is_some_and(|c| !c.is_empty()));
        assert!(p.header("authorization").is_some_and(|h| h.starts_with("Basic ")));
    }
    rec.assert_well_formed();
}

#[test]
fn denial_fails_with_access_denied() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, code) = start(&client, &rec);
    assert!(emu.deny_user_code(code.payload["userCode"].as_str().unwrap()));
    let done = rec.wait_for_op("done", op, LONG);
    assert_failed(&done.payload, "WXA_ERR_OAUTH");
    assert_eq!(done.payload["error"], "access_denied");
    let failure = rec.wait_for_op("authorizationFailure", op, LONG);
    assert_eq!(failure.payload["error"], "access_denied");
    let names = rec.names_for(op);
    let i_fail = names.iter().position(|n| n == "authorizationFailure").unwrap();
    assert!(i_fail < names.len() - 1, "{names:?}");
    assert!(!names.contains(&"authorizationSuccess".to_string()));
    assert!(token_of(&client).is_none());
}

#[test]
fn expiry_fails_with_expired() {
    let emu = device_emulator(Some(1));
    emu.update_config(|c| c.device_expires_in_s = 2);
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let t0 = Instant::now();
    let (op, code) = start(&client, &rec);
    assert_eq!(code.payload["expiresIn"], 2);
    let failure = rec.wait_for_op("authorizationFailure", op, Duration::from_secs(6));
    assert_eq!(failure.payload["status"], "WXA_ERR_EXPIRED");
    let done = rec.done(op);
    assert_failed(&done.payload, "WXA_ERR_EXPIRED");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_millis(3500), "{took:?}");
    assert!(rec.count_for("pollingCanceled", op) <= 1);
    let n = emu.requests(Endpoint::DeviceToken).len();
    assert!((1..=2).contains(&n), "{n} polls");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(emu.requests(Endpoint::DeviceToken).len(), n, "no poll after expiry");
}

#[test]
fn cancel_while_waiting_for_the_next_poll() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, _) = start(&client, &rec);
    rec.wait_for_op("authorizationPending", op, LONG);
    client.cancel(op).unwrap();
    let done = rec.done(op);
    assert_failed(&done.payload, "WXA_ERR_CANCELED");
    let polls = emu.requests(Endpoint::DeviceToken).len();
    let events = rec.len();
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(emu.requests(Endpoint::DeviceToken).len(), polls, "a poll after cancel");
    assert_eq!(rec.len(), events, "events after done: {:?}", rec.summary());
    assert_eq!(rec.count_for("pollingCanceled", op), 1);
    let names = rec.names_for(op);
    assert_eq!(&names[names.len() - 2..], ["pollingCanceled", "done"], "{names:?}");
    assert_eq!(rec.count_for("authorizationFailure", op), 0);
    client.cancel(op).unwrap(); // cancel of the ended login is harmless
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rec.count_for("pollingCanceled", op), 1);
}

#[test]
fn cancel_while_a_poll_is_in_flight() {
    let emu = device_emulator(Some(1));
    emu.set_delay(Endpoint::DeviceToken, Duration::from_millis(2000));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, code) = start(&client, &rec);
    // The answer would be a success: it must be ignored.
    emu.approve_user_code(code.payload["userCode"].as_str().unwrap());
    let t0 = Instant::now();
    while emu.requests(Endpoint::DeviceToken).is_empty() {
        assert!(t0.elapsed() < LONG, "no poll");
        std::thread::sleep(Duration::from_millis(10));
    }
    let canceled_at = Instant::now();
    client.cancel(op).unwrap();
    let done = rec.done(op);
    assert!(done.at - canceled_at < Duration::from_millis(500), "done came {:?} after cancel", done.at - canceled_at);
    assert_failed(&done.payload, "WXA_ERR_CANCELED");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(emu.requests(Endpoint::DeviceToken).len(), 1, "a poll after cancel");
    assert_eq!(rec.count_for("pollingCanceled", op), 1);
    let names = rec.names_for(op);
    assert_eq!(names, ["getUserCodeSuccess", "pollingCanceled", "done"], "{:?}", rec.summary());
    assert!(token_of(&client).is_none(), "the dropped answer was not used");
}

#[test]
fn close_with_a_device_login_in_flight() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, _) = start(&client, &rec);
    client.close();
    // Delivered before close returned.
    let names = rec.names_for(op);
    assert_eq!(&names[names.len() - 2..], ["pollingCanceled", "done"], "{names:?}");
    let done = rec.events().into_iter().find(|e| e.op == op && e.name == "done").unwrap();
    assert_eq!(done.payload["status"], "WXA_ERR_CANCELED");
    let polls = emu.requests(Endpoint::DeviceToken).len();
    let n = rec.len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(emu.requests(Endpoint::DeviceToken).len(), polls);
    assert_eq!(rec.len(), n);
}

#[test]
fn a_second_start_while_one_runs_is_refused() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let first = client.start_device_login().unwrap();
    let second = client.start_device_login().unwrap();
    assert_ne!(first, second);
    let done2 = rec.done(second);
    assert_failed(&done2.payload, "WXA_ERR_INVALID_ARGUMENT");
    let names2 = rec.names_for(second);
    assert_eq!(names2.first().map(String::as_str), Some("getUserCodeFailure"), "{names2:?}");
    assert_eq!(names2.last().map(String::as_str), Some("done"));
    assert!(!names2.contains(&"getUserCodeSuccess".to_string()));

    // The first goes on and succeeds.
    let code = rec.wait_for_op("getUserCodeSuccess", first, LONG);
    assert!(emu.approve_user_code(code.payload["userCode"].as_str().unwrap()));
    let done1 = rec.wait_for_op("done", first, Duration::from_secs(10));
    assert_eq!(done1.payload["ok"], true, "{}", done1.payload);
    assert_eq!(emu.requests(Endpoint::DeviceAuthorize).len(), 1);

    // Once it ended, a new one may start.
    let (third, _) = start(&client, &rec);
    client.cancel(third).unwrap();
    assert_failed(&rec.done(third).payload, "WXA_ERR_CANCELED");
}

#[test]
fn malformed_device_authorize_answers() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    emu.script(
        Endpoint::DeviceAuthorize,
        vec![
            Scripted::status(200).with_body("<html>not json</html>"),
            Scripted::json(200, json!({"user_code": "ABCD-EFGH"})),
            Scripted::json(
                200,
                json!({"device_code": "d", "user_code": "u", "verification_uri": "http://x", "expires_in": "soon"}),
            ),
        ],
    );
    for _ in 0..3 {
        let op = client.start_device_login().unwrap();
        let done = rec.done(op);
        assert_failed(&done.payload, "WXA_ERR_HTTP");
        let names = rec.names_for(op);
        assert_eq!(names.first().map(String::as_str), Some("getUserCodeFailure"), "{names:?}");
        assert_eq!(rec.count_for("getUserCodeSuccess", op), 0);
    }
    assert!(emu.requests(Endpoint::DeviceToken).is_empty());
    // A server error at device authorize: failure too, with the server's fields.
    emu.script(
        Endpoint::DeviceAuthorize,
        vec![Scripted::json(400, json!({"error": "invalid_client", "trackingId": "T9"}))],
    );
    let op = client.start_device_login().unwrap();
    let done = rec.done(op);
    assert_failed(&done.payload, "WXA_ERR_OAUTH");
    assert_eq!(done.payload["tracking_id"], "T9");
    let failure = rec.wait_for_op("getUserCodeFailure", op, LONG);
    assert_eq!(failure.payload["error"], "invalid_client");
}

#[test]
fn absent_interval_means_5_seconds() {
    let emu = device_emulator(None);
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, code) = start(&client, &rec);
    assert_eq!(code.payload["interval"], 5);
    rec.wait_for_op("authorizationPending", op, Duration::from_secs(10));
    let authorize = emu.requests(Endpoint::DeviceAuthorize)[0].at_ms;
    let polls = emu.requests(Endpoint::DeviceToken);
    assert_eq!(polls.len(), 1);
    assert_gap(polls[0].at_ms - authorize, 5000);
    client.cancel(op).unwrap();
    rec.done(op);
}

#[test]
fn non_compliant_server_strings_and_200_with_error() {
    let emu = device_emulator(Some(1));
    emu.script(
        Endpoint::DeviceAuthorize,
        vec![Scripted::json(
            200,
            json!({"device_code": "dev-1", "user_code": "WXYZ-BCDF", "verification_uri": "https://example.com/verify",
                   "expires_in": "30", "interval": "1"}),
        )],
    );
    emu.script(
        Endpoint::DeviceToken,
        vec![
            // GitHub answers pending as a 200 with an error body.
            Scripted::json(200, json!({"error": "authorization_pending"})),
            Scripted::json(200, json!({"access_token": "DEV-TOKEN", "token_type": "Bearer", "expires_in": 60})),
        ],
    );
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, code) = start(&client, &rec);
    assert_eq!(code.payload["interval"], 1);
    assert_eq!(code.payload["expiresIn"], 30);
    assert_eq!(code.payload["userCode"], "WXYZ-BCDF");
    assert_eq!(code.payload["verificationUriComplete"], "https://example.com/verify");
    let done = rec.wait_for_op("done", op, Duration::from_secs(10));
    assert_eq!(done.payload["ok"], true, "{}", done.payload);
    assert_eq!(done.payload["access_token"], "DEV-TOKEN");
    assert_eq!(
        rec.names_for(op),
        ["getUserCodeSuccess", "authorizationPending", "authorizationSuccess", "token:refresh", "done"]
    );
    assert!(emu.requests(Endpoint::DeviceToken).iter().all(|p| p.form_value("device_code") == Some("dev-1")));
    rec.assert_well_formed();
}

#[test]
fn a_poll_that_times_out_doubles_the_interval() {
    let emu = device_emulator(Some(1));
    // The first poll answers too late for timeout_ms; the next one goes through.
    emu.script(Endpoint::DeviceToken, vec![Scripted::status(428).delayed(900), Scripted::passthrough()]);
    let rec = Recorder::new();
    let client = new_client(&with(confidential(&emu), json!({"timeout_ms": 300})), &rec);
    let (op, code) = start(&client, &rec);
    assert!(emu.approve_user_code(code.payload["userCode"].as_str().unwrap()));
    let done = rec.wait_for_op("done", op, Duration::from_secs(10));
    assert_eq!(done.payload["ok"], true, "polling goes on after a timeout: {}", done.payload);
    let polls = emu.requests(Endpoint::DeviceToken);
    assert_eq!(polls.len(), 2);
    // 300 ms timeout, then the doubled interval (2 s).
    assert_gap(polls[1].at_ms - polls[0].at_ms, 2300);
}

#[test]
fn server_expired_token_is_expired() {
    let emu = device_emulator(Some(1));
    emu.script(Endpoint::DeviceToken, vec![Scripted::json(400, json!({"error": "expired_token"}))]);
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, _) = start(&client, &rec);
    let done = rec.wait_for_op("done", op, Duration::from_secs(10));
    assert_failed(&done.payload, "WXA_ERR_EXPIRED");
    let failure = rec.wait_for_op("authorizationFailure", op, LONG);
    assert_eq!(failure.payload["status"], "WXA_ERR_EXPIRED");
    assert_eq!(failure.payload["error"], "expired_token");
}

// ---------------------------------------------------------------------------------
// QR codes

/// Decodes a grayscale image with rqrr; exactly one code expected.
fn decode_image(w: usize, h: usize, light: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if light(x, y) { 255 } else { 0 });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code in the {w}x{h} image");
    let (_, text) = grids[0].decode().expect("QR decodes");
    text
}

/// Reads the "utf8" block rendering back into a module grid: each character holds two
/// module rows. The library draws *light* modules as ink ('█' = both light, '▀' = top
/// light, '▄' = bottom light, ' ' = both dark) so the code reads dark-on-light on a
/// light-on-dark terminal.
fn modules_from_text(text: &str) -> Vec<Vec<bool>> {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let width = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == width), "ragged block text");
    let mut rows: Vec<Vec<bool>> = Vec::new();
    for line in &lines {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for c in line {
            let (t, b) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?} in the QR text"),
            };
            top.push(t);
            bottom.push(b);
        }
        rows.push(top);
        rows.push(bottom);
    }
    // Square symbol: an odd height leaves a half row of padding at the bottom.
    assert!(rows.len() == width || rows.len() == width + 1, "{} rows for width {width}", rows.len());
    rows.truncate(width);
    rows
}

fn decode_text_qr(text: &str) -> String {
    let modules = modules_from_text(text);
    let n = modules.len();
    // Quiet zone: the outer 4 modules on every side are light.
    #[allow(clippy::needless_range_loop)] // i indexes rows and columns alike
    for i in 0..n {
        for q in 0..4 {
            assert!(modules[q][i] && modules[n - 1 - q][i] && modules[i][q] && modules[i][n - 1 - q], "quiet zone");
        }
    }
    let scale = 4;
    decode_image(n * scale, n * scale, |x, y| modules[y / scale][x / scale])
}

fn attr(svg: &str, name: &str) -> usize {
    let key = format!("{name}=\"");
    let start = svg.find(&key).unwrap_or_else(|| panic!("no {name} in SVG")) + key.len();
    svg[start..].split('"').next().unwrap().parse().unwrap()
}

/// Rasterizes the SVG the library renders: a background rect and one path of dark
/// rectangles `M{x} {y}h{w}v{h}H{x}V{y}`.
fn decode_svg_qr(svg: &str) -> String {
    assert!(svg.contains("<svg"), "not an SVG document");
    let (w, h) = (attr(svg, "width"), attr(svg, "height"));
    assert!(w >= 200 && h >= 200, "{w}x{h}");
    let path_start = svg.find("<path").expect("a path");
    let path = &svg[path_start..];
    let fill = path.split("fill=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(fill, "#000", "dark modules are drawn dark");
    let d = path.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut dark = vec![vec![false; w]; h];
    let mut rects = 0;
    for seg in d.split('M').filter(|s| !s.is_empty()) {
        let num = |s: &str| -> usize { s.trim().parse().unwrap_or_else(|_| panic!("bad number {s:?} in {seg:?}")) };
        let (x, rest) = seg.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let (rw, rest) = rest.split_once('v').unwrap();
        let (rh, _) = rest.split_once('H').unwrap();
        let (x, y, rw, rh) = (num(x), num(y), num(rw), num(rh));
        for row in dark.iter_mut().skip(y).take(rh) {
            for px in row.iter_mut().skip(x).take(rw) {
                *px = true;
            }
        }
        rects += 1;
    }
    assert!(rects > 50, "only {rects} dark rectangles");
    decode_image(w, h, |x, y| !dark[y][x])
}

#[test]
fn qr_codes_round_trip_the_url() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&confidential(&emu), &rec);
    let (op, code) = start(&client, &rec);
    let url = code.payload["verificationUriComplete"].as_str().unwrap().to_string();
    client.cancel(op).unwrap();

    let text = webex_auth::qr_code(&url, "utf8").unwrap();
    assert_eq!(decode_text_qr(&text), url);
    let svg = webex_auth::qr_code(&url, "svg").unwrap();
    assert_eq!(decode_svg_qr(&svg), url);

    // A longer URL and the C ABI give the same rendering.
    let long = format!("{url}&pad={}", "x".repeat(120));
    assert_eq!(decode_text_qr(&webex_auth::qr_code(&long, "utf8").unwrap()), long);
    let (t, f) = (CString::new(url.as_str()).unwrap(), CString::new("svg").unwrap());
    let mut out: *mut c_char = std::ptr::null_mut();
    assert_eq!(webex_auth::ffi::wxa_qr_code(t.as_ptr(), f.as_ptr(), &mut out), webex_auth::ffi::WXA_OK);
    let c_svg = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
    webex_auth::ffi::wxa_string_free(out);
    assert_eq!(c_svg, svg);

    // Bad arguments.
    assert_eq!(webex_auth::qr_code("", "utf8").unwrap_err().status(), Status::InvalidArgument);
    assert_eq!(webex_auth::qr_code(&url, "png").unwrap_err().status(), Status::InvalidArgument);
    let bad = CString::new("png").unwrap();
    let sentinel = 0x30 as *mut c_char;
    let mut out = sentinel;
    assert_eq!(
        webex_auth::ffi::wxa_qr_code(t.as_ptr(), bad.as_ptr(), &mut out),
        webex_auth::ffi::WXA_ERR_INVALID_ARGUMENT
    );
    assert_eq!(out, sentinel);
}

#[test]
fn visiting_the_verification_page_approves() {
    let emu = device_emulator(Some(1));
    let rec = Recorder::new();
    let client = new_client(&public(&emu), &rec);
    let (op, code) = start(&client, &rec);
    // What the phone does with the QR code: open verificationUriComplete.
    let (status, _, _) = raw_get(code.payload["verificationUriComplete"].as_str().unwrap());
    assert_eq!(status, 200);
    let done = rec.wait_for_op("done", op, Duration::from_secs(10));
    assert_eq!(done.payload["ok"], true, "{}", done.payload);
    // A public client polls with client_id in the form and no Authorization header.
    let polls = emu.requests(Endpoint::DeviceToken);
    assert!(polls.iter().all(|p| p.header("authorization").is_none()));
    assert!(polls.iter().all(|p| p.form_value("client_id") == Some(PUBLIC_CLIENT_ID)));
}
