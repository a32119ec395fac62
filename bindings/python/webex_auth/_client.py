"""``Client``, ``Token``, ``RedirectResult`` and ``DeviceLogin`` over a ``wxa_client``.

Owns the event dispatcher: one module-level C callback receives every client's events
with the client's slab index in ``user_data``, routes each to the app's handlers, then
to whoever waits for that operation (``*_async`` futures, device logins). Blocking
methods wait with ``wxa_wait``. Argument checks happen here, before C; the calling
conventions live in ``_native``.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import itertools
import json
import logging
import math
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
    TypeVar,
    Union,
    overload,
)
from contextlib import contextmanager

from ._bindings import lib, take_string, wxa_event_fn, wxa_op
from ._errors import (
    CanceledError,
    ClientClosedError,
    InternalError,
    InvalidArgumentError,
    RequestTimeoutError,
    WebexAuthError,
    error_from_result,
)
from ._managed import Managed
from ._native import (
    OK,
    PENDING,
    call_string_out,
    check_opt_str,
    check_str,
    check_timeout,
    check_uint32,
    datetime_to_ms,
    dumps,
    encode,
    ms_to_datetime,
    raise_for,
)

__all__ = [
    "Client",
    "Token",
    "RedirectResult",
    "DeviceLogin",
    "EventHandler",
    "EVENT_NAMES",
]

logger = logging.getLogger("webex_auth")

EventHandler = Callable[[Dict[str, Any]], Any]
F = TypeVar("F", bound=EventHandler)

# wxa_event_type numbers (C-API.md) -> payload "type".
EVENT_DONE = 1
EVENT_USER_CODE = 5
EVENT_USER_CODE_FAILURE = 6


def _library_event_types() -> Dict[int, str]:
    """wxa_event_type number -> payload ``type``, as the loaded library names them, so
    an event a newer library adds is known here without a package update."""
    names: Dict[int, str] = {}
    for number in itertools.count(1):
        name = lib.wxa_event_name(number).decode()
        if name == "unknown":
            return names
        names[number] = name
    return names  # unreachable: count() never ends


_EVENT_TYPES = _library_event_types()
#: The names ``Client.on`` accepts: every payload ``type`` plus ``"*"`` (all events).
EVENT_NAMES = frozenset(_EVENT_TYPES.values()) | {"*"}

_WAIT_SLICE_S = 0.25  # blocking waits wake this often so Ctrl-C gets through
_EARLY_LIMIT = 1024  # events kept for operations nobody has claimed yet
_CLOSE_DRAIN_S = 5.0  # how long close() waits for other threads' calls to return

_CONFIG_STR_KEYS = {
    "client_id", "client_secret", "redirect_uri", "scope", "webex_api_url",
    "idbroker_url", "authorize_url", "token_url", "device_authorize_url",
    "device_token_url", "jwt_login_url", "logout_url", "revoke_url", "client_auth",
    "issuer", "guest_issuer", "guest_secret", "guest_subject", "guest_display_name",
}  # fmt: skip
_CONFIG_INT_KEYS = {"timeout_ms", "max_retries", "refresh_before_expiry_s", "login_ttl_s"}
_CONFIG_BOOL_KEYS = {"self_contained_token"}


# --------------------------------------------------------------------------- Token


def _hidden(value: Optional[str]) -> str:
    return "None" if value is None else "'***'"


@dataclass(frozen=True, repr=False)
class Token:
    """A snapshot of the client's token (the C API's "supertoken").

    ``repr``/``str`` never show ``access_token``, ``refresh_token`` or ``id_token``.
    ``to_dict()`` gives the shape ``Client.set_token`` (and ``wxa_set_token``) takes, so
    a saved token restores as it was.
    """

    access_token: str
    token_type: str
    expires_at: datetime
    refresh_token: Optional[str] = None
    refresh_token_expires_at: Optional[datetime] = None
    scope: Optional[str] = None
    id_token: Optional[str] = field(default=None)

    def __repr__(self) -> str:
        return (
            f"Token(access_token={_hidden(self.access_token)}, "
            f"token_type={self.token_type!r}, expires_at={self.expires_at.isoformat()!r}, "
            f"refresh_token={_hidden(self.refresh_token)}, "
            f"refresh_token_expires_at="
            f"{None if self.refresh_token_expires_at is None else self.refresh_token_expires_at.isoformat()!r}, "
            f"scope={self.scope!r}, id_token={_hidden(self.id_token)})"
        )

    __str__ = __repr__

    @property
    def expires_in(self) -> float:
        """Seconds until ``expires_at`` (negative once expired)."""
        return (self.expires_at - datetime.now(timezone.utc)).total_seconds()

    @property
    def expired(self) -> bool:
        return self.expires_in <= 0

    def to_dict(self) -> Dict[str, Any]:
        """The supertoken dict: times as Unix milliseconds, absent fields left out."""
        out: Dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_at": datetime_to_ms(self.expires_at, "expires_at"),
        }
        if self.refresh_token is not None:
            out["refresh_token"] = self.refresh_token
        if self.refresh_token_expires_at is not None:
            out["refresh_token_expires_at"] = datetime_to_ms(
                self.refresh_token_expires_at, "refresh_token_expires_at"
            )
        if self.scope is not None:
            out["scope"] = self.scope
        if self.id_token is not None:
            out["id_token"] = self.id_token
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Token":
        """Build from a supertoken dict (a payload, or what ``to_dict`` returned)."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a token must be a mapping, not {type(data).__name__}")
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("a token needs a non-empty access_token")
        expires_at = ms_to_datetime(data.get("expires_at"))
        if expires_at is None:
            expires_in = data.get("expires_in")
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
                expires_at = datetime.now(timezone.utc) + timedelta(seconds=expires_in)
            else:
                raise ValueError("a token needs expires_at (Unix ms) or expires_in")
        token_type = data.get("token_type")
        refresh = data.get("refresh_token")
        scope = data.get("scope")
        id_token = data.get("id_token")
        return cls(
            access_token=access,
            token_type=token_type if isinstance(token_type, str) else "Bearer",
            expires_at=expires_at,
            refresh_token=refresh if isinstance(refresh, str) else None,
            refresh_token_expires_at=ms_to_datetime(data.get("refresh_token_expires_at")),
            scope=scope if isinstance(scope, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )


@dataclass(frozen=True)
class RedirectResult:
    """What ``handle_redirect`` gives: the token, the redirect URL with ``code``, the
    CSRF token and other sensitive parameters removed, the app's ``state`` object
    passed to ``initiate_login`` (``{}`` when none) and the code's ``org_id``."""

    token: Token
    clean_url: str
    state: Dict[str, Any]
    org_id: Optional[str] = None


def _token_result(result: Mapping[str, Any]) -> Token:
    try:
        return Token.from_dict(result)
    except (TypeError, ValueError) as exc:
        raise InternalError(f"the library returned a malformed token: {exc}") from None


# ---------------------------------------------------------------- dispatch plumbing


def _resolve_future(fut: "asyncio.Future[Any]", value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


class _OpWaiter:
    """Collects the events of one operation that someone waits for: its user code
    (device login) and its ``done``; wakes threads and resolves asyncio futures."""

    __slots__ = ("cond", "done", "user_code", "listeners")

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.done: Optional[Dict[str, Any]] = None
        self.user_code: Optional[Dict[str, Any]] = None
        self.listeners: List[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", str]] = []

    def _value(self, kind: str) -> Optional[Dict[str, Any]]:
        if kind == "user_code":
            return self.user_code if self.user_code is not None else self.done
        return self.done

    def feed(self, etype: int, payload: Dict[str, Any]) -> None:
        ready = []
        with self.cond:
            if etype == EVENT_DONE:
                if self.done is None:
                    self.done = payload
            elif self.user_code is None:
                self.user_code = payload
            self.cond.notify_all()
            keep = []
            for loop, fut, kind in self.listeners:
                value = self._value(kind)
                if value is None:
                    keep.append((loop, fut, kind))
                else:
                    ready.append((loop, fut, value))
            self.listeners = keep
        for loop, fut, value in ready:
            try:
                loop.call_soon_threadsafe(_resolve_future, fut, value)
            except RuntimeError:  # the loop was closed: nobody is waiting any more
                pass

    def listen(self, loop: asyncio.AbstractEventLoop, fut: "asyncio.Future[Any]", kind: str) -> None:
        """Resolve ``fut`` (on ``loop``, the running loop) when ``kind`` is known."""
        with self.cond:
            value = self._value(kind)
            if value is None:
                self.listeners.append((loop, fut, kind))
                return
        _resolve_future(fut, value)

    def wait(self, kind: str, deadline: Optional[float]) -> Optional[Dict[str, Any]]:
        """Block until ``kind`` is known or ``deadline`` (monotonic) passes."""
        with self.cond:
            while True:
                value = self._value(kind)
                if value is not None:
                    return value
                if deadline is None:
                    step = _WAIT_SLICE_S
                else:
                    step = min(_WAIT_SLICE_S, deadline - time.monotonic())
                    if step <= 0:
                        return None
                self.cond.wait(step)


_CANCELED_BY_CLOSE = {
    "ok": False,
    "status": "WXA_ERR_CANCELED",
    "message": "the client was closed while the operation ran",
}


class _Core:
    """Per-client dispatch state. The module slab holds it weakly; it never refers
    back to its ``Client``, so a client nobody holds can still be collected."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.lock = threading.RLock()
        self.handlers: Dict[str, List[EventHandler]] = {}
        self.waiters: Dict[int, _OpWaiter] = {}
        # Events of operations nobody claimed yet: a `done` may beat the function that
        # started the operation. Bounded; evicts the oldest.
        self.early: "OrderedDict[int, List[Tuple[int, Dict[str, Any]]]]" = OrderedDict()
        # Operations read with wxa_wait whose `done` event has not arrived yet.
        self.sync_running: Set[int] = set()
        self.closed = False

    # Runs on a library thread, one event at a time per client.
    def dispatch(self, etype: int, op: int, raw: Optional[bytes]) -> None:
        payload = _parse_payload(etype, raw)
        name = payload.get("type")
        if not isinstance(name, str):
            name = _EVENT_TYPES.get(etype, str(etype))
        with self.lock:
            fns = list(self.handlers.get(name, ())) + list(self.handlers.get("*", ()))
        for fn in fns:
            try:
                fn(dict(payload))
            except BaseException as exc:  # noqa: BLE001 - never let it reach C
                logger.error(
                    "webex_auth event handler %r for %r raised %s: %s",
                    fn, name, type(exc).__name__, exc, exc_info=True,
                )  # fmt: skip
        if not op or etype not in (EVENT_DONE, EVENT_USER_CODE, EVENT_USER_CODE_FAILURE):
            return
        with self.lock:
            waiter = self.waiters.get(op)
            if waiter is None:
                if etype == EVENT_DONE and op in self.sync_running:
                    self.sync_running.discard(op)
                elif not self.closed:
                    self.early.setdefault(op, []).append((etype, payload))
                    while len(self.early) > _EARLY_LIMIT:
                        self.early.popitem(last=False)
                return
            if etype == EVENT_DONE:
                del self.waiters[op]
        waiter.feed(etype, payload)

    def claim(self, op: int) -> _OpWaiter:
        """A waiter for ``op``, fed with any events that arrived before this call."""
        waiter = _OpWaiter()
        with self.lock:
            events = self.early.pop(op, [])
            finished = any(et == EVENT_DONE for et, _ in events)
            if not finished:
                if self.closed:
                    events.append((EVENT_DONE, dict(_CANCELED_BY_CLOSE)))
                else:
                    self.waiters[op] = waiter
        for et, payload in events:
            waiter.feed(et, payload)
        return waiter

    def claim_sync(self, op: int) -> Optional[Dict[str, Any]]:
        """Note that ``op`` is read with ``wxa_wait``; return its result if its
        ``done`` already arrived."""
        with self.lock:
            events = self.early.pop(op, [])
            for et, payload in events:
                if et == EVENT_DONE:
                    return payload
            self.sync_running.add(op)
        return None

    def shut(self) -> None:
        """After ``wxa_free``: fail whatever still waits, drop handlers and buffers."""
        with self.lock:
            self.closed = True
            waiters = list(self.waiters.values())
            self.waiters.clear()
            self.early.clear()
            self.sync_running.clear()
            self.handlers.clear()
        for waiter in waiters:
            waiter.feed(EVENT_DONE, dict(_CANCELED_BY_CLOSE))


def _parse_payload(etype: int, raw: Optional[bytes]) -> Dict[str, Any]:
    if not raw:
        return {"type": _EVENT_TYPES.get(etype, str(etype))}
    try:
        payload = json.loads(raw)
    except ValueError:
        logger.error("webex_auth: undecodable event payload for event %d: %r", etype, raw[:200])
        payload = {"ok": False, "status": "WXA_ERR_INTERNAL", "message": "undecodable payload"}
    if not isinstance(payload, dict):
        payload = {"value": payload}
    return payload


_slab: Dict[int, "weakref.ref[_Core]"] = {}
_slab_lock = threading.Lock()
_indexes = itertools.count(1)
_tls = threading.local()
_live_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _dispatching() -> Set[int]:
    current = getattr(_tls, "dispatching", None)
    if current is None:
        current = _tls.dispatching = set()
    return current


def _on_event(user_data: Optional[int], etype: int, op: int, payload: Optional[bytes]) -> None:
    # One C callback for every client, alive as long as the module: a client closed
    # from inside its own callback never frees the code C is returning through.
    try:
        index = user_data or 0
        ref = _slab.get(index)
        core = ref() if ref is not None else None
        if core is None:
            return
        active = _dispatching()
        active.add(index)
        try:
            core.dispatch(etype, op, payload)
        finally:
            active.discard(index)
    except BaseException:  # noqa: BLE001 - nothing may unwind into C
        try:
            logger.exception("webex_auth: internal error while dispatching an event")
        except BaseException:  # pragma: no cover - interpreter shutdown
            pass


# One C callback for every client, alive as long as the module.
_trampoline = wxa_event_fn(_on_event)


def _close_all_at_exit() -> None:
    # Stop every library thread from calling into Python while the interpreter winds down.
    for client in list(_live_clients):
        try:
            client.close()
        except Exception:  # pragma: no cover
            pass


atexit.register(_close_all_at_exit)


def _check_config(config: Dict[str, Any]) -> bytes:
    clean: Dict[str, Any] = {}
    for key, value in config.items():
        if value is None:  # None means "not set": the library's default applies
            continue
        if key in _CONFIG_STR_KEYS:
            check_str(value, key)
        elif key in _CONFIG_INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{key} must be an int, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{key} must be >= 0, not {value}")
        elif key in _CONFIG_BOOL_KEYS:
            if not isinstance(value, bool):
                raise TypeError(f"{key} must be a bool, not {type(value).__name__}")
        # Other keys go to the library, which names the ones it does not know.
        clean[key] = value
    try:
        return dumps(clean)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the client config is not JSON-serialisable: {exc}") from None


_TOKEN_TIME_KEYS = ("expires_at", "refresh_token_expires_at")


def _token_json(token: Union["Token", Mapping[str, Any], None], fields: Dict[str, Any]) -> bytes:
    if token is None:
        data: Dict[str, Any] = {}
    elif isinstance(token, Token):
        data = token.to_dict()
    elif isinstance(token, Mapping):
        data = dict(token)
    else:
        raise TypeError(f"token must be a Token, a dict or None, not {type(token).__name__}")
    data.update(fields)
    for key in list(data):
        if not isinstance(key, str):
            raise TypeError(f"token keys must be str, not {type(key).__name__}")
        if data[key] is None:
            del data[key]
    check_str(data.get("access_token"), "access_token")
    for key in ("token_type", "refresh_token", "scope", "id_token"):
        if key in data:
            check_str(data[key], key)
    for key in _TOKEN_TIME_KEYS:
        value = data.get(key)
        if isinstance(value, datetime):
            data[key] = datetime_to_ms(value, key)
        elif key in data and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{key} must be an aware datetime or Unix milliseconds")
    if "expires_in" in data:
        value = data["expires_in"]
        if isinstance(value, timedelta):
            data["expires_in"] = int(value.total_seconds())
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("expires_in must be seconds (int) or a timedelta")
    try:
        return dumps(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the token is not JSON-serialisable: {exc}") from None


# -------------------------------------------------------------------------- Client


class Client(Managed[int]):
    """A Webex authorization client: one ``wxa_client``.

    ``Client(client_id=..., client_secret=..., redirect_uri=..., ...)`` takes the
    engine's snake_case config keys (C-API.md); a ``None`` value leaves a key unset.
    Use it as a context manager or call ``close()``. After ``close()`` every method
    raises ``ClientClosedError`` (an ``InvalidArgumentError``, hence a ``ValueError``).

    Blocking methods take ``timeout=`` in seconds (``None``: no limit but the
    engine's own request timeouts); when it passes they cancel the operation and raise
    ``RequestTimeoutError``. Each has an ``*_async`` twin resolved from the library's
    event thread onto the caller's event loop. Blocking methods cannot be called from
    inside one of this client's own event handlers (they would wait for the thread
    they run on): they raise ``InvalidArgumentError`` there.

    Events: ``on(name, fn)`` / ``off(name, fn)`` with the payload ``type`` names
    (``"token:refresh"``, ``"authorizationPending"``, ..., ``"*"`` for all). Handlers
    run on a library thread, one at a time, in order; an exception they raise is
    logged on the ``webex_auth`` logger and does not stop the other handlers.
    """

    def __init__(self, **config: Any) -> None:
        payload = _check_config(config)
        index = next(_indexes)
        core = _Core(index)
        with _slab_lock:
            _slab[index] = weakref.ref(core)
        out = ctypes.c_void_p()
        status = lib.wxa_init(payload, _trampoline, ctypes.c_void_p(index), ctypes.byref(out))
        if status != OK:
            error = raise_for(status)
            with _slab_lock:
                _slab.pop(index, None)
            raise error
        if not out.value:  # pragma: no cover - a library bug
            with _slab_lock:
                _slab.pop(index, None)
            raise InternalError("wxa_init succeeded without a client")
        self._core = core
        super().__init__(out.value)
        self._calls = threading.Condition(self._close_lock)
        self._active = 0
        self._waiting: Set[int] = set()
        _live_clients.add(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<webex_auth.Client #{getattr(getattr(self, '_core', None), 'index', '?')} {state}>"

    # ------------------------------------------------------------ handle plumbing

    @contextmanager
    def _using(self) -> Iterator[int]:
        with self._calls:
            handle = self._ptr()
            self._active += 1
        try:
            yield handle
        finally:
            with self._calls:
                self._active -= 1
                if self._active == 0:
                    self._calls.notify_all()

    def _release(self, handle: int) -> None:
        core = self._core
        # Wake this client's blocked waits (they end with CANCELED), then let every
        # call in progress on another thread return before the handle goes away.
        for op in list(self._waiting):
            lib.wxa_cancel(handle, op)
        with self._calls:
            self._calls.wait_for(lambda: self._active == 0, timeout=_CLOSE_DRAIN_S)
        # From a handler the library releases the client once the callback returns;
        # otherwise it returns after the last `done` (CANCELED) has been delivered.
        lib.wxa_free(handle)
        core.shut()
        with _slab_lock:
            _slab.pop(core.index, None)
        _live_clients.discard(self)

    def _start(self, fn: Callable[..., int], *args: Any) -> int:
        op = wxa_op()
        with self._using() as handle:
            status = fn(handle, *args, ctypes.byref(op))
            if status != OK:
                raise raise_for(status)
        return int(op.value)

    def _no_blocking_in_handler(self, what: str) -> None:
        if self._core.index in _dispatching():
            raise InvalidArgumentError(
                f"{what}() blocks and cannot run inside one of this client's event "
                f"handlers; use {what}_async() from an event loop or another thread"
            )

    def _cancel_quietly(self, op: int) -> None:
        try:
            with self._using() as handle:
                lib.wxa_cancel(handle, op)
        except ClientClosedError:
            pass

    def _wait_sync(self, op: int, timeout: Optional[float]) -> Dict[str, Any]:
        """Block in ``wxa_wait`` (GIL released) in slices until ``op`` ends."""
        early = self._core.claim_sync(op)
        if early is not None:
            return early
        deadline = None if timeout is None else time.monotonic() + timeout
        out = ctypes.c_void_p()
        self._waiting.add(op)
        try:
            while True:
                if deadline is None:
                    slice_ms = int(_WAIT_SLICE_S * 1000)
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._cancel_quietly(op)
                        raise RequestTimeoutError(
                            f"the operation did not finish within {timeout:g} s and was canceled",
                            status_name="WXA_ERR_TIMEOUT",
                        )
                    slice_ms = max(1, min(int(_WAIT_SLICE_S * 1000), math.ceil(remaining * 1000)))
                try:
                    with self._using() as handle:
                        status = lib.wxa_wait(handle, op, slice_ms, ctypes.byref(out))
                        error = raise_for(status) if status not in (OK, PENDING) else None
                except ClientClosedError:
                    raise CanceledError(
                        "the client was closed while the operation ran",
                        status_name="WXA_ERR_CANCELED",
                    ) from None
                if status == OK:
                    text = take_string(out.value)
                    out.value = None
                    return _parse_payload(EVENT_DONE, text.encode("utf-8") if text else None)
                if error is not None:
                    raise error
        except BaseException as exc:  # Ctrl-C and the like: the operation is abandoned
            if not isinstance(exc, WebexAuthError):
                self._cancel_quietly(op)
            raise
        finally:
            self._waiting.discard(op)

    async def _wait_async(self, waiter: _OpWaiter, op: int, kind: str, timeout: Optional[float]) -> Dict[str, Any]:
        loop = asyncio.get_running_loop()
        fut: "asyncio.Future[Dict[str, Any]]" = loop.create_future()
        waiter.listen(loop, fut, kind)
        try:
            if timeout is None:
                return await fut
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._cancel_quietly(op)
            raise RequestTimeoutError(
                f"the operation did not finish within {timeout:g} s and was canceled",
                status_name="WXA_ERR_TIMEOUT",
            ) from None
        except asyncio.CancelledError:
            self._cancel_quietly(op)
            raise

    def _wait_waiter(self, waiter: _OpWaiter, op: int, kind: str, timeout: Optional[float]) -> Dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            value = waiter.wait(kind, deadline)
        except BaseException:
            self._cancel_quietly(op)
            raise
        if value is None:
            self._cancel_quietly(op)
            raise RequestTimeoutError(
                f"the operation did not finish within {timeout:g} s and was canceled",
                status_name="WXA_ERR_TIMEOUT",
            )
        return value

    def _run(self, what: str, timeout: Any, fn: Callable[..., int], *args: Any) -> Dict[str, Any]:
        seconds = check_timeout(timeout)
        self._no_blocking_in_handler(what)
        op = self._start(fn, *args)
        return _ok(self._wait_sync(op, seconds))

    async def _run_async(self, timeout: Any, fn: Callable[..., int], *args: Any) -> Dict[str, Any]:
        seconds = check_timeout(timeout)
        asyncio.get_running_loop()  # fail before starting anything when there is none
        op = self._start(fn, *args)
        waiter = self._core.claim(op)
        return _ok(await self._wait_async(waiter, op, "done", seconds))

    # ------------------------------------------------------------------- events

    @overload
    def on(self, name: str) -> Callable[[F], F]: ...
    @overload
    def on(self, name: str, fn: F) -> F: ...

    def on(self, name: str, fn: Optional[F] = None) -> Any:
        """Call ``fn(payload_dict)`` for every event ``name`` (``"*"``: every event).
        Returns ``fn``; without ``fn`` returns a decorator."""
        _check_event_name(name)
        if fn is None:
            return lambda f: self.on(name, f)
        if not callable(fn):
            raise TypeError(f"event handler must be callable, not {type(fn).__name__}")
        self._ptr()
        with self._core.lock:
            self._core.handlers.setdefault(name, []).append(fn)
        return fn

    def off(self, name: str, fn: Optional[EventHandler] = None) -> None:
        """Remove ``fn`` from event ``name`` (every handler of ``name`` when ``fn`` is
        omitted). Removing a handler that is not registered does nothing."""
        _check_event_name(name)
        with self._core.lock:
            handlers = self._core.handlers.get(name)
            if not handlers:
                return
            if fn is None:
                handlers.clear()
            else:
                try:
                    handlers.remove(fn)
                except ValueError:
                    pass
            if not handlers:
                del self._core.handlers[name]

    # ------------------------------------------------------------ code flow

    def initiate_login(
        self,
        *,
        email: Optional[str] = None,
        state: Optional[Mapping[str, Any]] = None,
        scope: Optional[str] = None,
        prompt: Optional[str] = None,
        login_hint: Optional[str] = None,
    ) -> str:
        """The authorize URL to send the user to (Authorization Code + PKCE). ``state``
        is any JSON object, returned by ``handle_redirect`` as ``result.state``."""
        opts: Dict[str, Any] = {}
        for key, value in (("email", email), ("scope", scope), ("prompt", prompt), ("login_hint", login_hint)):
            if check_opt_str(value, key) is not None:
                opts[key] = value
        if state is not None:
            if not isinstance(state, Mapping):
                raise TypeError(f"state must be a dict, not {type(state).__name__}")
            opts["state"] = dict(state)
        try:
            options = dumps(opts)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"state is not JSON-serialisable: {exc}") from None
        with self._using() as handle:
            return call_string_out(lib.wxa_initiate_login, handle, options)

    def _start_redirect(self, url: Any) -> Tuple[int, str]:
        raw = encode(check_str(url, "url"))
        clean = ctypes.c_void_p()
        op = wxa_op()
        with self._using() as handle:
            status = lib.wxa_handle_redirect(handle, raw, ctypes.byref(clean), ctypes.byref(op))
            if status != OK:
                raise raise_for(status)
        return int(op.value), take_string(clean.value) or ""

    def handle_redirect(self, url: str, *, timeout: Optional[float] = None) -> RedirectResult:
        """Check the redirect's ``state``, then exchange its code for a token.

        Raises ``StateMismatchError`` (nothing sent) when ``state`` does not match a
        pending login of this client, ``OAuthError`` subclasses for an ``error`` in the
        redirect or from the token endpoint."""
        seconds = check_timeout(timeout)
        self._no_blocking_in_handler("handle_redirect")
        op, clean_url = self._start_redirect(url)
        return _redirect_result(_ok(self._wait_sync(op, seconds)), clean_url)

    async def handle_redirect_async(self, url: str, *, timeout: Optional[float] = None) -> RedirectResult:
        seconds = check_timeout(timeout)
        asyncio.get_running_loop()
        op, clean_url = self._start_redirect(url)
        waiter = self._core.claim(op)
        return _redirect_result(_ok(await self._wait_async(waiter, op, "done", seconds)), clean_url)

    def _code_args(self, code: Any, code_verifier: Any) -> Tuple[bytes, Optional[bytes]]:
        raw = encode(check_str(code, "code"))
        verifier = check_opt_str(code_verifier, "code_verifier")
        return raw, None if verifier is None else encode(verifier)

    def exchange_code(
        self, code: str, code_verifier: Optional[str] = None, *, timeout: Optional[float] = None
    ) -> Token:
        """Exchange an authorization code (obtained outside ``initiate_login``)."""
        args = self._code_args(code, code_verifier)
        return _token_result(self._run("exchange_code", timeout, lib.wxa_exchange_code, *args))

    async def exchange_code_async(
        self, code: str, code_verifier: Optional[str] = None, *, timeout: Optional[float] = None
    ) -> Token:
        args = self._code_args(code, code_verifier)
        return _token_result(await self._run_async(timeout, lib.wxa_exchange_code, *args))

    # ------------------------------------------------------------------ tokens

    def refresh(self, *, timeout: Optional[float] = None) -> Token:
        """Force a refresh with the refresh token (single-flight)."""
        return _token_result(self._run("refresh", timeout, lib.wxa_refresh))

    async def refresh_async(self, *, timeout: Optional[float] = None) -> Token:
        return _token_result(await self._run_async(timeout, lib.wxa_refresh))

    def get_valid_token(self, min_valid_s: int = 0, *, timeout: Optional[float] = None) -> Token:
        """A token valid for at least ``min_valid_s`` seconds, refreshing if needed."""
        secs = check_uint32(min_valid_s, "min_valid_s")
        return _token_result(self._run("get_valid_token", timeout, lib.wxa_get_valid_token, secs))

    async def get_valid_token_async(self, min_valid_s: int = 0, *, timeout: Optional[float] = None) -> Token:
        secs = check_uint32(min_valid_s, "min_valid_s")
        return _token_result(await self._run_async(timeout, lib.wxa_get_valid_token, secs))

    def client_credentials(self, *, timeout: Optional[float] = None) -> Token:
        """A token for the client itself (client credentials grant)."""
        return _token_result(self._run("client_credentials", timeout, lib.wxa_client_credentials))

    async def client_credentials_async(self, *, timeout: Optional[float] = None) -> Token:
        return _token_result(await self._run_async(timeout, lib.wxa_client_credentials))

    def login_with_jwt(self, jwt: str, *, timeout: Optional[float] = None) -> Token:
        """Exchange a guest-issuer JWT (see ``create_jwt``) for a token."""
        raw = encode(check_str(jwt, "jwt"))
        return _token_result(self._run("login_with_jwt", timeout, lib.wxa_login_with_jwt, raw))

    async def login_with_jwt_async(self, jwt: str, *, timeout: Optional[float] = None) -> Token:
        raw = encode(check_str(jwt, "jwt"))
        return _token_result(await self._run_async(timeout, lib.wxa_login_with_jwt, raw))

    def logout(self, *, timeout: Optional[float] = None) -> None:
        """Revoke the token and clear it (cleared locally even if the server fails,
        in which case the failure is raised)."""
        self._run("logout", timeout, lib.wxa_logout)

    async def logout_async(self, *, timeout: Optional[float] = None) -> None:
        await self._run_async(timeout, lib.wxa_logout)

    @property
    def token(self) -> Optional[Token]:
        """A snapshot of the current token, or ``None`` when there is none."""
        out = ctypes.c_void_p()
        with self._using() as handle:
            status = lib.wxa_get_token(handle, ctypes.byref(out))
            if status == 11:  # WXA_ERR_NOT_AUTHORIZED: no token
                return None
            if status != OK:
                raise raise_for(status)
        text = take_string(out.value)
        return _token_result(json.loads(text)) if text else None

    def set_token(self, token: Union[Token, Mapping[str, Any], None] = None, **fields: Any) -> None:
        """Restore a saved token: a ``Token``, a supertoken dict (``Token.to_dict()``)
        and/or keyword fields (``access_token=``, ``expires_at=`` datetime or Unix ms,
        ``expires_in=``, ``refresh_token=``, ...), keywords overriding."""
        payload = _token_json(token, fields)
        with self._using() as handle:
            status = lib.wxa_set_token(handle, payload)
            if status != OK:
                raise raise_for(status)

    # ------------------------------------------------------------ device flow

    def start_device_login(self, *, timeout: Optional[float] = None) -> "DeviceLogin":
        """Start a device (QR) login; return once the user code is known.

        Raises the device authorization failure (``getUserCodeFailure``)."""
        seconds = check_timeout(timeout)
        self._no_blocking_in_handler("start_device_login")
        op = self._start(lib.wxa_start_device_login)
        waiter = self._core.claim(op)
        payload = self._wait_waiter(waiter, op, "user_code", seconds)
        return DeviceLogin._make(self, op, waiter, payload)

    async def start_device_login_async(self, *, timeout: Optional[float] = None) -> "DeviceLogin":
        seconds = check_timeout(timeout)
        asyncio.get_running_loop()
        op = self._start(lib.wxa_start_device_login)
        waiter = self._core.claim(op)
        payload = await self._wait_async(waiter, op, "user_code", seconds)
        return DeviceLogin._make(self, op, waiter, payload)

    def cancel(self, op: int) -> None:
        """Cancel an operation by id (a no-op once it ended)."""
        if isinstance(op, bool) or not isinstance(op, int):
            raise TypeError(f"op must be an int, not {type(op).__name__}")
        if not 0 <= op < 2**64:
            raise ValueError(f"op must be a 64-bit unsigned id, not {op}")
        with self._using() as handle:
            status = lib.wxa_cancel(handle, op)
            if status != OK:
                raise raise_for(status)


def _check_event_name(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"event name must be a str, not {type(name).__name__}")
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; known events: {', '.join(sorted(EVENT_NAMES))}")


def _ok(result: Dict[str, Any]) -> Dict[str, Any]:
    if result.get("ok") is True:
        return result
    raise error_from_result(result)


def _redirect_result(result: Dict[str, Any], clean_url: str) -> RedirectResult:
    state = result.get("state")
    org_id = result.get("org_id")
    return RedirectResult(
        token=_token_result(result),
        clean_url=clean_url,
        state=state if isinstance(state, dict) else {},
        org_id=org_id if isinstance(org_id, str) else None,
    )


class DeviceLogin:
    """A running device (QR) login, made by ``Client.start_device_login``.

    Show ``user_code`` and ``verification_uri`` (or the QR of
    ``verification_uri_complete``), then ``wait()`` / ``await wait_async()`` for the
    token. The events (``authorizationPending``, ...) reach the client's handlers."""

    _client: Client
    _waiter: _OpWaiter
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: Optional[int]
    interval: Optional[int]
    op: int

    def __init__(self) -> None:  # pragma: no cover - use Client.start_device_login
        raise TypeError("DeviceLogin objects come from Client.start_device_login()")

    @classmethod
    def _make(cls, client: Client, op: int, waiter: _OpWaiter, payload: Dict[str, Any]) -> "DeviceLogin":
        if payload.get("type") != "getUserCodeSuccess":
            if payload.get("ok") is True:
                raise InternalError("the device login ended without a user code")
            raise error_from_result(payload)
        self = cls.__new__(cls)
        self._client = client
        self._waiter = waiter
        self.op = op
        self.user_code = str(payload.get("userCode", ""))
        self.verification_uri = str(payload.get("verificationUri", ""))
        self.verification_uri_complete = str(payload.get("verificationUriComplete", "") or self.verification_uri)
        expires_in = payload.get("expiresIn")
        interval = payload.get("interval")
        self.expires_in = expires_in if isinstance(expires_in, int) else None
        self.interval = interval if isinstance(interval, int) else None
        return self

    def __repr__(self) -> str:
        return (
            f"DeviceLogin(op={self.op}, user_code={self.user_code!r}, "
            f"verification_uri={self.verification_uri!r}, expires_in={self.expires_in!r})"
        )

    @property
    def done(self) -> bool:
        """``True`` once the login ended (token granted, failed or canceled)."""
        return self._waiter.done is not None

    def wait(self, *, timeout: Optional[float] = None) -> Token:
        """Block until the user approves (the token) or the login fails (raises
        ``ExpiredError``, ``CanceledError``, ``OAuthError``...). On ``timeout`` the
        login is canceled and ``RequestTimeoutError`` raised."""
        seconds = check_timeout(timeout)
        self._client._no_blocking_in_handler("wait")
        result = self._client._wait_waiter(self._waiter, self.op, "done", seconds)
        return _token_result(_ok(result))

    async def wait_async(self, *, timeout: Optional[float] = None) -> Token:
        seconds = check_timeout(timeout)
        result = await self._client._wait_async(self._waiter, self.op, "done", seconds)
        return _token_result(_ok(result))

    def cancel(self) -> None:
        """Stop polling (``pollingCanceled`` then a ``CanceledError`` result). A no-op
        once the login ended or the client was closed."""
        self._client._cancel_quietly(self.op)

    def qr_text(self) -> str:
        """``verification_uri_complete`` as a QR code drawn with Unicode blocks."""
        from ._qr import qr_code

        return qr_code(self.verification_uri_complete, "utf8")

    def qr_svg(self) -> str:
        """``verification_uri_complete`` as an SVG QR code."""
        from ._qr import qr_code

        return qr_code(self.verification_uri_complete, "svg")
