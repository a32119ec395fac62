"""Guest-issuer JWTs: create_jwt checked with PyJWT, login_with_jwt sync and async."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import timedelta

import pytest

import webex_auth as wa

jwt = pytest.importorskip("jwt", reason="PyJWT is needed to verify create_jwt (pip install pyjwt)")

# A base64 guest secret of 32 bytes, the least HS256 allows (RFC 7518 3.2), for the
# tests that stop before the library or never reach a server.
SECRET = base64.b64encode(b"a-guest-issuer-secret-of-32-byte").decode()


def guest(emu) -> tuple:
    info = emu.info()
    return info["guest_issuer"], info["guest_secret_b64"]


def test_create_jwt_verifies_with_pyjwt(emu) -> None:
    issuer, secret = guest(emu)
    token = wa.create_jwt(issuer=issuer, secret=secret, subject="guest-42", display_name="Guest Fourty-Two", expires_in=3600)
    assert token.count(".") == 2
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    key = base64.b64decode(secret + "=" * (-len(secret) % 4))
    claims = jwt.decode(token, key, algorithms=["HS256"])
    assert claims["iss"] == issuer and claims["sub"] == "guest-42"
    assert claims["name"] == "Guest Fourty-Two"
    assert abs(claims["exp"] - (time.time() + 3600)) < 30
    # a wrong key must not verify
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, b"another key entirely, 32 bytes long", algorithms=["HS256"])


def test_create_jwt_defaults_and_expiry_forms(emu) -> None:
    issuer, secret = guest(emu)
    key = base64.b64decode(secret + "=" * (-len(secret) % 4))
    c1 = jwt.decode(wa.create_jwt(issuer=issuer, secret=secret, expires_in="12h"), key, algorithms=["HS256"])
    assert c1["sub"].startswith("guest-user-")
    assert abs(c1["exp"] - (time.time() + 12 * 3600)) < 30
    c2 = jwt.decode(wa.create_jwt(issuer=issuer, secret=secret, expires_in=timedelta(minutes=5)), key, algorithms=["HS256"])
    assert abs(c2["exp"] - (time.time() + 300)) < 30
    assert c2["sub"] != c1["sub"]


def test_create_jwt_garbage() -> None:
    with pytest.raises(TypeError):
        wa.create_jwt(issuer=None, secret=SECRET, expires_in=60)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wa.create_jwt(issuer="i", secret=SECRET.encode(), expires_in=60)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        wa.create_jwt(issuer="", secret=SECRET, expires_in=60)
    with pytest.raises(ValueError):
        wa.create_jwt(issuer="i", secret=SECRET, expires_in=0)
    with pytest.raises(TypeError):
        wa.create_jwt(issuer="i", secret=SECRET, expires_in=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wa.create_jwt(issuer="i", secret=SECRET)  # type: ignore[call-arg]
    with pytest.raises(wa.InvalidArgumentError):  # the library refuses it: not base64
        wa.create_jwt(issuer="i", secret="%%% not base64 %%%", expires_in=60)


def test_login_with_jwt_sync_and_async(emu, make_client) -> None:
    issuer, secret = guest(emu)
    c = make_client(client_secret=None, client_id="public-client")
    t1 = c.login_with_jwt(wa.create_jwt(issuer=issuer, secret=secret, expires_in=3600), timeout=20)
    assert t1.access_token and c.token is not None
    sent = emu.requests("jwt_login")
    assert len(sent) == 1
    t2 = asyncio.run(c.login_with_jwt_async(wa.create_jwt(issuer=issuer, secret=secret, expires_in=3600)))
    assert t2.access_token and t2.access_token != t1.access_token


def test_login_with_bad_jwt(emu, make_client) -> None:
    c = make_client()
    forged = wa.create_jwt(issuer="guest-issuer-id", secret=base64.b64encode(b"not the emulator guest secret, 32+").decode(), expires_in=60)
    with pytest.raises(wa.WebexAuthError) as info:
        c.login_with_jwt(forged)
    assert isinstance(info.value, (wa.HttpError, wa.OAuthError, wa.NotAuthorizedError))
    assert info.value.http_status in (400, 401, 403)
