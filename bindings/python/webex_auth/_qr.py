"""``qr_code``: render text as a QR code with ``wxa_qr_code`` (no client, no network)."""

from __future__ import annotations

from ._bindings import lib
from ._native import call_string_out, check_str, encode

__all__ = ["qr_code", "QR_FORMATS"]

QR_FORMATS = ("utf8", "svg")


def qr_code(text: str, format: str = "utf8") -> str:
    """``text`` as a QR code: ``"utf8"`` (Unicode half blocks, for a terminal) or
    ``"svg"`` (an SVG document)."""
    check_str(text, "text")
    check_str(format, "format")
    if format not in QR_FORMATS:
        raise ValueError(f"format must be one of {QR_FORMATS}, not {format!r}")
    return call_string_out(lib.wxa_qr_code, encode(text), encode(format))
