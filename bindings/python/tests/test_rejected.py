"""When the token stops working: ``token_rejected`` (the app's 401, compare-and-refresh,
one refresh for every caller) and the ``unauthorized`` event with its ``reason``."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

import webex_auth as wa
from helpers import Recorder, login


def logged_in(emu, make_client, **overrides):
    c = make_client(**overrides)
    c.handle_redirect(login(emu, c))
    emu.clear_requests()
    return c


def test_token_rejected_from_many_threads_is_one_refresh(emu, make_client) -> None:
    c = logged_in(emu, make_client)
    old = c.token
    assert old is not None
    emu.delay("token", 300)  # every caller arrives while the one refresh is out
    results, errors = [], []
    start = threading.Barrier(16)

    def call() -> None:
        start.wait()
        try:
            results.append(c.token_rejected(old.access_token, timeout=20))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(results) == 16
    assert len({t.access_token for t in results}) == 1
    fresh = results[0]
    assert fresh.access_token != old.access_token
    assert emu.grants() == ["refresh_token"]
    # A late caller with the old token: the token already changed, so no request.
    emu.delay("token", 0)
    assert c.token_rejected(old.access_token).access_token == fresh.access_token
    assert emu.grants() == ["refresh_token"]


def test_token_rejected_from_many_coroutines_is_one_refresh(emu, make_client) -> None:
    c = logged_in(emu, make_client)
    old = c.token
    assert old is not None
    emu.delay("token", 300)

    async def main() -> list:
        return await asyncio.gather(*(c.token_rejected_async(old.access_token, timeout=20) for _ in range(50)))

    tokens = asyncio.run(main())
    assert len({t.access_token for t in tokens}) == 1 and tokens[0].access_token != old.access_token
    assert emu.grants() == ["refresh_token"]
    # The new token rejected in turn: one more refresh.
    emu.delay("token", 0)
    again = c.token_rejected(tokens[0].access_token)
    assert again.access_token != tokens[0].access_token and emu.grants() == ["refresh_token"] * 2


def test_token_rejected_refusals(emu, make_client) -> None:
    c = make_client()
    with pytest.raises(wa.NotAuthorizedError):
        c.token_rejected("whatever")  # no token at all
    with pytest.raises(TypeError):
        c.token_rejected(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        c.token_rejected("")
    # a token that cannot be refreshed
    c.set_token(access_token="no-refresh", expires_in=600)
    with pytest.raises(wa.NotAuthorizedError):
        c.token_rejected("no-refresh")
    assert emu.requests("token") == []


def test_unauthorized_reason_after_the_server_refuses_the_refresh_token(fresh_emu, make_client) -> None:
    c = logged_in(fresh_emu, make_client, emulator=fresh_emu)
    events = Recorder()
    c.on("unauthorized", events)
    # The emulator's clock passes the refresh token's 60 days: Webex answers invalid_grant.
    fresh_emu.advance_clock(61 * 24 * 3600)
    old = c.token
    assert old is not None
    with pytest.raises(wa.InvalidGrantError):
        c.token_rejected(old.access_token)
    payload = events.wait_for("unauthorized")
    assert payload["status"] == "WXA_ERR_NOT_AUTHORIZED" and payload["message"]
    # The emulator's description says "expired, revoked, malformed, or invalid": no one reason.
    assert payload["reason"] == "invalid_grant"
    assert "refresh_token_expired_at" not in payload
    assert c.token is None


def test_unauthorized_reason_when_the_refresh_token_outlived_its_life(emu, make_client) -> None:
    c = make_client()
    events = Recorder()
    c.on("unauthorized", events)
    died = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    c.set_token(
        access_token="still-valid-access",
        expires_in=600,
        refresh_token="expired-refresh",
        refresh_token_expires_at=died,
    )
    with pytest.raises(wa.NotAuthorizedError):
        c.refresh()
    payload = events.wait_for("unauthorized")
    assert payload["reason"] == "refresh_token_expired"
    assert payload["refresh_token_expired_at"] == int(died.timestamp() * 1000)
    assert emu.requests("token") == []
    # The access token lives on until it expires; only the refresh token is gone.
    t = c.token
    assert t is not None and t.access_token == "still-valid-access" and t.refresh_token is None


def test_unauthorized_reason_reaches_async_handlers_in_order(fresh_emu, make_client) -> None:
    c = logged_in(fresh_emu, make_client, emulator=fresh_emu)
    seen = Recorder()
    c.on("*", seen)
    fresh_emu.expire_refresh_tokens()
    with pytest.raises(wa.InvalidGrantError):
        asyncio.run(c.refresh_async())
    gone = seen.wait_for("unauthorized")
    assert gone["reason"] in ("invalid_grant", "revoked", "refresh_token_expired") and gone["op"]
    seen.wait_for("done", op=gone["op"])
    # (the login's own `done` may come after the handler was added: only this op's count)
    names = [e["type"] for e in list(seen.events) if e.get("op") == gone["op"]]
    assert names == ["unauthorized", "auth:error", "done"], seen.names
    assert c.token is None  # cleared before the unauthorized event, so before the done
