"""``LoopbackLogin``: a running loopback login (RFC 8252), made by
``Client.start_loopback_login``. Waiting and canceling go through its client.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Optional

from ._errors import result_or_raise
from ._events import DONE, OpWaiter
from ._native import check_timeout
from ._token import RedirectResult, redirect_result

if TYPE_CHECKING:  # pragma: no cover
    from ._client import Client

__all__ = ["LoopbackLogin"]


class LoopbackLogin:
    """A loopback login for a native app, made by ``Client.start_loopback_login``.

    The library listens on ``127.0.0.1:port``; open ``url`` in the user's browser, then
    ``wait()`` / ``await wait_async()``: when the browser comes back to
    ``http://127.0.0.1:PORT/callback`` the code is exchanged and the result is a
    ``RedirectResult`` (``.token``, ``.state``, ``.id_token_claims``, ...), as
    ``handle_redirect`` gives. ``cancel()`` closes the listener."""

    _client: "Client"
    _waiter: OpWaiter
    url: str
    port: int
    op: int

    def __init__(self) -> None:  # pragma: no cover - use Client.start_loopback_login
        raise TypeError("LoopbackLogin objects come from Client.start_loopback_login()")

    @classmethod
    def _make(cls, client: "Client", op: int, waiter: OpWaiter, url: str) -> "LoopbackLogin":
        self = cls.__new__(cls)
        self._client = client
        self._waiter = waiter
        self.op = op
        self.url = url
        redirect = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("redirect_uri", "")
        self.port = urllib.parse.urlsplit(redirect).port or 0
        return self

    def __repr__(self) -> str:
        return f"LoopbackLogin(op={self.op}, port={self.port}, done={self.done})"

    @property
    def done(self) -> bool:
        """``True`` once the login ended (token granted, failed, timed out or canceled)."""
        return self._waiter.done is not None

    def wait(self, *, timeout: Optional[float] = None) -> RedirectResult:
        """Block until the browser came back and the code was exchanged. Raises what the
        login ended with (``OAuthError`` for an error redirect, ``TimeoutError`` after
        the login's own ``timeout``, ``CanceledError``, ``IdTokenError``...). On this
        call's ``timeout`` the login is canceled and ``TimeoutError`` raised."""
        seconds = check_timeout(timeout)
        self._client._no_blocking_in_handler("wait")
        result = self._client._wait_waiter(self._waiter, self.op, DONE, seconds)
        return redirect_result(result_or_raise(result))

    async def wait_async(self, *, timeout: Optional[float] = None) -> RedirectResult:
        seconds = check_timeout(timeout)
        result = await self._client._wait_async(self._waiter, self.op, DONE, seconds)
        return redirect_result(result_or_raise(result))

    def cancel(self) -> None:
        """Close the listener; the login ends with ``CanceledError``. A no-op once it
        ended or the client was closed."""
        self._client._cancel_quietly(self.op)
