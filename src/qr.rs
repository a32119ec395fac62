//! QR codes for device login: terminal block text (two module rows per line, quiet zone
//! included) or an SVG document. No client, no network.
#![forbid(unsafe_code)]

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

use crate::error::Error;

/// Renders `text` as `"utf8"` block text or as an `"svg"` document.
pub fn qr_code(text: &str, format: &str) -> Result<String, Error> {
    if text.is_empty() {
        return Err(Error::invalid("QR text is empty"));
    }
    // Medium error correction: what phone cameras read well off a screen.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| Error::invalid(format!("QR text cannot be encoded: {e}")))?;
    match format {
        "utf8" | "text" => Ok(code
            .render::<unicode::Dense1x2>()
            // Terminals are usually light-on-dark: draw dark modules as spaces would
            // invert the code, so force dark-on-light explicitly.
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build()),
        "svg" => Ok(code.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build()),
        other => Err(Error::invalid(format!("QR format must be \"utf8\" or \"svg\", not {other:?}"))),
    }
}
