"""The package type-checks with ``mypy --strict`` (configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # bindings/python


def test_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy, or the test extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(PACKAGE_ROOT / "pyproject.toml")],
        cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout
