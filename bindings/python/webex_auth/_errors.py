"""Exceptions: ``WebexAuthError`` and one subclass per ``wxa_status``.

The status names and numbers are the library's (``wxa_status_name``), read at import.
Which class a status raises follows one rule, also used for the OAuth ``error`` of
``WXA_ERR_OAUTH``: the words of the name, joined, plus ``Error``, compared ignoring case
(``WXA_ERR_RATE_LIMITED`` -> ``RateLimitedError``, ``WXA_ERR_OAUTH`` -> ``OAuthError``,
``invalid_grant`` -> ``InvalidGrantError``). Calling C is not this module's job.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Dict, Mapping, Optional, Type, TypeVar

from ._bindings import lib, library_names

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
    "TimeoutError",
    "RateLimitedError",
    "ExpiredError",
    "CanceledError",
    "NotAuthorizedError",
    "UnknownOperationError",
    "InternalError",
    "IdTokenError",
    "STATUS_NAMES",
    "STATUS_NUMBERS",
    "STATUS_CLASSES",
    "class_for",
    "error_from_result",
    "error_for_status",
    "result_or_raise",
]

#: ``{number: "WXA_..."}`` for every status the loaded library knows.
STATUS_NAMES: Dict[int, str] = library_names(lib.wxa_status_name, 0, "WXA_UNKNOWN_STATUS")
#: ``{"WXA_...": number}``, the other way round.
STATUS_NUMBERS: Dict[str, int] = {name: number for number, name in STATUS_NAMES.items()}
_ERROR_PREFIX = "WXA_ERR_"


class WebexAuthError(Exception):
    """Base of every error raised by ``webex_auth``.

    The same fields as every binding's errors: ``status`` (the name, ``"WXA_ERR_OAUTH"``),
    ``code`` (its number, ``None`` for a name this library does not know), ``message``,
    and when the server told them ``error``, ``error_description``, ``http_status``,
    ``tracking_id``.
    """

    #: The status a class stands for, filled in below by the naming rule.
    default_status: ClassVar[Optional[str]] = None

    def __init__(
        self,
        message: str,
        *,
        status: Optional[str] = None,
        code: Optional[int] = None,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        http_status: Optional[int] = None,
        tracking_id: Optional[str] = None,
    ) -> None:
        # One positional argument only: some bases (OSError via TimeoutError) give
        # two or more positional arguments a meaning of their own.
        super().__init__(message)
        if status is None:
            status = STATUS_NAMES.get(code, "WXA_UNKNOWN_STATUS") if code is not None else self.default_status
        if code is None and status is not None:
            code = STATUS_NUMBERS.get(status)
        self.message = message
        self.status = status
        self.code = code
        self.error = error
        self.error_description = error_description
        self.http_status = http_status
        self.tracking_id = tracking_id

    def __str__(self) -> str:
        extra = [self.status] if self.status else []
        if self.error:
            extra.append(f"error={self.error}")
        if self.http_status is not None:
            extra.append(f"http_status={self.http_status}")
        if self.tracking_id:
            extra.append(f"tracking_id={self.tracking_id}")
        return f"{self.message} ({', '.join(extra)})" if extra else self.message

    def __reduce__(self) -> Any:  # keep the fields through pickling
        fields = {
            "status": self.status,
            "code": self.code,
            "error": self.error,
            "error_description": self.error_description,
            "http_status": self.http_status,
            "tracking_id": self.tracking_id,
        }
        return (_rebuild, (type(self), self.message, fields))


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


class TimeoutError(WebexAuthError, builtins.TimeoutError):
    """``WXA_ERR_TIMEOUT``: a request or the operation timed out. Also the builtin
    ``TimeoutError``, so ``except TimeoutError`` catches it whether or not it was
    imported from here. Raised too when a blocking call's ``timeout=`` passes; the
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


class IdTokenError(WebexAuthError):
    """``WXA_ERR_ID_TOKEN``: the ``id_token`` of a Login with Webex (OpenID Connect)
    failed validation (signature, issuer, audience, expiry, nonce); no token was stored."""


E = TypeVar("E", bound=WebexAuthError)
_CLASSES: Dict[str, Type[WebexAuthError]] = {
    obj.__name__.lower(): obj
    for obj in list(globals().values())
    if isinstance(obj, type) and issubclass(obj, WebexAuthError) and obj.__module__ == __name__
}


def class_for(words: str, base: Type[E]) -> Optional[Type[E]]:
    """The rule: the ``base`` subclass of this module named ``words`` (``RATE_LIMITED``,
    ``invalid_grant``) joined, plus ``Error``, ignoring case; ``None`` when none is."""
    cls = _CLASSES.get(words.replace("_", "").lower() + "error")
    return cls if cls is not None and issubclass(cls, base) else None


def _status_classes() -> Dict[str, Type[WebexAuthError]]:
    found: Dict[str, Type[WebexAuthError]] = {}
    for name in STATUS_NAMES.values():
        cls = class_for(name[len(_ERROR_PREFIX) :], WebexAuthError) if name.startswith(_ERROR_PREFIX) else None
        if cls is not None:
            found[name] = cls
            cls.default_status = name
    return found


#: ``{status name: class}`` for every error status of the loaded library that has a
#: class (a status a newer library adds and this package lacks raises ``WebexAuthError``).
STATUS_CLASSES: Dict[str, Type[WebexAuthError]] = _status_classes()


def _class_of(status: str, error: Optional[str]) -> Type[WebexAuthError]:
    cls = STATUS_CLASSES.get(status, WebexAuthError)
    if cls is OAuthError and error:
        return class_for(error, OAuthError) or OAuthError
    return cls


def _opt_int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def error_from_result(result: Mapping[str, Any]) -> WebexAuthError:
    """The exception for a failed result or failure event payload (``"ok": false``)."""
    status = _opt_str(result.get("status")) or "WXA_ERR_INTERNAL"
    error = _opt_str(result.get("error"))
    return _class_of(status, error)(
        _opt_str(result.get("message")) or status,
        status=status,
        error=error,
        error_description=_opt_str(result.get("error_description")),
        http_status=_opt_int(result.get("http_status")),
        tracking_id=_opt_str(result.get("tracking_id")),
    )


def error_for_status(code: int, message: Optional[str]) -> WebexAuthError:
    """The exception for a status a C function returned, with ``wxa_last_error()``."""
    status = STATUS_NAMES.get(code, "WXA_UNKNOWN_STATUS")
    return _class_of(status, None)(message or status, status=status, code=code)


def result_or_raise(result: Dict[str, Any]) -> Dict[str, Any]:
    """``result`` when it says ``"ok": true``; else its exception is raised."""
    if result.get("ok") is True:
        return result
    raise error_from_result(result)
