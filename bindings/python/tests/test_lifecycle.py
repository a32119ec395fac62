"""Client lifetime, handlers, garbage arguments and memory."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading

import pytest

import webex_auth as wa
from webex_auth import _events
from helpers import Recorder, client_config


def test_context_manager_returns_self_and_closes(emu) -> None:
    c = wa.Client(**client_config(emu))
    with c as same:
        assert same is c and not c.closed
    assert c.closed
    c.close()  # idempotent
    with pytest.raises(wa.ClientClosedError):
        with c:
            pass


def test_use_after_close_raises(emu) -> None:
    c = wa.Client(**client_config(emu))
    c.close()
    calls = [
        lambda: c.initiate_login(),
        lambda: c.handle_redirect("http://127.0.0.1/callback?code=a&state=b"),
        lambda: c.exchange_code("abc"),
        lambda: c.refresh(),
        lambda: c.get_valid_token(),
        lambda: c.client_credentials(),
        lambda: c.login_with_jwt("a.b.c"),
        lambda: c.logout(),
        lambda: c.token,
        lambda: c.set_token(access_token="x", expires_in=10),
        lambda: c.start_device_login(),
        lambda: c.start_loopback_login(),
        lambda: c.token_rejected("a"),
        lambda: c.whoami(),
        lambda: c.service_app_token(target_org_id="o", authorizing_token="t"),
        lambda: c.create_guest(subject="s"),
        lambda: asyncio.run(c.whoami_async()),
        lambda: asyncio.run(c.token_rejected_async("a")),
        lambda: asyncio.run(c.service_app_token_async(target_org_id="o", authorizing_token="t")),
        lambda: asyncio.run(c.create_guest_async(subject="s")),
        lambda: c.cancel(1),
        lambda: c.on("done", print),
        lambda: asyncio.run(c.refresh_async()),
        lambda: asyncio.run(c.handle_redirect_async("http://127.0.0.1/callback?code=a&state=b")),
        lambda: asyncio.run(c.start_device_login_async()),
    ]
    for call in calls:
        with pytest.raises(wa.ClientClosedError) as info:
            call()
        assert isinstance(info.value, ValueError) and "closed" in str(info.value)
    c.off("done", print)  # removing handlers after close is harmless


def test_closed_clients_leave_the_slab(emu) -> None:
    before = len(_events._slab)
    clients = [wa.Client(**client_config(emu)) for _ in range(20)]
    assert len(_events._slab) == before + 20
    for c in clients:
        c.close()
    assert len(_events._slab) == before
    # dropping a client without close() frees it too
    wa.Client(**client_config(emu))
    gc.collect()
    assert len(_events._slab) == before


def test_unreferenced_client_with_self_referencing_handler_is_collected(emu) -> None:
    before = len(_events._slab)
    c = wa.Client(**client_config(emu))
    c.on("token:refresh", lambda payload: c.token)  # a cycle through the handler
    del c
    gc.collect()
    assert len(_events._slab) == before


def test_handler_exception_is_logged_not_fatal(emu, make_client, caplog) -> None:
    c = make_client()
    seen = Recorder()

    def bad(payload: dict) -> None:
        raise RuntimeError("handler exploded on purpose")

    c.on("token:refresh", bad)
    c.on("token:refresh", seen)
    logged = threading.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "handler exploded on purpose" in record.getMessage():
                logged.set()

    watch = Watch()
    logging.getLogger("webex_auth").addHandler(watch)
    try:
        with caplog.at_level(logging.ERROR, logger="webex_auth"):
            tok = c.client_credentials()
            seen.wait_for("token:refresh")
            assert logged.wait(5), "the handler's exception was not logged"
    finally:
        logging.getLogger("webex_auth").removeHandler(watch)
    assert tok.access_token
    rec = next(r for r in caplog.records if "handler exploded on purpose" in r.getMessage())
    assert rec.name == "webex_auth" and rec.levelno == logging.ERROR
    # the client still works afterwards
    assert c.client_credentials().access_token


def test_on_off_and_star(emu, make_client) -> None:
    c = make_client()
    star, named, removed = Recorder(), Recorder(), Recorder()
    c.on("*", star)
    c.on("token:refresh", named)
    c.on("token:refresh", removed)
    c.off("token:refresh", removed)
    c.off("logout", removed)  # not registered: nothing happens

    @c.on("done")
    def decorated(payload: dict) -> None:
        named(payload)

    c.client_credentials()
    named.wait_for("done")
    star.wait_for("done")
    assert "token:refresh" in star.names and "done" in star.names
    assert removed.events == []
    assert named.wait_for("token:refresh")


def test_close_from_inside_a_handler(emu, make_client) -> None:
    c = make_client()
    closed_in_handler = threading.Event()
    errors = []

    def closer(payload: dict) -> None:
        try:
            c.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        closed_in_handler.set()

    c.on("token:refresh", closer)

    async def main() -> None:
        try:
            await asyncio.wait_for(c.client_credentials_async(), 10)
        except wa.CanceledError:
            pass  # closed before its `done` was delivered: acceptable

    asyncio.run(main())
    assert closed_in_handler.wait(5)
    assert errors == [] and c.closed
    with pytest.raises(wa.ClientClosedError):
        c.client_credentials()
    # the process is fine: another client works
    c2 = make_client()
    assert c2.client_credentials().access_token


def test_close_from_handler_during_sync_call(emu, make_client) -> None:
    c = make_client()
    closed = threading.Event()

    def closer(payload: dict) -> None:
        c.close()
        closed.set()

    c.on("token:refresh", closer)
    try:
        c.client_credentials(timeout=10)  # its `done` may or may not come first
    except wa.CanceledError:
        pass
    assert closed.wait(5) and c.closed
    with pytest.raises(wa.ClientClosedError):
        c.token


def test_blocking_call_inside_handler_is_refused(emu, make_client) -> None:
    c = make_client()
    got = []
    ready = threading.Event()

    def handler(payload: dict) -> None:
        try:
            c.refresh()
        except BaseException as exc:  # noqa: BLE001
            got.append(exc)
        got.append(c.token)  # non-blocking calls are fine
        ready.set()

    c.on("token:refresh", handler)
    c.client_credentials()
    assert ready.wait(5)
    assert isinstance(got[0], wa.InvalidArgumentError) and "handler" in str(got[0])
    assert isinstance(got[1], wa.Token)


def test_handlers_run_on_library_thread_and_can_start_async_ops(emu, make_client) -> None:
    c = make_client()
    threads = []
    ran = threading.Event()
    c.on("done", lambda p: (threads.append(threading.get_ident()), ran.set()))
    c.client_credentials()
    assert ran.wait(5)
    assert threads[0] != threading.get_ident()


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda c: c.handle_redirect(None), TypeError),
        (lambda c: c.handle_redirect(b"http://127.0.0.1/callback"), TypeError),
        (lambda c: c.handle_redirect(""), ValueError),
        (lambda c: c.handle_redirect("http://x/\x00"), ValueError),
        (lambda c: c.handle_redirect("http://x/", timeout="1"), TypeError),
        (lambda c: c.handle_redirect("http://x/", timeout=-1), ValueError),
        (lambda c: c.exchange_code(123), TypeError),
        (lambda c: c.exchange_code(""), ValueError),
        (lambda c: c.exchange_code("abc", b"verifier"), TypeError),
        (lambda c: c.get_valid_token(-1), ValueError),
        (lambda c: c.get_valid_token(2**32), ValueError),
        (lambda c: c.get_valid_token("5"), TypeError),
        (lambda c: c.get_valid_token(True), TypeError),
        (lambda c: c.get_valid_token(1.5), TypeError),
        (lambda c: c.login_with_jwt(None), TypeError),
        (lambda c: c.login_with_jwt(""), ValueError),
        (lambda c: c.token_rejected(b"tok"), TypeError),
        (lambda c: c.token_rejected("a\x00b"), ValueError),
        (lambda c: c.whoami(timeout=-1), ValueError),
        (lambda c: c.service_app_token("org", "tok"), TypeError),  # keyword-only
        (lambda c: c.service_app_token(target_org_id=1, authorizing_token="t"), TypeError),
        (lambda c: c.service_app_token(target_org_id="o", authorizing_token="t", application_id=b"a"), TypeError),
        (lambda c: c.create_guest("subject"), TypeError),  # keyword-only
        (lambda c: c.create_guest(subject="s", display_name=["x"]), TypeError),
        (lambda c: asyncio.run(c.whoami_async(timeout="1")), TypeError),
        (lambda c: c.set_token(42), TypeError),
        (lambda c: c.set_token(), TypeError),
        (lambda c: c.set_token({"access_token": None}), TypeError),
        (lambda c: c.set_token(access_token=""), ValueError),
        (lambda c: c.set_token(access_token="a", expires_at="tomorrow"), TypeError),
        (lambda c: c.initiate_login(state="not a dict"), TypeError),
        (lambda c: c.initiate_login(state={"x": object()}), TypeError),
        (lambda c: c.initiate_login(email=b"a@b"), TypeError),
        (lambda c: c.initiate_login(unknown="x"), TypeError),
        (lambda c: c.on("no-such-event", print), ValueError),
        (lambda c: c.on("done", 5), TypeError),
        (lambda c: c.on(None, print), TypeError),
        (lambda c: c.cancel("1"), TypeError),
        (lambda c: c.cancel(-1), ValueError),
        (lambda c: asyncio.run(c.refresh_async(timeout="x")), TypeError),
        (lambda c: wa.qr_code(None), TypeError),
        (lambda c: wa.qr_code("x", "png"), ValueError),
        (lambda c: wa.qr_code(b"x"), TypeError),
    ],
)
def test_garbage_arguments(emu, make_client, call, exc) -> None:
    c = make_client()
    with pytest.raises(exc):
        call(c)
    assert emu.requests("token") == []


def test_garbage_config(emu) -> None:
    with pytest.raises(TypeError):  # not JSON at all: refused before the library
        wa.Client(**client_config(emu, client_id=b"test-client"))
    # Everything else goes to the library as it is: it knows the keys and their types
    # and names the key it refuses (Python keeps no second list of keys).
    for key, value in (
        ("timeout_ms", "100"),
        ("self_contained_token", "yes"),
        ("client_id", ""),
        ("max_retries", -1),
        ("no_such_key", "x"),
    ):
        with pytest.raises(wa.InvalidArgumentError) as info:
            wa.Client(**client_config(emu, **{key: value}))
        assert isinstance(info.value, ValueError) and info.value.code == 2
        assert key in str(info.value), str(info.value)


def test_config_errors_do_not_repeat_values(emu) -> None:
    for key, value in (("no_such_key", "s3cr3t-value-1"), ("webex_api_url", "http://example.com/v1?s3cr3t-value-2")):
        with pytest.raises(wa.InvalidArgumentError) as info:
            wa.Client(**client_config(emu, **{key: value}))
        assert key in str(info.value) and "s3cr3t" not in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "key,value,shown",
    [
        ("timeout_ms", "100", "100"),
        ("max_retries", "7391", "7391"),
        ("self_contained_token", "8317", "8317"),
        ("client_secret", 5551234, "5551234"),
        ("refresh_before_expiry_s", [4242], "4242"),
        ("scope", {"s3cr3t": 1}, "s3cr3t"),
        ("environment", "s3cr3t-cloud", "s3cr3t"),
        ("proxy", "socks5://user:s3cr3t@proxy.example.com", "s3cr3t"),
    ],
)
def test_config_errors_of_the_wrong_type_do_not_repeat_the_value(emu, key, value, shown) -> None:
    # serde's own messages quote the value they refused ("invalid type: string "100",
    # expected u64"); the library's never do, whatever the type.
    with pytest.raises(wa.InvalidArgumentError) as info:
        wa.Client(**client_config(emu, **{key: value}))
    text = str(info.value)
    assert key in text and shown not in text, text


def test_unknown_operation(make_client) -> None:
    c = make_client()
    with pytest.raises(wa.UnknownOperationError) as info:
        c.cancel(987654)
    assert info.value.code == 12
    with pytest.raises(wa.UnknownOperationError):
        c.cancel(0)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_thousand_clients_flat_memory(emu) -> None:
    cfg = client_config(emu)

    def cycle(n: int) -> None:
        for _ in range(n):
            c = wa.Client(**cfg)
            c.on("done", lambda p: None)
            for _ in range(3):
                c.initiate_login(state={"n": 1})
            c.close()

    cycle(200)  # warm-up: allocator pools, lazily created runtime pieces
    gc.collect()
    before = _rss_bytes()
    cycle(1000)
    gc.collect()
    growth = _rss_bytes() - before
    # A leaked wxa_client costs about 3 KiB, so 1,000 of them would show.
    assert growth < 1536 * 1024, f"RSS grew by {growth / 1024:.0f} KiB over 1,000 clients"
    assert len(_events._slab) <= 10  # only the other tests' live clients


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_returned_strings_are_freed(emu) -> None:
    secret = emu.info()["guest_secret_b64"]

    def cycle(n: int) -> None:
        for i in range(n):
            wa.qr_code(f"https://example.com/verify?userCode={i:08d}", "svg")
            wa.create_jwt(issuer="guest-issuer-id", secret=secret, expires_in=60)

    cycle(100)
    gc.collect()
    before = _rss_bytes()
    cycle(800)  # an unfreed SVG alone is ~7 KiB: 800 of them would be ~6 MiB
    gc.collect()
    growth = _rss_bytes() - before
    assert growth < 1024 * 1024, f"RSS grew by {growth / 1024:.0f} KiB over 800 SVGs and JWTs"
