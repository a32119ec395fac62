"""Exceptions: ``WebexAuthError`` and one subclass per ``wxa_status``.

The status numbers and names are fixed by C-API.md; ``STATUS_CLASSES`` is the single
table mapping them to classes, and ``OAUTH_ERROR_CLASSES`` refines ``WXA_ERR_OAUTH`` by
the server's ``error`` field. Building an error from a C status or a result payload
happens here; calling C does not.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
    "WebexAuthError",
    "InvalidArgumentError",
    "ClientClosedError",
    "StateMismatchError",
    "OAuthError",
    "InvalidRequestError",
    "InvalidClientError",
    "InvalidGrantError",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "InvalidScopeError",
    "HttpError",
    "NetworkError",
    "RequestTimeoutError",
    "RateLimitedError",
    "ExpiredError",
    "CanceledError",
    "NotAuthorizedError",
    "UnknownOperationError",
    "InternalError",
    "STATUS_NAMES",
    "STATUS_CLASSES",
    "OAUTH_ERROR_CLASSES",
    "error_from_result",
    "error_for_status",
]

# The ABI's numbers (C-API.md "Status codes"). Never renumbered; new ones appended.
STATUS_NAMES: Dict[int, str] = {
    0: "WXA_OK",
    1: "WXA_PENDING",
    2: "WXA_ERR_INVALID_ARGUMENT",
    3: "WXA_ERR_STATE_MISMATCH",
    4: "WXA_ERR_OAUTH",
    5: "WXA_ERR_HTTP",
    6: "WXA_ERR_NETWORK",
    7: "WXA_ERR_TIMEOUT",
    8: "WXA_ERR_RATE_LIMITED",
    9: "WXA_ERR_EXPIRED",
    10: "WXA_ERR_CANCELED",
    11: "WXA_ERR_NOT_AUTHORIZED",
    12: "WXA_ERR_UNKNOWN_OPERATION",
    13: "WXA_ERR_INTERNAL",
}
_STATUS_NUMBERS: Dict[str, int] = {name: num for num, name in STATUS_NAMES.items()}


class WebexAuthError(Exception):
    """Base of every error raised by ``webex_auth``.

    Attributes: ``status`` (the ``wxa_status`` number, or ``None`` when unknown),
    ``status_name`` (``"WXA_ERR_OAUTH"``), ``message``, and when the server told them
    ``http_status``, ``tracking_id``, ``error`` and ``error_description``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        status_name: Optional[str] = None,
        http_status: Optional[int] = None,
        tracking_id: Optional[str] = None,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
    ) -> None:
        # One positional argument only: some bases (OSError via TimeoutError) give
        # two or more positional arguments a meaning of their own.
        super().__init__(message)
        if status_name is None and status is not None:
            status_name = STATUS_NAMES.get(status, "WXA_UNKNOWN_STATUS")
        if status is None and status_name is not None:
            status = _STATUS_NUMBERS.get(status_name)
        self.message = message
        self.status = status
        self.status_name = status_name
        self.http_status = http_status
        self.tracking_id = tracking_id
        self.error = error
        self.error_description = error_description

    def __str__(self) -> str:
        parts = [self.message]
        extra = []
        if self.status_name:
            extra.append(self.status_name)
        if self.error:
            extra.append(f"error={self.error}")
        if self.http_status is not None:
            extra.append(f"http_status={self.http_status}")
        if self.tracking_id:
            extra.append(f"tracking_id={self.tracking_id}")
        if extra:
            parts.append("(" + ", ".join(extra) + ")")
        return " ".join(parts)

    def __reduce__(self) -> Any:  # keep the attributes through pickling
        return (_rebuild, (type(self), self.message, self._fields()))

    def _fields(self) -> Dict[str, Any]:
        return {
            "status": self.status,
            "status_name": self.status_name,
            "http_status": self.http_status,
            "tracking_id": self.tracking_id,
            "error": self.error,
            "error_description": self.error_description,
        }


def _rebuild(cls: Type[WebexAuthError], message: str, fields: Dict[str, Any]) -> WebexAuthError:
    return cls(message, **fields)


class InvalidArgumentError(WebexAuthError, ValueError):
    """``WXA_ERR_INVALID_ARGUMENT``: the library refused an argument or the config."""


class ClientClosedError(InvalidArgumentError):
    """The ``Client`` was closed; no call can use it any more (a ``ValueError``, like
    I/O on a closed file)."""


class StateMismatchError(WebexAuthError):
    """``WXA_ERR_STATE_MISMATCH``: the redirect's ``state`` is missing, unknown,
    expired, replayed or forged; nothing was sent."""


class OAuthError(WebexAuthError):
    """``WXA_ERR_OAUTH``: the server answered with an OAuth error (see ``.error``)."""


class InvalidRequestError(OAuthError):
    """OAuth ``invalid_request``."""


class InvalidClientError(OAuthError):
    """OAuth ``invalid_client``."""


class InvalidGrantError(OAuthError):
    """OAuth ``invalid_grant`` (used, expired or revoked code or refresh token)."""


class UnauthorizedClientError(OAuthError):
    """OAuth ``unauthorized_client``."""


class UnsupportedGrantTypeError(OAuthError):
    """OAuth ``unsupported_grant_type``."""


class InvalidScopeError(OAuthError):
    """OAuth ``invalid_scope``."""


class HttpError(WebexAuthError):
    """``WXA_ERR_HTTP``: an unexpected HTTP status or an unparseable body."""


class NetworkError(WebexAuthError):
    """``WXA_ERR_NETWORK``: connection, TLS or I/O failure."""


class RequestTimeoutError(WebexAuthError, TimeoutError):
    """``WXA_ERR_TIMEOUT``: a request or the operation timed out (also a builtin
    ``TimeoutError``). Raised too when a blocking call's ``timeout=`` passes; the
    operation is then canceled."""


class RateLimitedError(WebexAuthError):
    """``WXA_ERR_RATE_LIMITED``: HTTP 429 still answered after the retries allowed."""


class ExpiredError(WebexAuthError):
    """``WXA_ERR_EXPIRED``: the device code or the token expired."""


class CanceledError(WebexAuthError):
    """``WXA_ERR_CANCELED``: canceled by ``cancel()`` or by closing the client."""


class NotAuthorizedError(WebexAuthError):
    """``WXA_ERR_NOT_AUTHORIZED``: no token, or no way to get one."""


class UnknownOperationError(WebexAuthError):
    """``WXA_ERR_UNKNOWN_OPERATION``: no such operation id on this client."""


class InternalError(WebexAuthError):
    """``WXA_ERR_INTERNAL``: a bug in the library (a caught panic)."""


# The one mapping table: status name -> class.
STATUS_CLASSES: Dict[str, Type[WebexAuthError]] = {
    "WXA_ERR_INVALID_ARGUMENT": InvalidArgumentError,
    "WXA_ERR_STATE_MISMATCH": StateMismatchError,
    "WXA_ERR_OAUTH": OAuthError,
    "WXA_ERR_HTTP": HttpError,
    "WXA_ERR_NETWORK": NetworkError,
    "WXA_ERR_TIMEOUT": RequestTimeoutError,
    "WXA_ERR_RATE_LIMITED": RateLimitedError,
    "WXA_ERR_EXPIRED": ExpiredError,
    "WXA_ERR_CANCELED": CanceledError,
    "WXA_ERR_NOT_AUTHORIZED": NotAuthorizedError,
    "WXA_ERR_UNKNOWN_OPERATION": UnknownOperationError,
    "WXA_ERR_INTERNAL": InternalError,
}

OAUTH_ERROR_CLASSES: Dict[str, Type[OAuthError]] = {
    "invalid_request": InvalidRequestError,
    "invalid_client": InvalidClientError,
    "invalid_grant": InvalidGrantError,
    "unauthorized_client": UnauthorizedClientError,
    "unsupported_grant_type": UnsupportedGrantTypeError,
    "invalid_scope": InvalidScopeError,
}


def _class_for(status_name: str, error: Optional[str]) -> Type[WebexAuthError]:
    cls = STATUS_CLASSES.get(status_name, WebexAuthError)
    if cls is OAuthError and error:
        cls = OAUTH_ERROR_CLASSES.get(error, OAuthError)
    return cls


def _opt_int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def error_from_result(result: Mapping[str, Any]) -> WebexAuthError:
    """The exception for a failed result or failure event payload (``"ok": false``)."""
    status_name = _opt_str(result.get("status")) or "WXA_ERR_INTERNAL"
    error = _opt_str(result.get("error"))
    message = _opt_str(result.get("message")) or status_name
    cls = _class_for(status_name, error)
    return cls(
        message,
        status_name=status_name,
        http_status=_opt_int(result.get("http_status")),
        tracking_id=_opt_str(result.get("tracking_id")),
        error=error,
        error_description=_opt_str(result.get("error_description")),
    )


def error_for_status(
    status: int, message: Optional[str], status_name: Optional[str] = None
) -> WebexAuthError:
    """The exception for a status a C function returned, with ``wxa_last_error()``."""
    if status_name is None:
        status_name = STATUS_NAMES.get(status, "WXA_UNKNOWN_STATUS")
    cls = _class_for(status_name, None)
    return cls(message or status_name, status=status, status_name=status_name)
