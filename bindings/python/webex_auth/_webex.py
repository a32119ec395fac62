"""Results of the Webex API calls that belong to authorization: ``Person`` (``whoami``)
and ``Guest`` (``create_guest``). The engine's JSON in, Python values out; no C calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional, Tuple

from ._errors import InternalError, NotAuthorizedError
from ._token import Token

__all__ = ["Person", "Guest", "person_result", "guest_result"]


def _text(result: Mapping[str, Any], key: str) -> Optional[str]:
    value = result.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Person:
    """Who the client's token is (``GET people/me``): ``type`` is ``"person"`` for a
    user, ``"bot"`` for a Service App or client-credentials token, ``"appuser"`` for a
    guest."""

    id: str
    emails: Tuple[str, ...]
    display_name: Optional[str]
    org_id: Optional[str]
    type: Optional[str]


def person_result(result: Mapping[str, Any]) -> Person:
    pid = _text(result, "id")
    if not pid:
        raise InternalError("the library returned a person without an id")
    emails = result.get("emails")
    return Person(
        id=pid,
        emails=tuple(e for e in emails if isinstance(e, str)) if isinstance(emails, list) else (),
        display_name=_text(result, "display_name"),
        org_id=_text(result, "org_id"),
        type=_text(result, "type"),
    )


@dataclass(frozen=True, repr=False)
class Guest:
    """A guest made by the client's Service App (``create_guest``): its own access
    token, not the client's. ``repr`` never shows ``access_token``. ``token`` is the
    same as a ``Token``, for ``Client.set_token`` on a client that acts as the guest."""

    access_token: str
    expires_in: Optional[int]
    expires_at: Optional[datetime]
    id: Optional[str]
    subject: Optional[str]
    display_name: Optional[str]
    email: Optional[str]

    def __repr__(self) -> str:
        expires = None if self.expires_at is None else self.expires_at.isoformat()
        return (
            f"Guest(id={self.id!r}, subject={self.subject!r}, display_name={self.display_name!r}, "
            f"email={self.email!r}, access_token='***', expires_at={expires!r})"
        )

    __str__ = __repr__

    @property
    def token(self) -> Token:
        """The guest's token as a ``Token`` (``ValueError`` when Webex gave no lifetime)."""
        if self.expires_at is None:
            raise ValueError("the guest token's lifetime is unknown (no expires_in)")
        return Token(access_token=self.access_token, token_type="Bearer", expires_at=self.expires_at)


def guest_result(result: Mapping[str, Any]) -> Guest:
    access = _text(result, "access_token")
    if access is None:
        raise NotAuthorizedError(
            "the guest token of this result was cleared (a logout, or replaced by a newer token) before it was read"
        )
    if not access:
        raise InternalError("the library returned a guest without an access token")
    expires_in = result.get("expires_in")
    seconds = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else None
    return Guest(
        access_token=access,
        expires_in=seconds,
        expires_at=None if seconds is None else datetime.now(timezone.utc) + timedelta(seconds=seconds),
        id=_text(result, "id"),
        subject=_text(result, "subject"),
        display_name=_text(result, "display_name"),
        email=_text(result, "email"),
    )
