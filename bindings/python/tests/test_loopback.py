"""Loopback login (RFC 8252) against the emulator, the test playing the browser: GET the
authorize URL, follow its Location to the library's listener on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import urllib.parse

import pytest

import webex_auth as wa
from helpers import browser_get, closed_port


def query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def browse(emu, login: wa.LoopbackLogin, extra: str = "") -> tuple:
    """The browser's part: the authorize URL, then its redirect to the listener."""
    status, _, location = browser_get(login.url + extra)
    assert status == 302 and location, status
    assert location.startswith(f"http://127.0.0.1:{login.port}/callback?")
    status, page, _ = browser_get(location)
    return status, page, location


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_loopback_login_sync(emu, make_client) -> None:
    c = make_client()
    login = c.start_loopback_login(state={"window": 2}, timeout=30)
    assert isinstance(login, wa.LoopbackLogin) and not login.done and login.op > 0
    q = query(login.url)
    assert q["redirect_uri"] == f"http://127.0.0.1:{login.port}/callback" and login.port > 0
    assert q["code_challenge_method"] == "S256" and q["client_id"] == "test-client"
    status, page, location = browse(emu, login)
    assert status == 200 and "signed in" in page.lower()
    result = login.wait(timeout=20)
    assert isinstance(result, wa.RedirectResult) and login.done
    assert result.state == {"window": 2} and result.token.access_token and result.token.refresh_token
    assert result.clean_url.startswith(f"http://127.0.0.1:{login.port}/callback")
    assert "code=" not in result.clean_url and query(location)["code"] not in result.clean_url
    assert result.id_token_claims is None and result.org_id
    assert c.token is not None and c.token.access_token == result.token.access_token
    [sent] = emu.requests("token")
    assert dict(sent["form"])["redirect_uri"] == q["redirect_uri"]
    assert refused(login.port), "the listener is closed once the login ended"


def test_loopback_login_async_with_openid_and_a_given_port(emu, make_client) -> None:
    c = make_client()
    port = closed_port()
    login = c.start_loopback_login(port=port, scope="openid email")
    assert login.port == port

    async def main() -> wa.RedirectResult:
        task = asyncio.ensure_future(login.wait_async(timeout=20))
        status, _, _ = await asyncio.get_running_loop().run_in_executor(None, browse, emu, login)
        assert status == 200
        return await task

    result = asyncio.run(main())
    assert result.id_token_claims is not None and result.id_token_claims["email"] == "emulated.user@example.com"


def test_stray_requests_and_a_forged_state_do_not_end_it(emu, make_client) -> None:
    c = make_client()
    login = c.start_loopback_login(timeout=30)
    status, _, location = browser_get(login.url)
    assert status == 302 and location
    base = f"http://127.0.0.1:{login.port}"
    assert browser_get(base + "/favicon.ico")[0] == 404
    forged = location.replace("state=", "state=AAAA")
    assert browser_get(forged)[0] == 400
    assert not login.done and emu.requests("token") == []
    assert browser_get(location)[0] == 200
    assert login.wait(timeout=20).token.access_token


def test_error_redirect_and_cancel_and_timeout(emu, make_client) -> None:
    c = make_client()
    denied = c.start_loopback_login()
    status, page, _ = browse(emu, denied, extra="&force_error=access_denied")
    assert status == 400
    with pytest.raises(wa.OAuthError) as info:
        denied.wait(timeout=20)
    assert info.value.error == "access_denied"

    canceled = c.start_loopback_login()
    canceled.cancel()
    with pytest.raises(wa.CanceledError):
        canceled.wait(timeout=20)
    assert refused(canceled.port)
    canceled.cancel()  # a no-op once ended

    slow = c.start_loopback_login(timeout=0.3)
    with pytest.raises(wa.TimeoutError) as t:
        asyncio.run(slow.wait_async(timeout=20))
    assert t.value.status == "WXA_ERR_TIMEOUT" and "browser" in str(t.value)

    # this call's own timeout cancels the login
    waited = c.start_loopback_login()
    with pytest.raises(wa.TimeoutError):
        waited.wait(timeout=0.2)
    with pytest.raises(wa.CanceledError):  # it ends canceled (its done follows the cancel)
        waited.wait(timeout=5)
    assert waited.done and refused(waited.port)
    assert emu.requests("token") == []


@pytest.mark.parametrize(
    "kwargs,exc",
    [
        ({"port": "8080"}, TypeError),
        ({"port": True}, TypeError),
        ({"port": 70000}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": "30"}, TypeError),
        ({"state": "x"}, TypeError),
        ({"email": 5}, TypeError),
    ],
)
def test_loopback_garbage(make_client, kwargs, exc) -> None:
    with pytest.raises(exc):
        make_client().start_loopback_login(**kwargs)


def test_closing_the_client_closes_the_listener(make_client) -> None:
    c = make_client()
    login = c.start_loopback_login()
    assert not refused(login.port)
    c.close()
    with pytest.raises(wa.CanceledError):
        login.wait(timeout=5)
    assert refused(login.port)
