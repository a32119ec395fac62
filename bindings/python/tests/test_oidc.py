"""Login with Webex (OpenID Connect) against the emulator: the id_token's claims on the
result, and every way a bad id_token is refused (IdTokenError, nothing stored)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse

import pytest

import webex_auth as wa
from helpers import Recorder, login


def query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_openid_login_gives_the_claims(emu, make_client) -> None:
    c = make_client()
    url = c.initiate_login(scope="openid email", state={"next": "/profile"})
    assert query(url)["scope"] == "openid email" and query(url).get("nonce")
    result = c.handle_redirect(emu.authorize(url))
    claims = result.id_token_claims
    assert claims is not None
    info = emu.info()
    assert claims["iss"] == info["oidc_issuer"] and claims["aud"] == "test-client"
    assert claims["email"] == "emulated.user@example.com" and claims["email_verified"] is True
    assert claims["sub"] and claims["name"] == "Emulated User"
    assert claims["nonce"] == query(url)["nonce"]
    assert claims["exp"] > time.time()
    assert result.state == {"next": "/profile"}
    assert result.token.id_token and result.token.id_token not in repr(result)


def test_openid_login_async_and_a_plain_login_has_no_claims(emu, make_client) -> None:
    c = make_client()
    url = c.initiate_login(scope="openid email")

    async def main() -> wa.RedirectResult:
        return await c.handle_redirect_async(emu.authorize(url), timeout=20)

    assert asyncio.run(main()).id_token_claims["aud"] == "test-client"  # type: ignore[index]
    plain = c.handle_redirect(login(emu, c))
    assert plain.id_token_claims is None and plain.token.id_token is None


@pytest.mark.parametrize(
    "config,why",
    [
        ({"id_token_claims": {"aud": "another-client"}}, "aud"),
        ({"id_token_claims": {"exp": 1_000_000_000}}, "expired"),
        ({"id_token_claims": {"nonce": "not-the-nonce-we-sent"}}, "nonce"),
        ({"id_token_claims": {"nonce": None}}, "nonce"),
        ({"oidc_issuer": "https://idbroker.evil.example.com/idb"}, "iss"),
    ],
)
def test_a_bad_id_token_is_refused_and_nothing_is_stored(fresh_emu, make_client, config, why) -> None:
    fresh_emu.config(**config)
    c = make_client(fresh_emu)
    events = Recorder()
    c.on("*", events)
    with pytest.raises(wa.IdTokenError) as info:
        c.handle_redirect(login(fresh_emu, c, scope="openid email"))
    err = info.value
    assert err.status == "WXA_ERR_ID_TOKEN" and err.code == 14 and isinstance(err, wa.WebexAuthError)
    assert why in str(err), str(err)
    assert c.token is None
    assert "token:refresh" not in events.names
    assert events.wait_for("auth:error")["status"] == "WXA_ERR_ID_TOKEN"


def test_a_forged_signature_is_refused(fresh_emu, make_client) -> None:
    # A genuine id_token whose payload was changed after signing, answered by the token
    # endpoint in place of the real answer.
    c = make_client(fresh_emu)
    genuine = c.handle_redirect(login(fresh_emu, c, scope="openid email")).token.id_token
    assert genuine
    head, payload, sig = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "ceo@example.com"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = ".".join([head, forged_payload, sig])

    d = make_client(fresh_emu)
    redirect = login(fresh_emu, d, scope="openid email")
    body = {"access_token": "forged-access", "token_type": "Bearer", "expires_in": 3600, "id_token": forged}
    fresh_emu.script("token", [{"status": 200, "body": body}])
    with pytest.raises(wa.IdTokenError) as info:
        d.handle_redirect(redirect)
    assert "signature" in str(info.value) and forged not in str(info.value)
    assert d.token is None


def test_rotated_signing_keys_are_fetched_again(fresh_emu, make_client) -> None:
    c = make_client(fresh_emu)
    assert c.handle_redirect(login(fresh_emu, c, scope="openid email")).id_token_claims
    assert len(fresh_emu.requests("jwks")) == 1
    rotated = fresh_emu.rotate_keys(keep_old=False)
    assert len(rotated["kids"]) == 1
    # The cached keys lack the new kid: fetched once more, at once, and the login passes.
    claims = c.handle_redirect(login(fresh_emu, c, scope="openid email")).id_token_claims
    assert claims and claims["aud"] == "test-client"
    assert len(fresh_emu.requests("jwks")) == 2
