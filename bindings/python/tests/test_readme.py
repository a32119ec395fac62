"""The README's example runs against the emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(emu) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = blocks[0]
    assert 12 <= len(example.strip().splitlines()) <= 18
    import webex_auth

    pkg_root = str(Path(webex_auth.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, WEBEX_EMULATOR_URL=emu.base_url, PYTHONPATH=path)
    proc = subprocess.run([sys.executable, "-c", example], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "new token, expires" in out
    assert "{'return_to': '/inbox'}" in out and "http://127.0.0.1/callback" in out
    assert "access_token='***'" in out
