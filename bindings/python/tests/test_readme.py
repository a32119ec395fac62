"""The README's examples run against the emulator: the code login, the Service App bot,
and Login with Webex through a loopback login (with a stand-in browser)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

from helpers import login

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks() -> list:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def block_with(text: str) -> str:
    [found] = [b for b in blocks() if text in b]
    return found


def run(example: str, emu, **env: str) -> str:
    import webex_auth

    pkg_root = str(Path(webex_auth.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH")) if p)
    full: Dict[str, str] = dict(os.environ, WEBEX_EMULATOR_URL=emu.base_url, PYTHONPATH=path, **env)
    proc = subprocess.run([sys.executable, "-c", example], env=full, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_readme_example_runs(emu) -> None:
    example = blocks()[0]
    assert 12 <= len(example.strip().splitlines()) <= 18
    out = run(example, emu)
    assert "new token, expires" in out
    assert "{'return_to': '/inbox'}" in out and "http://127.0.0.1/callback" in out
    assert "access_token='***'" in out


def test_readme_service_app_example_runs(emu, make_client) -> None:
    integration = make_client()
    authorizing = integration.handle_redirect(login(emu, integration, scope="spark:applications_token")).token
    out = run(
        block_with("service_app_token("),
        emu,
        WEBEX_ORG_ID=emu.info()["org_id"],
        WEBEX_AUTHORIZING_TOKEN=authorizing.access_token,
    )
    assert "I am Service App service-app a bot" in out
    assert "subject='visitor-42'" in out and "access_token='***'" in out
    assert "the visitor is an appuser" in out
    assert authorizing.access_token not in out
    assert len(emu.requests("guests_token")) == 1


def test_readme_login_with_webex_example_runs(emu, tmp_path) -> None:
    # The stand-in browser: follows the authorize URL's redirects to the loopback
    # listener, as a browser would after the user signed in.
    browser = tmp_path / "stand-in-browser"
    browser.write_text(
        f"#!{sys.executable}\n"
        "import sys, urllib.request\n"
        "with urllib.request.urlopen(sys.argv[1], timeout=20) as page:\n"
        "    assert page.status == 200, page.status\n"
    )
    browser.chmod(0o755)
    out = run(block_with("start_loopback_login("), emu, BROWSER=str(browser))
    assert out.startswith("hello Emulated User emulated.user@example.com emulated-user-"), out
    [sent] = emu.requests("token")
    assert dict(sent["form"])["redirect_uri"].startswith("http://127.0.0.1:")
