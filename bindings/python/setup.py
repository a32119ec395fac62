"""Build hook: compile the Rust engine with cargo and ship the shared library inside
the ``webex_auth`` package, so ``pip install ./bindings/python`` needs no other step.

Environment:
  WEBEX_AUTH_CARGO_PROFILE  cargo profile to build (default ``release``; ``debug``
                            reuses the ordinary ``cargo build`` output, as CI does)
  CARGO_TARGET_DIR          honoured, like cargo does
  CARGO                     the cargo executable (default: ``cargo`` on PATH)
  WEBEX_AUTH_SOURCE_DIR     the Rust workspace root when this directory is not
                            ``bindings/python`` inside it
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
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


def source_dir() -> Path:
    env = os.environ.get("WEBEX_AUTH_SOURCE_DIR")
    candidates = [Path(env)] if env else [HERE.parent.parent]
    for root in candidates:
        manifest = root / "Cargo.toml"
        if manifest.is_file() and f'name = "{CRATE}"' in manifest.read_text():
            return root.resolve()
    raise SystemExit(
        f"webex-auth: cannot find the Rust workspace (looked at {candidates}); build from "
        "a checkout (pip install ./bindings/python) or set WEBEX_AUTH_SOURCE_DIR"
    )


def build_native() -> Path:
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
    distclass=BinaryDistribution,
    cmdclass={"build_native": BuildNative, "build_py": BuildPy, "bdist_wheel": BdistWheel},
)
