"""Webex OAuth 2.0 authorization for Python, over the ``webex_auth`` C library.

    from webex_auth import Client
    with Client(client_id="...", client_secret="...", redirect_uri="...") as c:
        url = c.initiate_login(state={"page": "/home"})
        ...                                   # the user logs in, the browser comes back
        result = c.handle_redirect(callback_url)
        print(result.token.expires_at, result.state)
"""

from __future__ import annotations

from ._bindings import lib as _lib
from ._client import Client
from ._device import DeviceLogin
from ._errors import (
    STATUS_NAMES,
    CanceledError,
    ClientClosedError,
    ExpiredError,
    HttpError,
    IdTokenError,
    InternalError,
    InvalidArgumentError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    NetworkError,
    NotAuthorizedError,
    OAuthError,
    RateLimitedError,
    StateMismatchError,
    TimeoutError,
    UnauthorizedClientError,
    UnknownOperationError,
    UnsupportedGrantTypeError,
    WebexAuthError,
)
from ._events import EVENT_NAMES, EventHandler
from ._jwt import create_jwt
from ._loopback import LoopbackLogin
from ._qr import qr_code
from ._token import RedirectResult, Token
from ._webex import Guest, Person

__all__ = [
    "Client",
    "Token",
    "RedirectResult",
    "DeviceLogin",
    "LoopbackLogin",
    "Person",
    "Guest",
    "EventHandler",
    "EVENT_NAMES",
    "STATUS_NAMES",
    "create_jwt",
    "qr_code",
    "version",
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
]


def version() -> str:
    """The native library's version string (``wxa_version``)."""
    raw = _lib.wxa_version()
    return raw.decode("utf-8", "replace") if raw else ""


#: The library's version (``wxa_version``): the package is built from the same tree,
#: so this is the package's version too (a test compares it with the metadata).
__version__ = version()
