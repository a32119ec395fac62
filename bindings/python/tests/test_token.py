"""``Token``: repr hides secrets, dict round trip (no network)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

import webex_auth as wa
from webex_auth import Token
from webex_auth._token import token_result


def make() -> Token:
    return Token(
        access_token="ACCESS-SECRET-abcdefghijklmnop",
        token_type="Bearer",
        expires_at=datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
        refresh_token="REFRESH-SECRET-qrstuvwxyz",
        refresh_token_expires_at=datetime(2030, 3, 1, tzinfo=timezone.utc),
        scope="spark:all",
        id_token="ID-SECRET-token",
    )


def test_repr_hides_secrets() -> None:
    t = make()
    for text in (repr(t), str(t), f"{t}", repr([t])):
        assert "SECRET" not in text
        assert "***" in text and "Bearer" in text and "spark:all" in text


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().access_token = "x"  # type: ignore[misc]


def test_dict_round_trip() -> None:
    t = make()
    d = t.to_dict()
    assert d["expires_at"] == int(t.expires_at.timestamp() * 1000)
    assert d["refresh_token_expires_at"] == int(t.refresh_token_expires_at.timestamp() * 1000)  # type: ignore[union-attr]
    assert Token.from_dict(d) == t
    assert Token.from_dict(d).expires_at.tzinfo is not None


def test_from_payload_with_expires_in_only() -> None:
    t = Token.from_dict({"access_token": "a", "expires_in": 60})
    assert t.token_type == "Bearer" and t.refresh_token is None
    assert 55 < t.expires_in <= 60 and not t.expired
    assert t.expires_at.utcoffset() == timedelta(0)


def test_from_dict_rejects_garbage() -> None:
    with pytest.raises(TypeError):
        Token.from_dict(["a"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Token.from_dict({"access_token": ""})
    with pytest.raises(ValueError):
        Token.from_dict({"access_token": "a"})


def test_naive_datetime_rejected_by_to_dict() -> None:
    t = dataclasses.replace(make(), expires_at=datetime(2030, 1, 1))
    with pytest.raises(ValueError):
        t.to_dict()


def test_result_without_token_after_logout() -> None:
    # A result kept by the library and read after a logout has lost its token fields.
    with pytest.raises(wa.NotAuthorizedError):
        token_result({"ok": True, "type": "done", "token_type": "Bearer", "expires_in": 60})
    with pytest.raises(wa.InternalError):  # a token result that is malformed: a bug
        token_result({"ok": True, "access_token": "", "expires_in": 60})
    assert token_result({"ok": True, "access_token": "a", "expires_in": 60}).access_token == "a"
