"""Find and load the native ``webex_auth`` library.

Search order: the path in ``WEBEX_AUTH_LIBRARY`` when set (an error if it does not
load), the copy shipped inside this package (what ``pip install`` puts there), then,
for development from a checkout, ``$CARGO_TARGET_DIR`` or the repository's
``target/{debug,release}``. Declaring the functions is ``_bindings``' job.

Whichever library loads, its ABI is checked first (``wxa_abi_version``): ctypes binds
by name and cannot see a changed signature, so a library of another ABI is refused
with an ``ImportError`` naming both, before any other call reaches it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import List

__all__ = ["ABI_VERSION", "LIBRARY_FILENAME", "candidate_paths", "check_abi", "load_library"]


def _library_filename() -> str:
    if sys.platform == "win32":
        return "webex_auth.dll"
    if sys.platform == "darwin":
        return "libwebex_auth.dylib"
    return "libwebex_auth.so"


LIBRARY_FILENAME = _library_filename()

#: The library ABI this package is written for (the header's ``WXA_ABI_VERSION``, the
#: major version; docs/C-API.md, "ABI policy"). Changed by hand, after reviewing every
#: declaration in ``_bindings`` against the new header.
ABI_VERSION = 1

_PACKAGE_DIR = Path(__file__).resolve().parent
# bindings/python/webex_auth -> repository root (development checkouts only).
_REPO_ROOT = _PACKAGE_DIR.parent.parent.parent


def candidate_paths() -> List[Path]:
    """The places searched for the library, in order (the env var is handled apart)."""
    paths = [_PACKAGE_DIR / LIBRARY_FILENAME]
    target_dirs: List[Path] = []
    env_target = os.environ.get("CARGO_TARGET_DIR")
    if env_target:
        target_dirs.append(Path(env_target))
    target_dirs.append(_REPO_ROOT / "target")
    for target in target_dirs:
        for profile in ("debug", "release"):
            paths.append(target / profile / LIBRARY_FILENAME)
    return paths


def check_abi(cdll: ctypes.CDLL, where: str) -> ctypes.CDLL:
    """Return ``cdll`` when its ABI is ``ABI_VERSION``; raise ``ImportError`` otherwise."""
    try:
        abi_version = cdll.wxa_abi_version
    except AttributeError:
        raise ImportError(
            f"{where} does not export wxa_abi_version: it is not a webex_auth library of "
            f"ABI {ABI_VERSION} (it predates the ABI check or is another library); this "
            f"webex_auth package needs ABI {ABI_VERSION}"
        ) from None
    abi_version.restype = ctypes.c_uint32
    abi_version.argtypes = []
    found = int(abi_version())
    if found != ABI_VERSION:
        raise ImportError(
            f"{where} is webex_auth {_library_version(cdll)} of ABI {found}, but this "
            f"webex_auth package was written for ABI {ABI_VERSION}: install the webex_auth "
            f"package that matches the library, or use a library of ABI {ABI_VERSION}"
        )
    return cdll


def _library_version(cdll: ctypes.CDLL) -> str:
    try:
        version = cdll.wxa_version
    except AttributeError:
        return "(unknown version)"
    version.restype = ctypes.c_char_p
    version.argtypes = []
    raw = version()
    return raw.decode("utf-8", "replace") if raw else "(unknown version)"


def load_library() -> ctypes.CDLL:
    """Load the library and check its ABI; raise ``OSError`` naming every place tried
    when none loads, ``ImportError`` when the one found has another ABI."""
    explicit = os.environ.get("WEBEX_AUTH_LIBRARY")
    if explicit:
        try:
            cdll = ctypes.CDLL(explicit)
        except OSError as exc:
            raise OSError(
                f"WEBEX_AUTH_LIBRARY={explicit!r} could not be loaded: {exc}"
            ) from exc
        return check_abi(cdll, f"WEBEX_AUTH_LIBRARY={explicit!r}")
    errors: List[str] = []
    for path in candidate_paths():
        if not path.is_file():
            continue
        try:
            cdll = ctypes.CDLL(str(path))
        except OSError as exc:  # pragma: no cover - a broken file on disk
            errors.append(f"{path}: {exc}")
            continue
        return check_abi(cdll, str(path))
    tried = ", ".join(str(p) for p in candidate_paths())
    detail = ("; load errors: " + "; ".join(errors)) if errors else ""
    raise OSError(
        f"could not find {LIBRARY_FILENAME} (tried {tried}){detail}. Install the "
        "package with `pip install ./bindings/python` (it builds the library with "
        "cargo), run `cargo build` in a checkout, or set WEBEX_AUTH_LIBRARY."
    )
