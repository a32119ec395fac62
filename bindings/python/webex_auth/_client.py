"""``Client``: one ``wxa_client`` and the methods over it.

Checks arguments before C, starts operations and waits for them: blocking methods with
``wxa_wait`` (in slices, so Ctrl-C gets through), ``*_async`` methods and device logins
through the dispatcher in ``_events``. The config goes to the library as it is: the
library knows its keys and names the ones it refuses.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import json
import math
import threading
import time
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Set, Tuple, TypeVar, Union, overload

from . import _abi, _events
from ._bindings import lib, take_string, wxa_op
from ._device import DeviceLogin
from ._loopback import LoopbackLogin
from ._errors import (
    CanceledError,
    ClientClosedError,
    InternalError,
    InvalidArgumentError,
    TimeoutError,
    WebexAuthError,
    result_or_raise,
)
from ._events import _WAIT_SLICE_S, DONE, USER_CODE, EventHandler, OpWaiter, check_event_name
from ._managed import Managed
from ._native import (
    NOT_AUTHORIZED,
    OK,
    PENDING,
    call_string_out,
    check_opt_str,
    check_str,
    check_timeout,
    check_uint32,
    dumps,
    encode,
    raise_for,
)
from ._token import RedirectResult, Token, redirect_result, token_json, token_result
from ._webex import Guest, Person, guest_result, person_result

__all__ = ["Client"]

F = TypeVar("F", bound=EventHandler)

_CLOSE_DRAIN_S = 5.0  # how long close() waits for other threads' calls to return
_REREAD_MS = 2000  # bound on reading a kept result whose `done` was already delivered
_DEVICE_END_S = 5.0  # bound on waiting for a failed device login's `done`

_live_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _close_all_at_exit() -> None:
    # Stop every library thread from calling into Python while the interpreter winds down.
    for client in list(_live_clients):
        try:
            client.close()
        except Exception:  # pragma: no cover
            pass


atexit.register(_close_all_at_exit)


def _config_json(config: Dict[str, Any]) -> bytes:
    # None means "not set": the library's default applies. Every other value goes to
    # the library, which checks keys and types and names the key it refuses.
    try:
        return dumps({key: value for key, value in config.items() if value is not None})
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the client config is not JSON-serialisable: {exc}") from None


def _timeout_error(timeout: Optional[float]) -> TimeoutError:
    return TimeoutError(f"the operation did not finish within {timeout:g} s and was canceled")


class Client(Managed[int]):
    """A Webex authorization client: one ``wxa_client``.

    ``Client(client_id=..., client_secret=..., redirect_uri=..., ...)`` takes the
    engine's snake_case config keys (C-API.md); a ``None`` value leaves a key unset.
    Use it as a context manager or call ``close()``. After ``close()`` every method
    raises ``ClientClosedError`` (an ``InvalidArgumentError``, hence a ``ValueError``).

    Blocking methods take ``timeout=`` in seconds (``None``: no limit but the
    engine's own request timeouts); when it passes they cancel the operation and raise
    ``TimeoutError`` (a builtin ``TimeoutError`` too). Each has an ``*_async`` twin
    resolved from the library's event thread onto the caller's event loop. Blocking methods cannot be called from
    inside one of this client's own event handlers (they would wait for the thread
    they run on): they raise ``InvalidArgumentError`` there.

    Events: ``on(name, fn)`` / ``off(name, fn)`` with the payload ``type`` names
    (``"token:refresh"``, ``"authorizationPending"``, ..., ``"*"`` for all). Handlers
    run on a library thread, one at a time, in order; an exception they raise is
    logged on the ``webex_auth`` logger and does not stop the other handlers.
    """

    def __init__(self, **config: Any) -> None:
        payload = _config_json(config)
        core = _events.register()
        out = ctypes.c_void_p()
        # wxa_init_abi with the ABI this package was written for: a library of another
        # ABI refuses (InvalidArgumentError naming both) instead of misreading arguments.
        status = lib.wxa_init_abi(
            _abi.ABI_VERSION, payload, _events.trampoline, ctypes.c_void_p(core.index), ctypes.byref(out)
        )
        if status != OK or not out.value:
            error = raise_for(status) if status != OK else InternalError("wxa_init_abi succeeded without a client")
            _events.unregister(core)
            raise error
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
        _events.unregister(core)
        _live_clients.discard(self)

    def _start(self, fn: Callable[..., int], *args: Any) -> int:
        op = wxa_op()
        with self._using() as handle:
            status = fn(handle, *args, ctypes.byref(op))
            if status != OK:
                raise raise_for(status)
        return int(op.value)

    def _no_blocking_in_handler(self, what: str) -> None:
        if self._core.index in _events.dispatching():
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

    def _settled(self, op: int, result: Dict[str, Any], reread: bool = False) -> Dict[str, Any]:
        """``result`` as the operation ended, read again from the library when the
        ``done`` event cannot tell it: a ``done`` still queued when the client's token
        changed comes without its token (``"token_superseded": true``: no stale token
        waits in the event queue), and ``reread`` results have a field the event's own
        ``"type"`` hides (``whoami``'s). The result the library keeps for ``wxa_wait``
        has it all, so the caller gets what its operation got, as a blocking call does.
        Not kept any more, or scrubbed by a logout: ``result`` as it is."""
        if not reread and result.get("token_superseded") is not True:
            return result
        out = ctypes.c_void_p()
        try:
            with self._using() as handle:
                # The library queues an operation's `done` just before it publishes the
                # result for wxa_wait: a handler thread can be that fast. Bounded wait.
                status = lib.wxa_wait(handle, op, _REREAD_MS, ctypes.byref(out))
        except ClientClosedError:
            return result
        text = take_string(out.value) if status == OK else None
        return _events.parse_payload(DONE, text.encode("utf-8")) if text else result

    def _wait_sync(self, op: int, timeout: Optional[float]) -> Dict[str, Any]:
        """Block in ``wxa_wait`` (GIL released) in slices until ``op`` ends."""
        early = self._core.claim_sync(op)
        if early is not None:
            # Its `done` event came first: read what wxa_wait would have given.
            return self._settled(op, early, reread=True)
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
                        raise _timeout_error(timeout)
                    slice_ms = max(1, min(int(_WAIT_SLICE_S * 1000), math.ceil(remaining * 1000)))
                try:
                    with self._using() as handle:
                        status = lib.wxa_wait(handle, op, slice_ms, ctypes.byref(out))
                        error = raise_for(status) if status not in (OK, PENDING) else None
                except ClientClosedError:
                    raise CanceledError("the client was closed while the operation ran") from None
                if status == OK:
                    text = take_string(out.value)
                    out.value = None
                    return _events.parse_payload(DONE, text.encode("utf-8") if text else None)
                if error is not None:
                    raise error
        except BaseException as exc:  # Ctrl-C and the like: the operation is abandoned
            if not isinstance(exc, WebexAuthError):
                self._cancel_quietly(op)
            raise
        finally:
            self._waiting.discard(op)

    async def _wait_async(self, waiter: OpWaiter, op: int, kind: str, timeout: Optional[float]) -> Dict[str, Any]:
        loop = asyncio.get_running_loop()
        fut: "asyncio.Future[Dict[str, Any]]" = loop.create_future()
        waiter.listen(loop, fut, kind)
        try:
            if timeout is None:
                value = await fut
            else:
                value = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._cancel_quietly(op)
            raise _timeout_error(timeout) from None
        except asyncio.CancelledError:
            self._cancel_quietly(op)
            raise
        return self._settled(op, value) if kind == DONE else value

    def _wait_waiter(self, waiter: OpWaiter, op: int, kind: str, timeout: Optional[float]) -> Dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            value = waiter.wait(kind, deadline)
        except BaseException:
            self._cancel_quietly(op)
            raise
        if value is None:
            self._cancel_quietly(op)
            raise _timeout_error(timeout)
        return self._settled(op, value) if kind == DONE else value

    def _run(self, what: str, timeout: Any, fn: Callable[..., int], *args: Any) -> Dict[str, Any]:
        seconds = check_timeout(timeout)
        self._no_blocking_in_handler(what)
        op = self._start(fn, *args)
        return result_or_raise(self._wait_sync(op, seconds))

    async def _run_async(self, timeout: Any, fn: Callable[..., int], *args: Any, reread: bool = False) -> Dict[str, Any]:
        seconds = check_timeout(timeout)
        asyncio.get_running_loop()  # fail before starting anything when there is none
        op = self._start(fn, *args)
        waiter = self._core.claim(op)
        result = result_or_raise(await self._wait_async(waiter, op, DONE, seconds))
        return self._settled(op, result, reread=True) if reread else result

    # ------------------------------------------------------------------- events

    @overload
    def on(self, name: str) -> Callable[[F], F]: ...
    @overload
    def on(self, name: str, fn: F) -> F: ...

    def on(self, name: str, fn: Optional[F] = None) -> Any:
        """Call ``fn(payload_dict)`` for every event ``name`` (``"*"``: every event).
        Returns ``fn``; without ``fn`` returns a decorator."""
        check_event_name(name)
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
        check_event_name(name)
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
        is any JSON object, returned by ``handle_redirect`` as ``result.state``. A
        ``scope`` with ``openid`` makes it a Login with Webex: the result then carries
        the validated ``id_token_claims``."""
        options = _login_options({}, email, state, scope, prompt, login_hint)
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
        return redirect_result(result_or_raise(self._wait_sync(op, seconds)), clean_url)

    async def handle_redirect_async(self, url: str, *, timeout: Optional[float] = None) -> RedirectResult:
        seconds = check_timeout(timeout)
        asyncio.get_running_loop()
        op, clean_url = self._start_redirect(url)
        waiter = self._core.claim(op)
        return redirect_result(result_or_raise(await self._wait_async(waiter, op, DONE, seconds)), clean_url)

    def _code_args(self, code: Any, code_verifier: Any) -> Tuple[bytes, Optional[bytes]]:
        raw = encode(check_str(code, "code"))
        verifier = check_opt_str(code_verifier, "code_verifier")
        return raw, None if verifier is None else encode(verifier)

    def exchange_code(
        self, code: str, code_verifier: Optional[str] = None, *, timeout: Optional[float] = None
    ) -> Token:
        """Exchange an authorization code (obtained outside ``initiate_login``)."""
        args = self._code_args(code, code_verifier)
        return token_result(self._run("exchange_code", timeout, lib.wxa_exchange_code, *args))

    async def exchange_code_async(
        self, code: str, code_verifier: Optional[str] = None, *, timeout: Optional[float] = None
    ) -> Token:
        args = self._code_args(code, code_verifier)
        return token_result(await self._run_async(timeout, lib.wxa_exchange_code, *args))

    # ------------------------------------------------------------------ tokens

    def refresh(self, *, timeout: Optional[float] = None) -> Token:
        """Force a refresh with the refresh token (single-flight)."""
        return token_result(self._run("refresh", timeout, lib.wxa_refresh))

    async def refresh_async(self, *, timeout: Optional[float] = None) -> Token:
        return token_result(await self._run_async(timeout, lib.wxa_refresh))

    def get_valid_token(self, min_valid_s: int = 0, *, timeout: Optional[float] = None) -> Token:
        """A token valid for at least ``min_valid_s`` seconds, refreshing if needed."""
        secs = check_uint32(min_valid_s, "min_valid_s")
        return token_result(self._run("get_valid_token", timeout, lib.wxa_get_valid_token, secs))

    async def get_valid_token_async(self, min_valid_s: int = 0, *, timeout: Optional[float] = None) -> Token:
        secs = check_uint32(min_valid_s, "min_valid_s")
        return token_result(await self._run_async(timeout, lib.wxa_get_valid_token, secs))

    def client_credentials(self, *, timeout: Optional[float] = None) -> Token:
        """A token for the client itself (client credentials grant)."""
        return token_result(self._run("client_credentials", timeout, lib.wxa_client_credentials))

    async def client_credentials_async(self, *, timeout: Optional[float] = None) -> Token:
        return token_result(await self._run_async(timeout, lib.wxa_client_credentials))

    def login_with_jwt(self, jwt: str, *, timeout: Optional[float] = None) -> Token:
        """Exchange a guest-issuer JWT (see ``create_jwt``) for a token."""
        raw = encode(check_str(jwt, "jwt"))
        return token_result(self._run("login_with_jwt", timeout, lib.wxa_login_with_jwt, raw))

    async def login_with_jwt_async(self, jwt: str, *, timeout: Optional[float] = None) -> Token:
        raw = encode(check_str(jwt, "jwt"))
        return token_result(await self._run_async(timeout, lib.wxa_login_with_jwt, raw))

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
            if status == NOT_AUTHORIZED:  # no token
                return None
            if status != OK:
                raise raise_for(status)
        text = take_string(out.value)
        return token_result(json.loads(text)) if text else None

    def set_token(self, token: Union[Token, Mapping[str, Any], None] = None, **fields: Any) -> None:
        """Restore a saved token: a ``Token``, a supertoken dict (``Token.to_dict()``)
        and/or keyword fields (``access_token=``, ``expires_at=`` datetime or Unix ms,
        ``expires_in=``, ``refresh_token=``, ...), keywords overriding."""
        payload = token_json(token, fields)
        with self._using() as handle:
            status = lib.wxa_set_token(handle, payload)
            if status != OK:
                raise raise_for(status)


    # ------------------------------------------------------- 401s and Webex today

    def token_rejected(self, access_token: str, *, timeout: Optional[float] = None) -> Token:
        """Your API call with ``access_token`` got HTTP 401: refresh it if it is still
        the client's token (single-flight: many callers that saw the same 401 share one
        refresh; with a ``token_store``, one across every process sharing it), or get
        the token that already replaced it. The result is the token to retry with."""
        raw = encode(check_str(access_token, "access_token"))
        return token_result(self._run("token_rejected", timeout, lib.wxa_token_rejected, raw))

    async def token_rejected_async(self, access_token: str, *, timeout: Optional[float] = None) -> Token:
        raw = encode(check_str(access_token, "access_token"))
        return token_result(await self._run_async(timeout, lib.wxa_token_rejected, raw))

    def whoami(self, *, timeout: Optional[float] = None) -> Person:
        """Who the client's token is (``GET people/me``). A 401 leads to one
        compare-and-refresh and one retry."""
        return person_result(self._run("whoami", timeout, lib.wxa_whoami))

    async def whoami_async(self, *, timeout: Optional[float] = None) -> Person:
        # The `done` event's "type" ("done") hides the person's: read the kept result.
        return person_result(await self._run_async(timeout, lib.wxa_whoami, reread=True))

    def service_app_token(
        self,
        *,
        target_org_id: Optional[str] = None,
        authorizing_token: Optional[str] = None,
        application_id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Token:
        """The client's Service App's token for an org whose Full Admin authorized it;
        it becomes the client's token (and refreshes like any other). The client's
        config holds the Service App's ``client_id`` and ``client_secret``;
        ``authorizing_token`` is an integration's token with
        ``spark:applications_token`` (never the client's own). Both are required: the
        library refuses a missing one (``InvalidArgumentError``, nothing sent). An org
        that did not authorize the app: ``HttpError`` (HTTP 403) saying so."""
        options = _service_app_options(target_org_id, authorizing_token, application_id)
        return token_result(self._run("service_app_token", timeout, lib.wxa_service_app_token, options))

    async def service_app_token_async(
        self,
        *,
        target_org_id: Optional[str] = None,
        authorizing_token: Optional[str] = None,
        application_id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Token:
        options = _service_app_options(target_org_id, authorizing_token, application_id)
        return token_result(await self._run_async(timeout, lib.wxa_service_app_token, options))

    def create_guest(
        self, *, subject: Optional[str] = None, display_name: Optional[str] = None, timeout: Optional[float] = None
    ) -> Guest:
        """A guest through the client's Service App (Webex's replacement of the Guest
        Issuer). The guest's token is the result; the client's own token stays. The
        same ``subject`` again is the same guest. Refused on FedRAMP
        (``InvalidArgumentError``, nothing sent)."""
        options = _guest_options(subject, display_name)
        return guest_result(self._run("create_guest", timeout, lib.wxa_create_guest, options))

    async def create_guest_async(
        self, *, subject: Optional[str] = None, display_name: Optional[str] = None, timeout: Optional[float] = None
    ) -> Guest:
        options = _guest_options(subject, display_name)
        return guest_result(await self._run_async(timeout, lib.wxa_create_guest, options))

    def start_loopback_login(
        self,
        *,
        port: Optional[int] = None,
        timeout: Optional[float] = None,
        email: Optional[str] = None,
        state: Optional[Mapping[str, Any]] = None,
        scope: Optional[str] = None,
        prompt: Optional[str] = None,
        login_hint: Optional[str] = None,
    ) -> LoopbackLogin:
        """Start a loopback login (RFC 8252) for a native app: the library listens on
        ``127.0.0.1`` (``port``, default any free one) and returns at once; open
        ``login.url`` in a browser and ``login.wait()`` for the result. ``timeout``:
        seconds the login waits for the browser (default: the config's
        ``login_ttl_s``), then it ends with ``TimeoutError``. The other options are
        ``initiate_login``'s. Does not block, so it has no ``_async`` twin: the waiting
        is ``LoopbackLogin.wait_async``."""
        opts: Dict[str, Any] = {}
        if port is not None:
            if isinstance(port, bool) or not isinstance(port, int):
                raise TypeError(f"port must be an int, not {type(port).__name__}")
            if not 0 <= port <= 65535:
                raise ValueError(f"port must be between 0 and 65535, not {port}")
            opts["port"] = port
        seconds = check_timeout(timeout)
        if seconds is not None:
            opts["timeout_ms"] = max(1, math.ceil(seconds * 1000))
        options = _login_options(opts, email, state, scope, prompt, login_hint)
        url = ctypes.c_void_p()
        op = wxa_op()
        with self._using() as handle:
            status = lib.wxa_start_loopback_login(handle, options, ctypes.byref(url), ctypes.byref(op))
            if status != OK:
                raise raise_for(status)
        text = take_string(url.value)
        if text is None:
            raise InternalError("wxa_start_loopback_login returned no URL")
        waiter = self._core.claim(int(op.value))
        return LoopbackLogin._make(self, int(op.value), waiter, text)

    # ------------------------------------------------------------ device flow

    def start_device_login(self, *, timeout: Optional[float] = None) -> "DeviceLogin":
        """Start a device (QR) login; return once the user code is known.

        Raises the device authorization failure (``getUserCodeFailure``)."""
        seconds = check_timeout(timeout)
        self._no_blocking_in_handler("start_device_login")
        op = self._start(lib.wxa_start_device_login)
        waiter = self._core.claim(op)
        payload = self._wait_waiter(waiter, op, USER_CODE, seconds)
        if payload.get("type") == "getUserCodeFailure":
            # Its `done` follows at once; until then the library counts the login as
            # running, and a retry right after this raises would be refused.
            try:
                self._wait_waiter(waiter, op, DONE, _DEVICE_END_S)
            except TimeoutError:  # pragma: no cover - the failure below says what went wrong
                pass
        return DeviceLogin._make(self, op, waiter, payload)

    async def start_device_login_async(self, *, timeout: Optional[float] = None) -> "DeviceLogin":
        seconds = check_timeout(timeout)
        asyncio.get_running_loop()
        op = self._start(lib.wxa_start_device_login)
        waiter = self._core.claim(op)
        payload = await self._wait_async(waiter, op, USER_CODE, seconds)
        if payload.get("type") == "getUserCodeFailure":
            try:  # as in start_device_login: the login has ended when this raises
                await self._wait_async(waiter, op, DONE, _DEVICE_END_S)
            except TimeoutError:  # pragma: no cover
                pass
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


def _login_options(
    opts: Dict[str, Any],
    email: Any,
    state: Any,
    scope: Any,
    prompt: Any,
    login_hint: Any,
) -> bytes:
    """``opts`` plus ``initiate_login``'s options, as JSON."""
    for key, value in (("email", email), ("scope", scope), ("prompt", prompt), ("login_hint", login_hint)):
        if check_opt_str(value, key) is not None:
            opts[key] = value
    if state is not None:
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict, not {type(state).__name__}")
        opts["state"] = dict(state)
    try:
        return dumps(opts)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"state is not JSON-serialisable: {exc}") from None


def _string_options(**values: Any) -> bytes:
    """Options of str values as JSON, ``None`` left out. Whether a required one is
    missing or empty is the library's to say (it names the option)."""
    return dumps({k: v for k, v in values.items() if check_opt_str(v, k, allow_empty=True) is not None})


def _service_app_options(target_org_id: Any, authorizing_token: Any, application_id: Any) -> bytes:
    return _string_options(
        target_org_id=target_org_id, authorizing_token=authorizing_token, application_id=application_id
    )


def _guest_options(subject: Any, display_name: Any) -> bytes:
    return _string_options(subject=subject, display_name=display_name)
