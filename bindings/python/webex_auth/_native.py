"""Calling conventions shared by every wrapper: argument checks done before C, a
failed ``wxa_status`` turned into an exception, owned ``char **`` results copied and
freed. Knows the library's calling rules, not any one operation.
"""

from __future__ import annotations

import ctypes
import json
import math
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from ._bindings import lib, take_string
from ._errors import STATUS_NUMBERS, InternalError, WebexAuthError, error_for_status

__all__ = [
    "OK",
    "PENDING",
    "NOT_AUTHORIZED",
    "check_str",
    "check_opt_str",
    "check_timeout",
    "check_uint32",
    "encode",
    "raise_for",
    "call_string_out",
    "dumps",
    "datetime_to_ms",
    "ms_to_datetime",
]

OK = STATUS_NUMBERS["WXA_OK"]
PENDING = STATUS_NUMBERS["WXA_PENDING"]
NOT_AUTHORIZED = STATUS_NUMBERS["WXA_ERR_NOT_AUTHORIZED"]
_UINT32_MAX = 2**32 - 1


def check_str(value: Any, name: str, *, allow_empty: bool = False) -> str:
    """A ``str`` argument: ``TypeError`` for anything else (``None``, ``bytes``, ...),
    ``ValueError`` for an empty string (unless allowed) or an embedded NUL."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    return value


def check_opt_str(value: Any, name: str, *, allow_empty: bool = False) -> Optional[str]:
    return None if value is None else check_str(value, name, allow_empty=allow_empty)


def check_timeout(timeout: Any) -> Optional[float]:
    """``None`` (wait forever) or a non-negative number of seconds."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be >= 0, not {timeout!r}")
    return float(timeout)


def check_uint32(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"{name} must be between 0 and {_UINT32_MAX}, not {value}")
    return value


def encode(value: str) -> bytes:
    """UTF-8 for C; a lone surrogate is a ``ValueError`` (``UnicodeEncodeError``)."""
    return value.encode("utf-8")


def dumps(obj: Any) -> bytes:
    """Compact JSON for C. Non-serialisable values are a ``TypeError``."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def raise_for(status: int) -> WebexAuthError:
    """The exception for a failed call; must run right after it, on the same thread
    (``wxa_last_error`` is per thread and reset by the next ``wxa_`` call)."""
    raw = lib.wxa_last_error()
    return error_for_status(status, raw.decode("utf-8", "replace") if raw else None)


def call_string_out(fn: Callable[..., int], *args: Any) -> str:
    """Call ``fn(*args, &out)``; return ``out`` as ``str`` (freed) or raise."""
    out = ctypes.c_void_p()
    status = fn(*args, ctypes.byref(out))
    if status != OK:
        raise raise_for(status)
    text = take_string(out.value)
    if text is None:
        raise InternalError(f"{getattr(fn, '__name__', 'call')} returned no string")
    return text


def datetime_to_ms(value: datetime, name: str) -> int:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be an aware datetime (e.g. tzinfo=timezone.utc)")
    return int(round(value.timestamp() * 1000))


def ms_to_datetime(ms: Any) -> Optional[datetime]:
    if ms is None or isinstance(ms, bool) or not isinstance(ms, (int, float)):
        return None
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
