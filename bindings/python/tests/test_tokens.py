"""Token operations against the emulator, sync and async, and the error classes they
produce (scripted failures, closed ports, timeouts)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

import webex_auth as wa
from helpers import Recorder, closed_port, login


def logged_in(emu, make_client, **overrides):
    c = make_client(**overrides)
    c.handle_redirect(login(emu, c))
    emu.clear_requests()
    return c


def test_refresh_sync_and_async(emu, make_client) -> None:
    c = logged_in(emu, make_client)
    events = Recorder()
    c.on("token:refresh", events)
    before = c.token
    assert before is not None
    t1 = c.refresh(timeout=20)
    assert t1.access_token != before.access_token
    assert c.token is not None and c.token.access_token == t1.access_token
    # The login's own token:refresh may still be on its way (events can arrive after the
    # wait returns): wait for the one that carries the refreshed token.
    got = events.wait_for("token:refresh", access_token=t1.access_token)
    assert "expires_at" in got

    t2 = asyncio.run(c.refresh_async(timeout=20))
    assert t2.access_token not in (t1.access_token, before.access_token)
    grants = emu.grants()
    assert grants == ["refresh_token", "refresh_token"]


def test_get_valid_token(emu, make_client) -> None:
    c = logged_in(emu, make_client)
    current = c.token
    assert current is not None
    tok = c.get_valid_token()
    assert tok.access_token == current.access_token
    assert emu.requests("token") == []  # still valid: no network
    # asking for more validity than the token has forces a refresh
    tok2 = c.get_valid_token(min_valid_s=10**8)
    assert tok2.access_token != current.access_token
    assert len(emu.requests("token")) == 1
    tok3 = asyncio.run(c.get_valid_token_async(0))
    assert tok3.access_token == tok2.access_token


def test_client_credentials_sync_and_async(emu, make_client) -> None:
    c = make_client()
    t1 = c.client_credentials()
    assert t1.access_token and c.token is not None
    t2 = asyncio.run(c.client_credentials_async(timeout=20))
    assert t2.access_token and t2.access_token != t1.access_token
    assert emu.grants() == ["client_credentials"] * 2


def test_token_snapshot_and_set_token(emu, make_client) -> None:
    c = make_client()
    assert c.token is None
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    saved = wa.Token(
        access_token="restored-access",
        token_type="Bearer",
        expires_at=expires,
        refresh_token="restored-refresh",
        refresh_token_expires_at=expires + timedelta(days=30),
        scope="spark:all",
    )
    c.set_token(saved)
    snap = c.token
    assert snap is not None
    assert snap.access_token == "restored-access" and snap.refresh_token == "restored-refresh"
    assert abs((snap.expires_at - expires).total_seconds()) < 1
    assert snap.scope == "spark:all"
    # a dict (e.g. json round trip) restores as well, keyword fields override
    c2 = make_client()
    c2.set_token(json.loads(json.dumps(snap.to_dict())), access_token="overridden")
    assert c2.token is not None and c2.token.access_token == "overridden"
    assert c2.token.refresh_token == "restored-refresh"
    # keywords only, expires_in in seconds
    c3 = make_client()
    c3.set_token(access_token="kw", expires_in=120)
    t3 = c3.token
    assert t3 is not None and 100 < t3.expires_in <= 120 and t3.refresh_token is None
    events = Recorder()
    c3.on("token:refresh", events)
    c3.set_token(access_token="kw2", expires_at=expires)
    assert events.wait_for("token:refresh", access_token="kw2")


def test_logout_sync_and_async(emu, make_client) -> None:
    c = logged_in(emu, make_client)
    events = Recorder()
    c.on("logout", events)
    assert c.logout() is None
    assert c.token is None
    events.wait_for("logout")
    assert emu.requests("logout") or emu.requests("revoke")

    c2 = logged_in(emu, make_client)
    assert asyncio.run(c2.logout_async()) is None
    assert c2.token is None


def test_not_authorized_without_token(make_client) -> None:
    c = make_client()
    with pytest.raises(wa.NotAuthorizedError) as info:
        c.refresh()
    assert info.value.code == 11
    with pytest.raises(wa.NotAuthorizedError):
        c.get_valid_token()
    with pytest.raises(wa.NotAuthorizedError):
        asyncio.run(c.refresh_async())
    # an access token without a refresh token cannot be refreshed either
    c.set_token(access_token="only-access", expires_in=3600)
    with pytest.raises(wa.NotAuthorizedError):
        c.refresh()


def test_expired_refresh_token_is_invalid_grant(emu, make_client) -> None:
    c = logged_in(emu, make_client)
    emu.expire_refresh_tokens()
    with pytest.raises(wa.InvalidGrantError) as info:
        c.refresh()
    assert info.value.error == "invalid_grant" and info.value.status == "WXA_ERR_OAUTH"


def test_wrong_secret_client_credentials(make_client) -> None:
    c = make_client(client_secret="wrong")
    with pytest.raises(wa.InvalidClientError):
        c.client_credentials()
    with pytest.raises(wa.InvalidClientError):
        asyncio.run(c.client_credentials_async())


def test_malformed_body_is_http_error(emu, make_client) -> None:
    c = make_client()
    emu.script("token", [{"status": 200, "body": "this is not json"}])
    with pytest.raises(wa.HttpError) as info:
        c.client_credentials()
    assert info.value.code == 5
    assert c.token is None


def test_unexpected_status_is_http_error(emu, make_client) -> None:
    c = make_client(max_retries=0)
    emu.script("token", [{"status": 502, "body": "<html>bad gateway</html>"}])
    with pytest.raises(wa.HttpError) as info:
        c.client_credentials()
    assert info.value.http_status == 502


def test_rate_limited(emu, make_client) -> None:
    c = make_client(max_retries=0)
    emu.script(
        "token",
        [{"status": 429, "body": "{}", "headers": [["Retry-After", "1"]]} for _ in range(3)],
    )
    with pytest.raises(wa.RateLimitedError) as info:
        c.client_credentials()
    assert info.value.code == 8 and info.value.http_status == 429
    assert len(emu.requests("token")) == 1  # no retry allowed


def test_engine_request_timeout(emu, make_client) -> None:
    c = make_client(timeout_ms=200, max_retries=0)
    emu.script("token", [{"status": 200, "body": "{}", "delay_ms": 3000}])
    start = time.monotonic()
    with pytest.raises(wa.TimeoutError) as info:
        c.client_credentials()
    assert time.monotonic() - start < 2.5
    assert info.value.code == 7 and isinstance(info.value, TimeoutError)


def test_python_timeout_cancels_operation(emu, make_client) -> None:
    c = make_client()
    # The server answers long after the 0.3 s the caller allows.
    emu.delay("token", 15000)
    done = Recorder()
    c.on("done", done)
    start = time.monotonic()
    with pytest.raises(wa.TimeoutError):
        c.client_credentials(timeout=0.3)
    assert time.monotonic() - start < 1.5
    # the operation was canceled, not left running
    assert done.wait_for("done", timeout=5)["status"] == "WXA_ERR_CANCELED"
    assert c.token is None

    async def main() -> None:
        await c.client_credentials_async(timeout=0.3)

    with pytest.raises(wa.TimeoutError):
        asyncio.run(main())


def test_network_error_to_closed_port(make_client, emu) -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}"
    c = make_client(webex_api_url=base + "/v1", idbroker_url=base, max_retries=0)
    with pytest.raises(wa.NetworkError) as info:
        c.client_credentials(timeout=20)
    assert info.value.code == 6
    with pytest.raises(wa.NetworkError):
        asyncio.run(c.client_credentials_async(timeout=20))


def test_async_task_cancellation_cancels_operation(emu, make_client) -> None:
    c = make_client()
    # The server answers long after the task is canceled.
    emu.delay("token", 15000)
    done = Recorder()
    c.on("done", done)

    async def main() -> None:
        task = asyncio.ensure_future(c.client_credentials_async())
        await asyncio.sleep(0)  # one turn: the task starts the operation and awaits it
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert done.wait_for("done", timeout=5)["status"] == "WXA_ERR_CANCELED"


def test_close_while_waiting_raises_canceled(emu, make_client) -> None:
    import threading

    c = make_client()
    emu.delay("token", 3000)
    errors = []

    def run() -> None:
        try:
            c.client_credentials()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    start = time.monotonic()
    c.close()
    t.join(10)
    assert not t.is_alive()
    assert time.monotonic() - start < 3
    assert len(errors) == 1 and isinstance(errors[0], wa.CanceledError), errors


def test_close_cancels_async_operations(emu, make_client) -> None:
    c = make_client()
    emu.delay("token", 3000)

    async def main() -> None:
        task = asyncio.ensure_future(c.client_credentials_async())
        await asyncio.sleep(0)  # one turn: the task starts the operation and awaits it
        assert not task.done()
        c.close()
        with pytest.raises(wa.CanceledError):
            await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_many_concurrent_async_operations(emu, make_client) -> None:
    c = make_client()

    async def main() -> list:
        return await asyncio.gather(*(c.client_credentials_async(timeout=30) for _ in range(20)))

    tokens = asyncio.run(main())
    assert len({t.access_token for t in tokens}) == 20


def test_ctrl_c_interrupts_a_blocking_wait_and_cancels(emu, make_client) -> None:
    import signal
    import threading

    c = make_client()
    # Far longer than the SIGINT's 0.3 s: on a loaded machine the timer thread can be
    # late, and the call must still be blocked when the signal comes.
    emu.delay("token", 15000)
    done = Recorder()
    c.on("done", done)
    main = threading.get_ident()
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))
    # Python turns SIGINT into KeyboardInterrupt only if its parent did not ignore the
    # signal, and shells ignore it for commands started in the background (CI runners
    # often do): install Python's own handler for the duration of the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            c.client_credentials()  # timeout=None: waits in slices, so SIGINT gets through
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - start < 2
    assert done.wait_for("done", timeout=5)["status"] == "WXA_ERR_CANCELED"
