"""``create_jwt``: sign a Webex guest-issuer JWT (HS256) locally with ``wxa_create_jwt``.
No client, no network; logging in with the JWT is ``Client.login_with_jwt``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, Optional, Union

from ._bindings import lib
from ._native import call_string_out, check_opt_str, check_str, dumps

__all__ = ["create_jwt"]


def create_jwt(
    *,
    issuer: str,
    secret: str,
    subject: Optional[str] = None,
    display_name: Optional[str] = None,
    expires_in: Union[int, str, timedelta],
) -> str:
    """A compact HS256 JWS for guest login.

    ``issuer``: the guest issuer id; ``secret``: its base64 secret as Webex issued it;
    ``subject``: defaults to ``guest-user-<uuid4>``; ``expires_in``: seconds, a
    ``timedelta`` or a string such as ``"12h"``. Raises ``InvalidArgumentError`` (a
    ``ValueError``) when the library refuses the options (e.g. a secret that is not
    base64)."""
    opts: Dict[str, Any] = {
        "issuer": check_str(issuer, "issuer"),
        "secret": check_str(secret, "secret"),
    }
    if check_opt_str(subject, "subject") is not None:
        opts["subject"] = subject
    if check_opt_str(display_name, "display_name") is not None:
        opts["display_name"] = display_name
    if isinstance(expires_in, timedelta):
        expires_in = int(expires_in.total_seconds())
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, str)):
        raise TypeError(
            f"expires_in must be seconds (int), a timedelta or a string like '12h', "
            f"not {type(expires_in).__name__}"
        )
    if isinstance(expires_in, int) and expires_in <= 0:
        raise ValueError(f"expires_in must be positive, not {expires_in}")
    if isinstance(expires_in, str):
        check_str(expires_in, "expires_in")
    opts["expires_in"] = expires_in
    return call_string_out(lib.wxa_create_jwt, dumps(opts))
