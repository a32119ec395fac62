"""Authorization Code + PKCE against the emulator: initiate_login, the consent
redirect, handle_redirect / exchange_code, sync and async, and their failures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import urllib.parse
from datetime import datetime, timezone

import pytest

import webex_auth as wa
from helpers import REDIRECT_URI, Recorder, form, login


def query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def decode_state(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def test_initiate_login_url(make_client) -> None:
    c = make_client()
    url = c.initiate_login(email="user@example.com", state={"page": "/home"}, scope="spark:all", prompt="login")
    q = query(url)
    assert q["client_id"] == "test-client"
    assert q["response_type"] == "code"
    assert q["redirect_uri"] == REDIRECT_URI
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) >= 43
    assert q["state"]
    assert "user@example.com" not in urllib.parse.unquote(url)  # email is only ever hashed
    assert q["emailHash"] == hashlib.sha256(b"user@example.com").hexdigest()
    # a second login gets a fresh PKCE challenge and state
    q2 = query(c.initiate_login())
    assert q2["code_challenge"] != q["code_challenge"] and q2["state"] != q["state"]


def test_full_code_flow_sync(emu, make_client) -> None:
    c = make_client()
    events = Recorder()
    c.on("token:refresh", events)
    assert c.token is None
    redirect = login(emu, c, state={"page": "/inbox", "n": 3})
    code = query(redirect)["code"]
    result = c.handle_redirect(redirect, timeout=20)
    assert isinstance(result, wa.RedirectResult)
    assert isinstance(result.token, wa.Token)
    assert result.token.access_token and result.token.token_type == "Bearer"
    assert result.token.expires_at > datetime.now(timezone.utc)
    assert result.token.refresh_token
    assert result.state == {"page": "/inbox", "n": 3}
    assert result.org_id == code.split("_", 2)[2]
    # the clean URL drops the code and the CSRF token; the app's state may stay
    assert result.clean_url.startswith(REDIRECT_URI)
    assert "code=" not in result.clean_url and code not in result.clean_url
    sent_state = decode_state(query(redirect)["state"])
    assert sent_state["csrf_token"]
    clean_state = query(result.clean_url).get("state")
    if clean_state is not None:
        kept = decode_state(clean_state)
        assert "csrf_token" not in kept and sent_state["csrf_token"] not in result.clean_url
        assert kept == {"page": "/inbox", "n": 3}
    # the snapshot is the same token
    snap = c.token
    assert snap is not None and snap.access_token == result.token.access_token
    assert snap.refresh_token == result.token.refresh_token
    events.wait_for("token:refresh")
    sent = emu.requests("token")
    assert len(sent) == 1 and form(sent[0])["grant_type"] == "authorization_code"
    assert form(sent[0])["code_verifier"]


def test_full_code_flow_async(emu, make_client) -> None:
    c = make_client()
    redirect = login(emu, c, state={"async": True})

    async def main() -> wa.RedirectResult:
        return await c.handle_redirect_async(redirect, timeout=20)

    result = asyncio.run(main())
    assert result.state == {"async": True}
    assert result.token.access_token
    assert c.token is not None and c.token.access_token == result.token.access_token


def test_state_defaults_to_empty_dict(emu, make_client) -> None:
    c = make_client()
    result = c.handle_redirect(login(emu, c))
    assert result.state == {}


def test_forged_state_is_refused_before_network(emu, make_client) -> None:
    c = make_client()
    redirect = login(emu, c)
    parts = urllib.parse.urlsplit(redirect)
    q = query(redirect)
    forged_state = q["state"][:-2] + ("AA" if not q["state"].endswith("AA") else "BB")
    forged = parts._replace(query=urllib.parse.urlencode(dict(q, state=forged_state))).geturl()
    with pytest.raises(wa.StateMismatchError) as info:
        c.handle_redirect(forged)
    assert info.value.code == 3 and info.value.status == "WXA_ERR_STATE_MISMATCH"
    missing = parts._replace(query=urllib.parse.urlencode({"code": q["code"]})).geturl()
    with pytest.raises(wa.StateMismatchError):
        c.handle_redirect(missing)
    assert emu.requests("token") == []
    # the real redirect still works: the pending login stayed pending
    assert c.handle_redirect(redirect).token.access_token
    # ... once: a replay is refused
    with pytest.raises(wa.StateMismatchError):
        c.handle_redirect(redirect)


def test_changed_app_state_with_the_same_csrf_token_returns_the_original(emu, make_client) -> None:
    # The browser (or anyone on the way) rewrites the app's part of `state` but keeps
    # its CSRF token: the check passes, and the state returned is the one kept with the
    # pending login, never the redirect's.
    c = make_client()
    redirect = login(emu, c, state={"return_to": "/inbox", "role": "user"})
    q = query(redirect)
    sent = decode_state(q["state"])
    assert sent["csrf_token"]
    changed = dict(sent, return_to="https://evil.example.com/", role="admin", extra=1)
    encoded = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    parts = urllib.parse.urlsplit(redirect)
    tampered = parts._replace(query=urllib.parse.urlencode(dict(q, state=encoded))).geturl()
    result = c.handle_redirect(tampered)
    assert result.state == {"return_to": "/inbox", "role": "user"}
    assert "evil.example.com" not in result.clean_url and "admin" not in result.clean_url
    assert result.token.access_token


def test_state_of_another_client_is_refused(emu, make_client) -> None:
    a, b = make_client(), make_client()
    redirect = login(emu, a)
    with pytest.raises(wa.StateMismatchError):
        b.handle_redirect(redirect)


def test_forged_state_async(emu, make_client) -> None:
    c = make_client()
    login(emu, c)
    bad = REDIRECT_URI + "?code=abc&state=forged"

    async def main() -> None:
        await c.handle_redirect_async(bad)

    with pytest.raises(wa.StateMismatchError):
        asyncio.run(main())


def test_unparseable_redirect_url(make_client) -> None:
    c = make_client()
    with pytest.raises(wa.InvalidArgumentError):
        c.handle_redirect("not a url at all")


def test_error_redirect_becomes_oauth_error(emu, make_client) -> None:
    c = make_client()
    redirect = emu.authorize(c.initiate_login() + "&force_error=access_denied")
    assert query(redirect).get("error") == "access_denied"
    with pytest.raises(wa.OAuthError) as info:
        c.handle_redirect(redirect)
    assert info.value.error == "access_denied" and info.value.code == 4
    assert emu.requests("token") == []


def test_reused_code_is_invalid_grant(emu, make_client) -> None:
    c = make_client()
    redirect = login(emu, c)
    code = query(redirect)["code"]
    c.handle_redirect(redirect)
    with pytest.raises(wa.InvalidGrantError) as info:
        c.exchange_code(code)
    assert info.value.error == "invalid_grant" and info.value.http_status == 400


def test_exchange_code_sync_and_async(emu, make_client) -> None:
    # Drive the authorize endpoint by hand with a known PKCE pair.
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    def code() -> str:
        q = urllib.parse.urlencode(
            {
                "client_id": "test-client",
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": "spark:all",
                "state": "manual",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return query(emu.authorize(emu.base_url + "/v1/authorize?" + q))["code"]

    c = make_client()
    tok = c.exchange_code(code(), verifier)
    assert tok.access_token and c.token is not None

    async def main() -> wa.Token:
        return await c.exchange_code_async(code(), verifier, timeout=20)

    tok2 = asyncio.run(main())
    assert tok2.access_token != tok.access_token
    assert c.token is not None and c.token.access_token == tok2.access_token
    # a wrong verifier fails PKCE
    with pytest.raises(wa.InvalidGrantError):
        c.exchange_code(code(), "w" * 64)


def test_wrong_secret_is_invalid_client(emu, make_client) -> None:
    c = make_client(client_secret="not-the-secret")
    with pytest.raises(wa.InvalidClientError) as info:
        c.handle_redirect(login(emu, c))
    assert info.value.error == "invalid_client"
    assert info.value.http_status in (400, 401)
