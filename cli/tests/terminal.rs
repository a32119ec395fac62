//! `webex-auth login --emulator` in a real pseudo-terminal, its output fed to a terminal
//! emulator (vt100) as it arrives: the QR code is on the screen and decodes to the
//! verification link, the spinner animates on one line, and is gone once logged in.
//!
//! A pty crate and vt100 rather than tmux: nothing outside cargo to install, and the
//! output is read as a stream (no polling of a pane), while vt100 still gives what the
//! screen shows.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::io::Read;
use std::num::NonZeroU16;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_webex-auth");
const ROWS: u16 = 50;
const COLS: u16 = 100;
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const WAITING: &str = "Waiting for you to approve";

#[test]
fn login_draws_the_qr_code_and_a_spinner_in_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let pty = native_pty_system().openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(["login", "--emulator"]);
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home.path());
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    cmd.env("XDG_DATA_HOME", home.path().join("data"));
    // Long enough for the spinner to turn a good few times (it ticks every 100 ms).
    cmd.env("WEBEX_AUTH_EMULATOR_DELAY_MS", "1500");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);

    let mut reader = pty.master.try_clone_reader().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EOF or EIO once the child has exited and the pty is closed.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });

    let mut term = vt100::Parser::new(NonZeroU16::new(ROWS).unwrap(), NonZeroU16::new(COLS).unwrap(), 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut frames_seen = BTreeSet::new();
    let mut qr_text = None;
    let mut spinner_rows_max = 0;
    let mut countdown_seen = false;
    let logged_in = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = match rx.recv_timeout(left) {
            Ok(c) => c,
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("no login within 30 s; the screen:\n{}", term.screen().contents());
            }
        };
        term.process(&chunk);
        let rows: Vec<String> = term.screen().rows(0, COLS).collect();
        if qr_text.is_none() {
            qr_text = qr_block(&rows);
        }
        let spinner_rows: Vec<&String> = rows.iter().filter(|r| r.contains(WAITING)).collect();
        spinner_rows_max = spinner_rows_max.max(spinner_rows.len());
        for row in spinner_rows {
            let first = row.chars().next().unwrap_or(' ');
            if FRAMES.contains(&first) {
                frames_seen.insert(first);
            }
            countdown_seen |= row.contains("the code expires in 4m");
        }
        if rows.iter().any(|r| r.starts_with("✓ Logged in as Emulated User")) {
            // Let the rest of the output (and the exit) arrive.
            while let Ok(c) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                term.process(&c);
            }
            break true;
        }
    };
    let screen = term.screen().contents();
    assert!(logged_in, "never logged in; the screen:\n{screen}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}; the screen:\n{screen}");

    // The QR code: block characters on the screen, decoding to the verification link
    // with the user code shown above it.
    let qr = qr_text.unwrap_or_else(|| panic!("no QR code on the screen:\n{screen}"));
    let link = decode_qr(&qr);
    let code = screen
        .lines()
        .find_map(|l| l.strip_prefix("and enter the code:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no user code on the screen:\n{screen}"));
    assert!(link.starts_with("http://127.0.0.1:") && link.ends_with(&format!("?userCode={code}")), "{link}");

    // The spinner: drawn on one line, turning, with the countdown; cleared at the end.
    assert_eq!(spinner_rows_max, 1, "the spinner must redraw its line, not print new ones");
    assert!(frames_seen.len() >= 3, "the spinner did not turn: frames {frames_seen:?}");
    assert!(countdown_seen, "no countdown in the spinner line");
    assert!(!screen.contains(WAITING), "the spinner is still on the screen:\n{screen}");
    assert!(screen.contains("Token stored encrypted in"), "{screen}");
}

/// The first run of at least 10 rows made only of QR block characters.
fn qr_block(rows: &[String]) -> Option<Vec<String>> {
    let is_qr = |r: &String| r.chars().count() >= 21 && r.chars().all(|c| matches!(c, '█' | '▀' | '▄' | ' '));
    let start = rows.iter().position(is_qr)?;
    let block: Vec<String> = rows[start..].iter().take_while(|r| is_qr(r)).cloned().collect();
    // The block is complete once a non-QR row follows it.
    (block.len() >= 10 && start + block.len() < rows.len()).then_some(block)
}

/// Reads the block text back into modules (each character holds two module rows; the
/// library draws light modules as ink) and decodes it.
fn decode_qr(lines: &[String]) -> String {
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap();
    let mut modules: Vec<Vec<bool>> = Vec::new();
    for line in lines {
        let mut chars: Vec<char> = line.chars().collect();
        chars.resize(width, ' '); // the terminal trims trailing blanks
        let (top, bottom): (Vec<bool>, Vec<bool>) = chars
            .iter()
            .map(|c| match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            })
            .unzip();
        modules.push(top);
        modules.push(bottom);
    }
    modules.truncate(width);
    let scale = 4;
    let n = modules.len() * scale;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width * scale, n, |x, y| {
        if modules[y / scale][x / scale] { 255 } else { 0 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().expect("the QR code decodes").1
}
