"""``DeviceLogin``: a running device (QR) login, made by ``Client.start_device_login``.
Waiting and canceling go through its client; the events reach the client's handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from ._errors import InternalError, error_from_result, result_or_raise
from ._events import DONE, OpWaiter
from ._native import check_timeout
from ._qr import qr_code
from ._token import Token, token_result

if TYPE_CHECKING:  # pragma: no cover
    from ._client import Client

__all__ = ["DeviceLogin"]


class DeviceLogin:
    """A running device (QR) login, made by ``Client.start_device_login``.

    Show ``user_code`` and ``verification_uri`` (or the QR of
    ``verification_uri_complete``), then ``wait()`` / ``await wait_async()`` for the
    token. The events (``authorizationPending``, ...) reach the client's handlers."""

    _client: "Client"
    _waiter: OpWaiter
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: Optional[int]
    interval: Optional[int]
    op: int

    def __init__(self) -> None:  # pragma: no cover - use Client.start_device_login
        raise TypeError("DeviceLogin objects come from Client.start_device_login()")

    @classmethod
    def _make(cls, client: "Client", op: int, waiter: OpWaiter, payload: Dict[str, Any]) -> "DeviceLogin":
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
        login is canceled and ``TimeoutError`` raised."""
        seconds = check_timeout(timeout)
        self._client._no_blocking_in_handler("wait")
        result = self._client._wait_waiter(self._waiter, self.op, DONE, seconds)
        return token_result(result_or_raise(result))

    async def wait_async(self, *, timeout: Optional[float] = None) -> Token:
        seconds = check_timeout(timeout)
        result = await self._client._wait_async(self._waiter, self.op, DONE, seconds)
        return token_result(result_or_raise(result))

    def cancel(self) -> None:
        """Stop polling (``pollingCanceled`` then a ``CanceledError`` result). A no-op
        once the login ended or the client was closed."""
        self._client._cancel_quietly(self.op)

    def qr_text(self) -> str:
        """``verification_uri_complete`` as a QR code drawn with Unicode blocks."""
        return qr_code(self.verification_uri_complete, "utf8")

    def qr_svg(self) -> str:
        """``verification_uri_complete`` as an SVG QR code."""
        return qr_code(self.verification_uri_complete, "svg")
