"""ctypes declarations (argtypes/restype) for every function of the C API.

One declaration per function of ``include/webex_auth.h``, with the header's own types
(``int32_t`` -> ``c_int32``, ``uint64_t`` -> ``c_uint64``, ...); ``tests/test_bindings.py``
parses the header and compares every argument and return type. Functions returning
library-owned strings through ``char **`` use ``c_void_p`` so the pointer can be handed
back to ``wxa_string_free``. Nothing here checks values: that is ``_native``'s job.
"""

from __future__ import annotations

import ctypes
import itertools
from ctypes import POINTER, c_char_p, c_int32, c_uint32, c_uint64, c_void_p
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._abi import ABI_VERSION
from ._ffi import load_library

__all__ = [
    "ABI_VERSION",
    "lib",
    "MISSING",
    "SIGNATURES",
    "wxa_status",
    "wxa_op",
    "wxa_event_type",
    "wxa_event_fn",
    "library_names",
    "take_string",
]

wxa_status = c_int32
wxa_op = c_uint64
wxa_event_type = c_int32
wxa_client_p = c_void_p  # opaque wxa_client *
_out_str = POINTER(c_void_p)  # char ** (owned string out-parameter)

# typedef void (*wxa_event_fn)(void *user_data, wxa_event_type type, wxa_op op,
#                              const char *payload_json);
wxa_event_fn = ctypes.CFUNCTYPE(None, c_void_p, wxa_event_type, wxa_op, c_char_p)

# name -> (restype, argtypes)
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    "wxa_version": (c_char_p, []),
    "wxa_status_name": (c_char_p, [wxa_status]),
    "wxa_event_name": (c_char_p, [wxa_event_type]),
    "wxa_last_error": (c_char_p, []),
    "wxa_abi_version": (c_uint32, []),
    # The header's `wxa_init` is a macro over wxa_init_abi; the exported wxa_init symbol
    # (no ABI check) is declared too because the header declares it, but not used.
    "wxa_init_abi": (wxa_status, [c_uint32, c_char_p, wxa_event_fn, c_void_p, POINTER(wxa_client_p)]),
    "wxa_init": (wxa_status, [c_char_p, wxa_event_fn, c_void_p, POINTER(wxa_client_p)]),
    "wxa_free": (None, [wxa_client_p]),
    "wxa_initiate_login": (wxa_status, [wxa_client_p, c_char_p, _out_str]),
    "wxa_handle_redirect": (wxa_status, [wxa_client_p, c_char_p, _out_str, POINTER(wxa_op)]),
    "wxa_exchange_code": (wxa_status, [wxa_client_p, c_char_p, c_char_p, POINTER(wxa_op)]),
    "wxa_refresh": (wxa_status, [wxa_client_p, POINTER(wxa_op)]),
    "wxa_get_valid_token": (wxa_status, [wxa_client_p, c_uint32, POINTER(wxa_op)]),
    "wxa_client_credentials": (wxa_status, [wxa_client_p, POINTER(wxa_op)]),
    "wxa_get_token": (wxa_status, [wxa_client_p, _out_str]),
    "wxa_set_token": (wxa_status, [wxa_client_p, c_char_p]),
    "wxa_logout": (wxa_status, [wxa_client_p, POINTER(wxa_op)]),
    "wxa_token_rejected": (wxa_status, [wxa_client_p, c_char_p, POINTER(wxa_op)]),
    "wxa_start_loopback_login": (wxa_status, [wxa_client_p, c_char_p, _out_str, POINTER(wxa_op)]),
    "wxa_service_app_token": (wxa_status, [wxa_client_p, c_char_p, POINTER(wxa_op)]),
    "wxa_create_guest": (wxa_status, [wxa_client_p, c_char_p, POINTER(wxa_op)]),
    "wxa_whoami": (wxa_status, [wxa_client_p, POINTER(wxa_op)]),
    "wxa_create_jwt": (wxa_status, [c_char_p, _out_str]),
    "wxa_login_with_jwt": (wxa_status, [wxa_client_p, c_char_p, POINTER(wxa_op)]),
    "wxa_start_device_login": (wxa_status, [wxa_client_p, POINTER(wxa_op)]),
    "wxa_qr_code": (wxa_status, [c_char_p, c_char_p, _out_str]),
    "wxa_cancel": (wxa_status, [wxa_client_p, wxa_op]),
    "wxa_wait": (wxa_status, [wxa_client_p, wxa_op, c_uint32, _out_str]),
    "wxa_string_free": (None, [c_void_p]),
}


class _Lib:
    """The loaded library with every function declared, as attributes."""

    def __init__(self, cdll: ctypes.CDLL) -> None:
        self.cdll = cdll
        self.missing: List[str] = []
        for name, (restype, argtypes) in SIGNATURES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                self.missing.append(name)
                setattr(self, name, _missing(name))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    # Declared for type checkers; filled in by __init__.
    def __getattr__(self, name: str) -> Callable[..., Any]:  # pragma: no cover
        raise AttributeError(name)


def _missing(name: str) -> Callable[..., Any]:
    def call(*_args: Any) -> Any:
        raise OSError(
            f"the loaded webex_auth library does not export {name}: it is older than "
            "this Python package or was built from a broken tree"
        )

    return call


lib = _Lib(load_library())
MISSING: List[str] = lib.missing


def library_names(name_of: Callable[[int], Optional[bytes]], first: int, unknown: str) -> Dict[int, str]:
    """``{number: name}`` as the library names its numbers (``wxa_status_name``,
    ``wxa_event_name``), from ``first`` up to the first number it calls ``unknown``:
    the one table of names is the library's, and a number a newer library adds is
    known here without a package update."""
    names: Dict[int, str] = {}
    for number in itertools.count(first):
        raw = name_of(number)
        name = raw.decode("ascii") if raw else unknown
        if name == unknown:
            return names
        names[number] = name
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def take_string(ptr: Optional[int]) -> Optional[str]:
    """Copy a library-owned string out as ``str`` and free it with ``wxa_string_free``."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.wxa_string_free(ptr)
