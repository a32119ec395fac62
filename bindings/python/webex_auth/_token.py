"""``Token`` (the supertoken) and ``RedirectResult``: results as Python values, and the
token JSON ``Client.set_token`` sends. No C calls; the engine's JSON in and out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Mapping, Optional, Union

from ._errors import InternalError, NotAuthorizedError
from ._native import check_str, datetime_to_ms, dumps, ms_to_datetime

__all__ = ["Token", "RedirectResult", "token_result", "redirect_result", "token_json"]


def _hidden(value: Optional[str]) -> str:
    return "None" if value is None else "'***'"


def _iso(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, repr=False)
class Token:
    """A snapshot of the client's token (the C API's "supertoken").

    ``repr``/``str`` never show ``access_token``, ``refresh_token`` or ``id_token``.
    ``to_dict()`` gives the shape ``Client.set_token`` (and ``wxa_set_token``) takes, so
    a saved token restores as it was.

    ``store_error``: set on the token of an operation whose new token could not be
    written to the configured ``token_store`` (the message says why; the client keeps
    the token and retries the write). It is about that result, not the token: it is
    not part of ``to_dict()`` and not compared.
    """

    access_token: str
    token_type: str
    expires_at: datetime
    refresh_token: Optional[str] = None
    refresh_token_expires_at: Optional[datetime] = None
    scope: Optional[str] = None
    id_token: Optional[str] = field(default=None)
    store_error: Optional[str] = field(default=None, compare=False)

    def __repr__(self) -> str:
        stored = "" if self.store_error is None else f", store_error={self.store_error!r}"
        return (
            f"Token(access_token={_hidden(self.access_token)}, "
            f"token_type={self.token_type!r}, expires_at={_iso(self.expires_at)!r}, "
            f"refresh_token={_hidden(self.refresh_token)}, "
            f"refresh_token_expires_at={_iso(self.refresh_token_expires_at)!r}, "
            f"scope={self.scope!r}, id_token={_hidden(self.id_token)}{stored})"
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

        def text(key: str) -> Optional[str]:
            value = data.get(key)
            return value if isinstance(value, str) else None

        token_type = text("token_type")
        return cls(
            access_token=access,
            token_type="Bearer" if token_type is None else token_type,
            expires_at=expires_at,
            refresh_token=text("refresh_token"),
            refresh_token_expires_at=ms_to_datetime(data.get("refresh_token_expires_at")),
            scope=text("scope"),
            id_token=text("id_token"),
            store_error=text("store_error"),
        )


@dataclass(frozen=True)
class RedirectResult:
    """What ``handle_redirect`` (and a loopback login) gives: the token, the redirect
    URL with ``code``, the CSRF token and other sensitive parameters removed, the app's
    ``state`` object passed to ``initiate_login`` (``{}`` when none), the code's
    ``org_id``, and for a Login with Webex (scope ``openid``) the validated claims of
    its ``id_token`` (``sub``, ``email``, ``name``, ...; ``None`` without one)."""

    token: Token
    clean_url: str
    state: Dict[str, Any]
    org_id: Optional[str] = None
    id_token_claims: Optional[Dict[str, Any]] = None


def token_result(result: Mapping[str, Any]) -> Token:
    """The ``Token`` of a successful token operation's result. A result read after a
    logout no longer holds the token (the library drops it): ``NotAuthorizedError``."""
    if "access_token" not in result:
        raise NotAuthorizedError(
            "the token of this result was cleared (a logout, or replaced by a newer token) before it was read"
        )
    try:
        return Token.from_dict(result)
    except (TypeError, ValueError) as exc:
        raise InternalError(f"the library returned a malformed token: {exc}") from None


def redirect_result(result: Mapping[str, Any], clean_url: Optional[str] = None) -> RedirectResult:
    """``clean_url``: what ``wxa_handle_redirect`` gave; a loopback login's result
    carries its own (``"clean_url"``)."""
    state = result.get("state")
    org_id = result.get("org_id")
    claims = result.get("id_token_claims")
    if clean_url is None:
        given = result.get("clean_url")
        clean_url = given if isinstance(given, str) else ""
    return RedirectResult(
        token=token_result(result),
        clean_url=clean_url,
        state=state if isinstance(state, dict) else {},
        org_id=org_id if isinstance(org_id, str) else None,
        id_token_claims=claims if isinstance(claims, dict) else None,
    )


_TOKEN_TIME_KEYS = ("expires_at", "refresh_token_expires_at")


def token_json(token: Union[Token, Mapping[str, Any], None], fields: Dict[str, Any]) -> bytes:
    """``set_token``'s arguments as the supertoken JSON ``wxa_set_token`` takes."""
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
