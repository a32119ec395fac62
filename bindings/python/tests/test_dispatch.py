"""The dispatcher's bookkeeping, driven with synthetic events (no network): a `done`
that beats the function that started the operation, bounded buffers, close."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

from webex_auth import _events as ev


# wxa_event_type numbers, as the library names them.
DONE = ev.EVENT_NUMBERS["done"]
USER_CODE = ev.EVENT_NUMBERS["getUserCodeSuccess"]
LOGOUT = ev.EVENT_NUMBERS["logout"]


def done(op: int, ok: bool = True, **extra) -> bytes:
    return json.dumps({"type": "done", "op": op, "ok": ok, **extra}).encode()


def test_early_done_is_kept_for_the_waiter() -> None:
    core = ev.Core(10_001)
    core.dispatch(DONE, 7, done(7, access_token="a"))
    waiter = core.claim(7)
    assert waiter.done is not None and waiter.done["access_token"] == "a"
    assert 7 not in core.waiters and 7 not in core.early


def test_early_done_for_sync_wait() -> None:
    core = ev.Core(10_002)
    core.dispatch(DONE, 3, done(3))
    assert core.claim_sync(3) == {"type": "done", "op": 3, "ok": True}
    # a done that comes after the sync claim is dropped, not buffered
    assert core.claim_sync(4) is None and 4 in core.sync_running
    core.dispatch(DONE, 4, done(4))
    assert 4 not in core.early and 4 not in core.sync_running


def test_early_buffer_is_bounded() -> None:
    core = ev.Core(10_003)
    for op in range(1, ev._EARLY_LIMIT + 50):
        core.dispatch(DONE, op, done(op))
    assert len(core.early) == ev._EARLY_LIMIT
    assert 1 not in core.early and ev._EARLY_LIMIT + 49 in core.early


def test_user_code_then_done_resolve_async_and_threads() -> None:
    core = ev.Core(10_004)
    waiter = core.claim(9)
    got = []

    def block() -> None:
        got.append(waiter.wait("done", None))

    t = threading.Thread(target=block)
    t.start()

    async def main() -> tuple:
        loop = asyncio.get_running_loop()
        f_code, f_done = loop.create_future(), loop.create_future()
        waiter.listen(loop, f_code, "user_code")
        waiter.listen(loop, f_done, "done")
        threading.Thread(
            target=lambda: (
                core.dispatch(USER_CODE, 9, json.dumps({"type": "getUserCodeSuccess", "op": 9, "userCode": "X"}).encode()),
                core.dispatch(DONE, 9, done(9)),
            )
        ).start()
        return await asyncio.wait_for(f_code, 5), await asyncio.wait_for(f_done, 5)

    code, fin = asyncio.run(main())
    t.join(5)
    assert code["userCode"] == "X" and fin["ok"] is True and got == [fin]
    assert 9 not in core.waiters


def test_shut_fails_waiters_and_refuses_new_ones() -> None:
    core = ev.Core(10_005)
    waiter = core.claim(1)
    core.shut()
    assert waiter.done is not None and waiter.done["status"] == "WXA_ERR_CANCELED"
    late = core.claim(2)
    assert late.done is not None and late.done["status"] == "WXA_ERR_CANCELED"
    core.dispatch(DONE, 5, done(5))
    assert core.early == {}


def test_handler_errors_are_logged_and_others_still_run(caplog) -> None:
    core = ev.Core(10_006)
    seen = []
    core.handlers["logout"] = [lambda p: 1 / 0, seen.append]
    core.handlers["*"] = [seen.append]
    with caplog.at_level(logging.ERROR, logger="webex_auth"):
        core.dispatch(LOGOUT, 0, b'{"type":"logout"}')
    assert seen == [{"type": "logout"}, {"type": "logout"}]
    assert any("ZeroDivisionError" in r.getMessage() for r in caplog.records)


def test_handlers_get_their_own_copy() -> None:
    core = ev.Core(10_007)
    seen = []
    core.handlers["logout"] = [lambda p: p.clear(), seen.append]
    core.dispatch(LOGOUT, 0, b'{"type":"logout"}')
    assert seen == [{"type": "logout"}]


def test_trampoline_drops_events_of_unknown_clients_with_a_warning(caplog) -> None:
    # A client that left the slab (as a closed one does), with handlers still attached.
    core = ev.register()
    ran = []
    core.handlers["done"] = [ran.append]
    core.handlers["*"] = [ran.append]
    core.claim(1)
    ev._on_event(core.index, DONE, 7, done(7, access_token="live"))
    assert len(ran) == 2  # while registered, its handlers run
    ran.clear()
    ev.unregister(core)
    with caplog.at_level(logging.WARNING, logger="webex_auth"):
        ev._on_event(core.index, DONE, 1, done(1, access_token="SECRET-token-value"))
        ev._on_event(987_654_321, LOGOUT, 0, b'{"type":"logout"}')
        ev._on_event(None, DONE, 1, None)  # NULL user_data: nothing raised into C either
    assert ran == [] and core.waiters[1].done is None  # no handler ran, no waiter was fed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "webex_auth"]
    assert len(warnings) == 3, [r.getMessage() for r in caplog.records]
    assert f"client #{core.index}" in warnings[0].getMessage() and "'done'" in warnings[0].getMessage()
    assert "'logout'" in warnings[1].getMessage()
    assert all("SECRET" not in r.getMessage() for r in caplog.records)
