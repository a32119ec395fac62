"""Find and load the native ``webex_auth`` library.

Search order: the path in ``WEBEX_AUTH_LIBRARY`` when set (an error if it does not
load), the copy shipped inside this package (what ``pip install`` puts there), then,
for development from a checkout, ``$CARGO_TARGET_DIR`` or the repository's
``target/{debug,release}``. Declaring the functions is ``_bindings``' job.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import List

__all__ = ["LIBRARY_FILENAME", "candidate_paths", "load_library"]


def _library_filename() -> str:
    if sys.platform == "win32":
        return "webex_auth.dll"
    if sys.platform == "darwin":
        return "libwebex_auth.dylib"
    return "libwebex_auth.so"


LIBRARY_FILENAME = _library_filename()

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


def load_library() -> ctypes.CDLL:
    """Load the library; raise ``OSError`` naming every place tried when none loads."""
    explicit = os.environ.get("WEBEX_AUTH_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit)
        except OSError as exc:
            raise OSError(
                f"WEBEX_AUTH_LIBRARY={explicit!r} could not be loaded: {exc}"
            ) from exc
    errors: List[str] = []
    for path in candidate_paths():
        if not path.is_file():
            continue
        try:
            return ctypes.CDLL(str(path))
        except OSError as exc:  # pragma: no cover - a broken file on disk
            errors.append(f"{path}: {exc}")
    tried = ", ".join(str(p) for p in candidate_paths())
    detail = ("; load errors: " + "; ".join(errors)) if errors else ""
    raise OSError(
        f"could not find {LIBRARY_FILENAME} (tried {tried}){detail}. Install the "
        "package with `pip install ./bindings/python` (it builds the library with "
        "cargo), run `cargo build` in a checkout, or set WEBEX_AUTH_LIBRARY."
    )
