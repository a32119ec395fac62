"""Build hook: ship the Rust engine's shared library inside the ``webex_auth`` package,
so ``pip install ./bindings/python`` (or the sdist) needs no other step, and the wheel
needs no Rust at all.

The version is the crate's (``Cargo.toml``, the one place it lives). The crate sources
come from, in order: ``WEBEX_AUTH_SOURCE_DIR``; ``rust/`` next to this file (the sdist
carries the packaged crate there, so it builds wherever cargo exists); the repository
this directory sits in (``bindings/python`` of a checkout).

Environment:
  WEBEX_AUTH_PREBUILT_LIBRARY  ship this already built library and do not run cargo
                               (``scripts/dist.sh`` passes the stripped release library)
  WEBEX_AUTH_CARGO_PROFILE     cargo profile to build (default ``release``; ``debug``
                               reuses the ordinary ``cargo build`` output, as CI does)
  CARGO_TARGET_DIR             honoured, like cargo does
  CARGO                        the cargo executable (default: ``cargo`` on PATH)
  WEBEX_AUTH_SOURCE_DIR        the crate (or workspace) root to build from
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
CRATE = "webex-auth"


def library_filename() -> str:
    if sys.platform == "win32":
        return "webex_auth.dll"
    if sys.platform == "darwin":
        return "libwebex_auth.dylib"
    return "libwebex_auth.so"


def _is_crate_root(root: Path) -> bool:
    manifest = root / "Cargo.toml"
    if not manifest.is_file():
        return False
    return re.search(rf'(?m)^name = "{CRATE}"$', manifest.read_text()) is not None


def source_dir() -> Path:
    env = os.environ.get("WEBEX_AUTH_SOURCE_DIR")
    candidates = [Path(env)] if env else [HERE / "rust", HERE.parent.parent]
    for root in candidates:
        if _is_crate_root(root):
            return root.resolve()
    raise SystemExit(
        f"webex-auth: cannot find the Rust crate (looked at {[str(c) for c in candidates]}); "
        "build from the sdist, from a checkout (pip install ./bindings/python), or set "
        "WEBEX_AUTH_SOURCE_DIR"
    )


def crate_version() -> str:
    """``version`` of the crate's ``[package]`` table: read as text, since setup.py
    runs on Pythons older than ``tomllib`` and the line is written by cargo or by us."""
    manifest = source_dir() / "Cargo.toml"
    in_package = False
    for line in manifest.read_text().splitlines():
        header = re.match(r"\s*\[(.*)\]\s*$", line)
        if header:
            in_package = header.group(1).strip() == "package"
            continue
        found = re.match(r'\s*version\s*=\s*"([^"]+)"', line)
        if in_package and found:
            return found.group(1)
    raise SystemExit(f"webex-auth: no [package] version in {manifest}")


def build_native() -> Path:
    prebuilt = os.environ.get("WEBEX_AUTH_PREBUILT_LIBRARY")
    if prebuilt:
        lib = Path(prebuilt)
        if not lib.is_file():
            raise SystemExit(f"webex-auth: WEBEX_AUTH_PREBUILT_LIBRARY={prebuilt} does not exist")
        return lib
    root = source_dir()
    cargo = os.environ.get("CARGO", "cargo")
    profile = os.environ.get("WEBEX_AUTH_CARGO_PROFILE", "release").strip() or "release"
    cmd = [cargo, "build", "-p", CRATE, "--lib"]
    if profile == "release":
        cmd.append("--release")
    elif profile != "debug":
        cmd += ["--profile", profile]
    print(f"webex-auth: running {' '.join(cmd)} in {root}", flush=True)
    subprocess.run(cmd, cwd=root, check=True)
    meta = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--no-deps"],
        cwd=root, check=True, stdout=subprocess.PIPE,
    )  # fmt: skip
    target = Path(json.loads(meta.stdout)["target_directory"])  # honours CARGO_TARGET_DIR
    out_dir = {"debug": "debug", "release": "release"}.get(profile, profile)
    lib = target / out_dir / library_filename()
    if not lib.is_file():
        raise SystemExit(f"webex-auth: cargo finished but {lib} does not exist")
    return lib


class BuildNative(Command):
    """``setup.py build_native``: cargo build, copy the library into the package."""

    description = "build the webex_auth shared library with cargo"
    user_options = [("build-lib=", "b", "directory holding the built packages")]

    def initialize_options(self) -> None:
        self.build_lib = None

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def run(self) -> None:
        lib = build_native()
        dest_dir = Path(self.build_lib) / "webex_auth"
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / library_filename()
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)
        print(f"webex-auth: copied {lib} -> {dest}", flush=True)


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):  # editable installs load target/
            self.run_command("build_native")


class Sdist(sdist):
    """An sdist must carry the crate (``rust/``), or it builds only inside a checkout:
    ``scripts/dist.sh`` stages this directory with the packaged crate and builds it."""

    def run(self) -> None:
        if not _is_crate_root(HERE / "rust"):
            raise SystemExit(
                "webex-auth: no crate in rust/: build the sdist with scripts/dist.sh, which "
                "puts the packaged crate (cargo package) there"
            )
        super().run()


class BinaryDistribution(Distribution):
    """The wheel holds a native library: never a pure (``py3-none-any``) wheel."""

    def has_ext_modules(self) -> bool:
        return True


class BdistWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        # Loaded with ctypes, not the CPython ABI: any Python 3, this platform only.
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


setup(
    version=crate_version(),
    distclass=BinaryDistribution,
    cmdclass={
        "build_native": BuildNative,
        "build_py": BuildPy,
        "bdist_wheel": BdistWheel,
        "sdist": Sdist,
    },
)
