//! `webex_auth::qr_code(text, format)`.
//!
//! Input: the first byte picks the format (`utf8`, `text`, `svg`, or the next bytes up to
//! a `\x01` as a format string); the rest is the text.
//!
//! Invariants: nothing panics; empty text and unknown formats are refused; block text is
//! a rectangle of exactly (modules + 8) columns and ceil((modules + 8) / 2) lines, where
//! `modules` is the width of the same text encoded independently at level M; SVG output
//! is one complete document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qrcode::{EcLevel, QrCode};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(rest) = std::str::from_utf8(rest) else { return };
    let (format, text) = match sel % 4 {
        0 => ("utf8", rest),
        1 => ("text", rest),
        2 => ("svg", rest),
        _ => rest.split_once('\x01').unwrap_or((rest, "x")),
    };

    let out = webex_auth::qr_code(text, format);
    if text.is_empty() {
        assert!(out.is_err(), "empty text accepted");
        return;
    }
    let reference = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M);
    if !matches!(format, "utf8" | "text" | "svg") {
        assert!(out.is_err(), "format {format:?} accepted");
        return;
    }
    assert_eq!(out.is_ok(), reference.is_ok(), "qr_code and qrcode disagree on {text:?}");
    let (Ok(out), Ok(reference)) = (out, reference) else { return };

    if format == "svg" {
        assert!(out.starts_with("<?xml"), "SVG does not start with an XML declaration");
        assert!(out.trim_end().ends_with("</svg>"), "SVG is not closed");
        assert_eq!(out.matches("<svg").count(), 1);
    } else {
        let side = reference.width() + 8; // a 4-module quiet zone on each side
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2), "block text has {} lines for {side} modules", lines.len());
        for l in &lines {
            assert_eq!(l.chars().count(), side, "block text line {l:?} is not {side} wide");
            assert!(l.chars().all(|c| matches!(c, ' ' | '█' | '▀' | '▄')), "unexpected character in {l:?}");
        }
    }
});
