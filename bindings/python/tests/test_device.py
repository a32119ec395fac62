"""Device (QR) login against the emulator: events in order, approval, cancel,
expiry, failures, sync and async."""

from __future__ import annotations

import asyncio
import threading

import pytest

import webex_auth as wa
from helpers import Recorder, client_config


@pytest.fixture
def fast_emu(fresh_emu):
    fresh_emu.config(device_interval_s=1)
    return fresh_emu


def approve_after_first_pending(emu, events: Recorder, user_code: str) -> threading.Thread:
    def run() -> None:
        events.wait_for("authorizationPending", timeout=20)
        assert emu.approve(user_code)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_device_login_events_in_order(fast_emu) -> None:
    emu = fast_emu
    emu.script("device_token", [{"status": 428, "body": '{"error":"authorization_pending"}'}, {"passthrough": True}])
    with wa.Client(**client_config(emu)) as c:
        events = Recorder()
        c.on("*", events)
        dl = c.start_device_login(timeout=20)
        assert isinstance(dl, wa.DeviceLogin)
        assert dl.user_code and dl.verification_uri.startswith("http")
        assert dl.user_code in dl.verification_uri_complete
        assert dl.expires_in and dl.expires_in > 0 and dl.interval == 1
        assert dl.op >= 1 and not dl.done
        approver = approve_after_first_pending(emu, events, dl.user_code)
        token = dl.wait(timeout=30)
        approver.join(5)
        assert token.access_token and c.token is not None
        assert c.token.access_token == token.access_token
        assert dl.done
        events.wait_for("done")
        flow = [e for e in events.events if e.get("op") == dl.op]
        names = [e["type"] for e in flow]
        assert names[0] == "getUserCodeSuccess"
        assert names[-1] == "done" and flow[-1]["ok"] is True
        assert "authorizationPending" in names
        success = names.index("authorizationSuccess")
        assert success > max(i for i, n in enumerate(names) if n == "authorizationPending")
        assert names.count("done") == 1
        assert "token:refresh" in [e["type"] for e in events.events]
        assert flow[0]["userCode"] == dl.user_code
        pending = [e for e in flow if e["type"] == "authorizationPending"]
        assert all(e.get("interval") == 1 for e in pending)
        polls = emu.requests("device_token")
        assert len(polls) >= 2 and polls[0]["status"] == 428


def test_device_login_async(fast_emu) -> None:
    emu = fast_emu

    async def main() -> wa.Token:
        with wa.Client(**client_config(emu)) as c:
            events = Recorder()
            c.on("authorizationPending", events)
            dl = await c.start_device_login_async(timeout=20)
            approve_after_first_pending(emu, events, dl.user_code)
            return await dl.wait_async(timeout=30)

    assert asyncio.run(main()).access_token


def test_device_login_cancel(fast_emu) -> None:
    with wa.Client(**client_config(fast_emu)) as c:
        events = Recorder()
        c.on("*", events)
        dl = c.start_device_login()
        events.wait_for("authorizationPending", timeout=20)
        dl.cancel()
        with pytest.raises(wa.CanceledError) as info:
            dl.wait(timeout=10)
        assert info.value.code == 10
        events.wait_for("pollingCanceled")
        assert c.token is None
        dl.cancel()  # no-op once ended


def test_device_login_deny(fast_emu) -> None:
    with wa.Client(**client_config(fast_emu)) as c:
        events = Recorder()
        c.on("*", events)
        dl = c.start_device_login()
        events.wait_for("authorizationPending", timeout=20)
        assert fast_emu.deny(dl.user_code)
        with pytest.raises(wa.OAuthError) as info:
            dl.wait(timeout=20)
        assert info.value.error == "access_denied"
        events.wait_for("authorizationFailure")


def test_device_login_expires(fresh_emu) -> None:
    fresh_emu.config(device_interval_s=1, device_expires_in_s=2)
    with wa.Client(**client_config(fresh_emu)) as c:
        events = Recorder()
        c.on("authorizationFailure", events)
        dl = c.start_device_login()
        with pytest.raises(wa.ExpiredError) as info:
            dl.wait(timeout=30)
        assert info.value.code == 9
        assert events.wait_for("authorizationFailure")["status"] == "WXA_ERR_EXPIRED"


def test_device_wait_timeout_cancels(fast_emu) -> None:
    with wa.Client(**client_config(fast_emu)) as c:
        events = Recorder()
        c.on("pollingCanceled", events)
        dl = c.start_device_login()
        with pytest.raises(wa.TimeoutError):
            dl.wait(timeout=0.5)
        events.wait_for("pollingCanceled")


def test_user_code_failure_raises(emu, make_client) -> None:
    c = make_client()
    events = Recorder()
    c.on("getUserCodeFailure", events)
    emu.script("device_authorize", [{"status": 400, "body": '{"error":"invalid_client","error_description":"nope"}'}])
    with pytest.raises(wa.InvalidClientError):
        c.start_device_login(timeout=20)
    events.wait_for("getUserCodeFailure")

    emu.script("device_authorize", [{"status": 400, "body": '{"error":"invalid_scope"}'}])

    async def main() -> None:
        await c.start_device_login_async(timeout=20)

    with pytest.raises(wa.InvalidScopeError):
        asyncio.run(main())


def test_second_device_login_is_refused(emu, make_client) -> None:
    c = make_client()
    first = c.start_device_login(timeout=20)
    with pytest.raises(wa.InvalidArgumentError):
        c.start_device_login(timeout=20)
    first.cancel()
    with pytest.raises(wa.CanceledError):
        first.wait(timeout=10)


def test_qr(emu, make_client) -> None:
    c = make_client()
    dl = c.start_device_login(timeout=20)
    text = dl.qr_text()
    assert len(text.splitlines()) > 10 and any(ch in text for ch in "█▀▄")
    svg = dl.qr_svg()
    assert "<svg" in svg and "</svg>" in svg
    assert wa.qr_code(dl.verification_uri_complete) == text
    dl.cancel()
