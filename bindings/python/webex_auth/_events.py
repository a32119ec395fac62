"""Event dispatch: the one C callback every client shares, and per client its handlers
and the waiters of its operations.

The callback gets the client's slab index in ``user_data`` (never a Python object
pointer), calls the app's handlers, then feeds whoever waits for that operation
(``*_async`` futures, device logins, blocking waits). Event names are the library's
(``wxa_event_name``). Starting operations and calling C are ``_client``'s job.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from ._bindings import lib, library_names, wxa_event_fn

__all__ = [
    "EVENT_TYPES",
    "EVENT_NUMBERS",
    "EVENT_NAMES",
    "DONE",
    "USER_CODE",
    "USER_CODE_EVENTS",
    "EventHandler",
    "OpWaiter",
    "Core",
    "register",
    "unregister",
    "dispatching",
    "parse_payload",
    "check_event_name",
    "trampoline",
]

logger = logging.getLogger("webex_auth")

EventHandler = Callable[[Dict[str, Any]], Any]

#: ``{wxa_event_type number: payload "type"}`` as the loaded library names them.
EVENT_TYPES: Dict[int, str] = library_names(lib.wxa_event_name, 1, "unknown")
EVENT_NUMBERS: Dict[str, int] = {name: number for number, name in EVENT_TYPES.items()}
#: The names ``Client.on`` accepts: every payload ``type`` plus ``"*"`` (all events).
EVENT_NAMES: FrozenSet[str] = frozenset(EVENT_TYPES.values()) | {"*"}

#: The event that ends every operation; also what a waiter can wait for.
DONE = "done"
#: The other thing a waiter can wait for: a device login's user code, which comes as
#: one of these events (or as the ``done`` of a login that failed first).
USER_CODE = "user_code"
USER_CODE_EVENTS = frozenset({"getUserCodeSuccess", "getUserCodeFailure"})
_FOR_WAITERS = USER_CODE_EVENTS | {DONE}

_WAIT_SLICE_S = 0.25  # blocking waits wake this often so Ctrl-C gets through
_EARLY_LIMIT = 1024  # events kept for operations nobody has claimed yet


def check_event_name(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"event name must be a str, not {type(name).__name__}")
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; known events: {', '.join(sorted(EVENT_NAMES))}")


def parse_payload(name: str, raw: Optional[bytes]) -> Dict[str, Any]:
    """The payload of event ``name`` (or a result JSON) as a dict, ``{"type": name}``
    when empty."""
    if not raw:
        return {"type": name}
    try:
        payload = json.loads(raw)
    except ValueError:
        logger.error("webex_auth: undecodable payload of a %r event: %r", name, raw[:200])
        payload = {"ok": False, "status": "WXA_ERR_INTERNAL", "message": "undecodable payload"}
    if not isinstance(payload, dict):
        payload = {"value": payload}
    return payload


def _resolve_future(fut: "asyncio.Future[Any]", value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


class OpWaiter:
    """Collects the events of one operation that someone waits for: its user code
    (device login) and its ``done``; wakes threads and resolves asyncio futures.
    ``kind`` is ``DONE`` or ``USER_CODE`` (which a ``done`` also answers)."""

    __slots__ = ("cond", "done", "user_code", "listeners")

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.done: Optional[Dict[str, Any]] = None
        self.user_code: Optional[Dict[str, Any]] = None
        self.listeners: List[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", str]] = []

    def _value(self, kind: str) -> Optional[Dict[str, Any]]:
        if kind == USER_CODE and self.user_code is not None:
            return self.user_code
        return self.done

    def feed(self, name: str, payload: Dict[str, Any]) -> None:
        ready = []
        with self.cond:
            if name == DONE:
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


CANCELED_BY_CLOSE = {
    "ok": False,
    "status": "WXA_ERR_CANCELED",
    "message": "the client was closed while the operation ran",
}


class Core:
    """Per-client dispatch state. The module slab holds it weakly; it never refers
    back to its ``Client``, so a client nobody holds can still be collected."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.lock = threading.RLock()
        self.handlers: Dict[str, List[EventHandler]] = {}
        self.waiters: Dict[int, OpWaiter] = {}
        # Events of operations nobody claimed yet: a `done` may beat the function that
        # started the operation. Bounded; evicts the oldest.
        self.early: "OrderedDict[int, List[Tuple[str, Dict[str, Any]]]]" = OrderedDict()
        # Operations read with wxa_wait whose `done` event has not arrived yet.
        self.sync_running: Set[int] = set()
        self.closed = False

    # Runs on a library thread, one event at a time per client.
    def dispatch(self, etype: int, op: int, raw: Optional[bytes]) -> None:
        name = EVENT_TYPES.get(etype, str(etype))
        payload = parse_payload(name, raw)
        handled = payload.get("type")
        if not isinstance(handled, str):
            handled = name
        with self.lock:
            fns = list(self.handlers.get(handled, ())) + list(self.handlers.get("*", ()))
        for fn in fns:
            try:
                fn(dict(payload))
            except BaseException as exc:  # noqa: BLE001 - never let it reach C
                logger.error(
                    "webex_auth event handler %r for %r raised %s: %s",
                    fn, handled, type(exc).__name__, exc, exc_info=True,
                )  # fmt: skip
        if not op or name not in _FOR_WAITERS:
            return
        with self.lock:
            waiter = self.waiters.get(op)
            if waiter is None:
                if name == DONE and op in self.sync_running:
                    self.sync_running.discard(op)
                elif not self.closed:
                    self.early.setdefault(op, []).append((name, payload))
                    while len(self.early) > _EARLY_LIMIT:
                        self.early.popitem(last=False)
                return
            if name == DONE:
                del self.waiters[op]
        waiter.feed(name, payload)

    def claim(self, op: int) -> OpWaiter:
        """A waiter for ``op``, fed with any events that arrived before this call."""
        waiter = OpWaiter()
        with self.lock:
            events = self.early.pop(op, [])
            if not any(name == DONE for name, _ in events):
                if self.closed:
                    events.append((DONE, dict(CANCELED_BY_CLOSE)))
                else:
                    self.waiters[op] = waiter
        for name, payload in events:
            waiter.feed(name, payload)
        return waiter

    def claim_sync(self, op: int) -> Optional[Dict[str, Any]]:
        """Note that ``op`` is read with ``wxa_wait``; return its result if its
        ``done`` already arrived."""
        with self.lock:
            for name, payload in self.early.pop(op, []):
                if name == DONE:
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
            waiter.feed(DONE, dict(CANCELED_BY_CLOSE))


_slab: Dict[int, "weakref.ref[Core]"] = {}
_slab_lock = threading.Lock()
_indexes = itertools.count(1)
_tls = threading.local()


def register() -> Core:
    """A new client's dispatch state, reachable from C through its slab index."""
    core = Core(next(_indexes))
    with _slab_lock:
        _slab[core.index] = weakref.ref(core)
    return core


def unregister(core: Core) -> None:
    with _slab_lock:
        _slab.pop(core.index, None)


def dispatching() -> Set[int]:
    """Slab indexes of the clients whose events this thread is dispatching now."""
    current: Optional[Set[int]] = getattr(_tls, "dispatching", None)
    if current is None:
        current = _tls.dispatching = set()
    return current


def _on_event(user_data: Optional[int], etype: int, op: int, payload: Optional[bytes]) -> None:
    try:
        index = user_data or 0
        ref = _slab.get(index)
        core = ref() if ref is not None else None
        if core is None:
            # Every client's events end before it leaves the slab, so this is a bug
            # somewhere: say so (never the payload: it may hold a token) and drop it.
            logger.warning(
                "webex_auth: dropped a %r event (op %d) for client #%d, which this process does not know",
                EVENT_TYPES.get(etype, str(etype)), op, index,
            )  # fmt: skip
            return
        active = dispatching()
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


# One C callback for every client, alive as long as the module: a client closed from
# inside its own callback never frees the code C is returning through.
trampoline = wxa_event_fn(_on_event)
