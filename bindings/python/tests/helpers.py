"""Test helpers: the emulator process and its admin API (stdlib urllib only), client
configs pointing at it, an event recorder."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[3]
DEFAULT_EMULATOR = REPO / "target" / "debug" / "webex-auth-emulator"
REDIRECT_URI = "http://127.0.0.1/callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


_no_redirect_opener = urllib.request.build_opener(_NoRedirect())


class Emulator:
    """A running emulator process and its admin endpoints."""

    def __init__(self, proc: subprocess.Popen, base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url.rstrip("/")

    # -- raw HTTP
    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, {} if body is None else body)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    # -- admin helpers
    def info(self) -> Dict[str, Any]:
        return self.get("/_emulator/info")

    def script(self, endpoint: str, responses: List[Dict[str, Any]]) -> None:
        self.post("/_emulator/script", {"endpoint": endpoint, "responses": responses})

    def requests(self, endpoint: str) -> List[Dict[str, Any]]:
        return self.get("/_emulator/requests?endpoint=" + urllib.parse.quote(endpoint))

    def grants(self) -> List[str]:
        """``grant_type`` of every request recorded at the token endpoint."""
        return [form(r).get("grant_type", "") for r in self.requests("token")]

    def clear_scripts(self) -> None:
        self.post("/_emulator/clear_scripts")

    def clear_requests(self) -> None:
        self.post("/_emulator/clear_requests")

    def config(self, **values: Any) -> None:
        self.post("/_emulator/config", values)

    def delay(self, endpoint: str, delay_ms: int) -> None:
        self.post("/_emulator/delay", {"endpoint": endpoint, "delay_ms": delay_ms})

    def approve(self, user_code: str) -> bool:
        return bool(self.post("/_emulator/device/approve", {"user_code": user_code}).get("ok"))

    def deny(self, user_code: str) -> bool:
        return bool(self.post("/_emulator/device/deny", {"user_code": user_code}).get("ok"))

    def expire_refresh_tokens(self) -> None:
        self.post("/_emulator/expire_refresh_tokens")

    def advance_clock(self, seconds: int) -> None:
        """Moves the emulator's "now" ahead for every expiry it judges (not the engine's)."""
        self.post("/_emulator/clock/advance", {"seconds": seconds})

    def reset_clock(self) -> None:
        self.post("/_emulator/clock/reset")

    def rotate_keys(self, keep_old: bool = True) -> Dict[str, Any]:
        return self.post("/_emulator/jwks/rotate", {"keep_old": keep_old})

    def authorize_service_app(self, client_id: str, authorized: bool) -> None:
        assert self.post("/_emulator/service_apps/authorize", {"client_id": client_id, "authorized": authorized})["ok"]

    @property
    def fedramp_api_url(self) -> str:
        return self.base_url + "/fedramp/v1"

    @property
    def fedramp_idbroker_url(self) -> str:
        return self.base_url + "/fedramp"

    def authorize(self, url: str) -> str:
        """GET the authorize URL without following the redirect; return ``Location``."""
        try:
            resp = _no_redirect_opener.open(url, timeout=10)
        except urllib.error.HTTPError as err:
            if err.code in (301, 302, 303, 307, 308):
                location = err.headers["Location"]
                assert location, "redirect without Location"
                return location
            raise
        raise AssertionError(f"authorize answered {resp.status} instead of a redirect")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


def start_emulator() -> Emulator:
    path = os.environ.get("WEBEX_AUTH_EMULATOR", str(DEFAULT_EMULATOR))
    if not Path(path).is_file():
        pytest.fail(
            f"emulator binary {path} not found: run `cargo build -p webex-auth-emulator` "
            "(or set WEBEX_AUTH_EMULATOR)"
        )
    proc = subprocess.Popen(
        [path, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening "):
                return Emulator(proc, line.split(None, 1)[1].strip())
        if proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    pytest.fail("the emulator did not print its `listening URL` line")


def client_config(emu: Emulator, **overrides: Any) -> Dict[str, Any]:
    cfg: Dict[str, Any] = {
        "client_id": "test-client",
        "client_secret": "test-secret",
        "redirect_uri": REDIRECT_URI,
        "webex_api_url": emu.base_url + "/v1",
        "idbroker_url": emu.base_url,
        "timeout_ms": 10_000,
    }
    cfg.update(overrides)
    return {k: v for k, v in cfg.items() if v is not None}


def header(record: Dict[str, Any], name: str) -> str:
    """A recorded request's header (names are recorded in lower case); "" when absent."""
    return dict((k, v) for k, v in record.get("headers") or []).get(name.lower(), "")


def browser_get(url: str) -> Tuple[int, str, Optional[str]]:
    """GET ``url`` as a browser would, without following a redirect: ``(status, body,
    Location)`` (an error status is returned, not raised)."""
    try:
        resp = _no_redirect_opener.open(url, timeout=10)
        return resp.status, resp.read().decode("utf-8", "replace"), resp.headers.get("Location")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), err.headers.get("Location")


SERVICE_APP = {"client_id": "service-app", "client_secret": "service-app-secret"}


def form(record: Dict[str, Any]) -> Dict[str, str]:
    """A recorded request's form body (a list of pairs) as a dict."""
    return dict(record.get("form") or [])


def closed_port() -> int:
    """A loopback port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def login(emu: Emulator, client: Any, **opts: Any) -> str:
    """initiate_login, then the emulator's consent: the redirect URL to hand back."""
    return emu.authorize(client.initiate_login(**opts))


class Recorder:
    """An event handler that records (name, payload) and can wait for a name."""

    def __init__(self) -> None:
        import threading

        self.events: List[Dict[str, Any]] = []
        self.cond = threading.Condition()

    def __call__(self, payload: Dict[str, Any]) -> None:
        with self.cond:
            self.events.append(payload)
            self.cond.notify_all()

    @property
    def names(self) -> List[str]:
        with self.cond:
            return [e.get("type", "?") for e in self.events]

    def wait_for(self, name: str, timeout: float = 15.0, **match: Any) -> Dict[str, Any]:
        """The first event ``name`` whose payload has the ``match`` items."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if e.get("type") == name and all(e.get(k) == v for k, v in match.items()):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name!r} event within {timeout}s; got {self.names}")
                self.cond.wait(left)
