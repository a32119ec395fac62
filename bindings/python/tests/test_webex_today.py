"""Webex today against the emulator: Service App tokens, guests through a Service App,
``whoami`` (with its 401 -> refresh -> retry), FedRAMP's refusal of guests."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

import webex_auth as wa
from helpers import SERVICE_APP, Recorder, form, header, login


def integration_token(emu: Any, make_client: Any, scope: str = "spark:applications_token") -> str:
    """An integration's access token from a code login that asked for ``scope``."""
    c = make_client()
    return c.handle_redirect(login(emu, c, scope=scope)).token.access_token


def test_service_app_token_then_whoami_and_guest(emu, make_client) -> None:
    authorizing = integration_token(emu, make_client)
    org = emu.info()["org_id"]
    app = make_client(**SERVICE_APP)
    events = Recorder()
    app.on("token:refresh", events)
    emu.clear_requests()

    token = app.service_app_token(target_org_id=org, authorizing_token=authorizing, timeout=20)
    assert isinstance(token, wa.Token) and token.access_token and token.refresh_token
    assert token.access_token != authorizing and token.store_error is None
    assert "guest-issuer:write" in (token.scope or "")
    assert app.token is not None and app.token.access_token == token.access_token  # the client's token now
    assert events.wait_for("token:refresh", access_token=token.access_token)
    [sent] = emu.requests("application_token")
    assert header(sent, "authorization") == "Bearer " + authorizing  # the integration's token, not the app's
    assert emu.requests("token") == []

    me = app.whoami()
    assert isinstance(me, wa.Person) and me.type == "bot" and me.id and me.org_id
    assert me.emails and all(isinstance(e, str) for e in me.emails)
    assert header(emu.requests("people_me")[-1], "authorization") == "Bearer " + token.access_token

    guest = app.create_guest(subject="visitor-1", display_name="Visitor One")
    assert isinstance(guest, wa.Guest)
    assert (guest.subject, guest.display_name) == ("visitor-1", "Visitor One")
    assert guest.id and guest.email and guest.access_token and guest.expires_in == 3600
    assert guest.access_token not in repr(guest) and "***" in repr(guest) and "visitor-1" in repr(guest)
    assert app.token is not None and app.token.access_token == token.access_token  # the app's token stays
    [made] = emu.requests("guests_token")
    assert header(made, "authorization") == "Bearer " + token.access_token
    # The same subject again is the same guest, with a new token.
    again = app.create_guest(subject="visitor-1")
    assert again.id == guest.id and again.access_token != guest.access_token

    # Another client acts as the guest with its token.
    as_guest = make_client()
    as_guest.set_token(guest.token)
    assert as_guest.whoami().type == "appuser"

    # The Service App's token refreshes like any other, with the app's own credentials.
    emu.clear_requests()
    renewed = app.refresh()
    assert renewed.access_token != token.access_token
    [grant] = emu.requests("token")
    assert form(grant)["grant_type"] == "refresh_token"
    basic = base64.b64encode(b"service-app:service-app-secret").decode()
    assert header(grant, "authorization") == "Basic " + basic


def test_service_app_async(emu, make_client) -> None:
    authorizing = integration_token(emu, make_client)
    org = emu.info()["org_id"]
    app = make_client(**SERVICE_APP)

    async def main() -> tuple:
        t = await app.service_app_token_async(target_org_id=org, authorizing_token=authorizing, timeout=20)
        me, guests = await asyncio.gather(
            app.whoami_async(timeout=20),
            asyncio.gather(*(app.create_guest_async(subject=f"async-{i}", timeout=20) for i in range(5))),
        )
        return t, me, guests

    t, me, guests = asyncio.run(main())
    assert t.access_token and me.type == "bot"
    assert sorted(g.subject for g in guests) == [f"async-{i}" for i in range(5)]
    # no display name given: the subject stands in (Webex requires one)
    assert all(g.display_name == g.subject for g in guests)
    assert len({g.id for g in guests}) == 5


def test_service_app_not_authorized_in_the_org_is_403(fresh_emu, make_client) -> None:
    authorizing = integration_token(fresh_emu, lambda: make_client(fresh_emu))
    org = fresh_emu.info()["org_id"]
    fresh_emu.authorize_service_app("service-app", False)
    app = make_client(fresh_emu, **SERVICE_APP)
    failures = Recorder()
    app.on("auth:error", failures)
    with pytest.raises(wa.HttpError) as info:
        app.service_app_token(target_org_id=org, authorizing_token=authorizing)
    err = info.value
    assert err.http_status == 403 and err.status == "WXA_ERR_HTTP" and err.code == 5
    assert "Full Admin" in str(err) and "authorize" in str(err)
    assert authorizing not in str(err)
    assert app.token is None
    assert failures.wait_for("auth:error")["http_status"] == 403
    # authorized again: the same call works
    fresh_emu.authorize_service_app("service-app", True)
    assert app.service_app_token(target_org_id=org, authorizing_token=authorizing).access_token


def test_authorizing_token_without_the_scope_is_403(emu, make_client) -> None:
    plain = integration_token(emu, make_client, scope="spark:all")
    app = make_client(**SERVICE_APP)
    with pytest.raises(wa.HttpError) as info:
        asyncio.run(app.service_app_token_async(target_org_id=emu.info()["org_id"], authorizing_token=plain))
    assert info.value.http_status == 403 and "spark:applications_token" in str(info.value)


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({}, "target_org_id"),
        ({"target_org_id": "org"}, "authorizing_token"),
        ({"authorizing_token": "tok"}, "target_org_id"),
        ({"target_org_id": "", "authorizing_token": "tok"}, "target_org_id"),
        ({"target_org_id": "org", "authorizing_token": "  "}, "authorizing_token"),
    ],
)
def test_service_app_missing_options_send_nothing(emu, make_client, kwargs, named) -> None:
    app = make_client(**SERVICE_APP)
    with pytest.raises(wa.InvalidArgumentError) as info:
        app.service_app_token(**kwargs)
    assert named in str(info.value) and info.value.code == 2
    with pytest.raises(wa.InvalidArgumentError):
        asyncio.run(app.service_app_token_async(**kwargs))
    assert emu.requests("application_token") == [] and emu.requests("token") == []


def test_create_guest_and_whoami_refusals_send_nothing(emu, make_client) -> None:
    app = make_client(**SERVICE_APP)
    for kwargs in ({}, {"subject": ""}, {"display_name": "No Subject"}):
        with pytest.raises(wa.InvalidArgumentError) as info:
            app.create_guest(**kwargs)
        assert "subject" in str(info.value)
    with pytest.raises(TypeError):
        app.create_guest(subject=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        app.service_app_token(target_org_id=b"org", authorizing_token="t")  # type: ignore[arg-type]
    # no token at all: the operations fail without a request
    with pytest.raises(wa.NotAuthorizedError):
        app.create_guest(subject="someone")
    with pytest.raises(wa.NotAuthorizedError):
        app.whoami()
    with pytest.raises(wa.NotAuthorizedError):
        asyncio.run(app.whoami_async())
    assert emu.requests("guests_token") == [] and emu.requests("people_me") == []


def test_create_guest_is_refused_on_fedramp(emu, make_client) -> None:
    authorizing = integration_token(emu, make_client)
    app = make_client(
        environment="fedramp",
        webex_api_url=emu.fedramp_api_url,
        idbroker_url=emu.fedramp_idbroker_url,
        **SERVICE_APP,
    )
    # Service App tokens work there (the emulator answers as the commercial cloud does)...
    token = app.service_app_token(target_org_id=emu.info()["org_id"], authorizing_token=authorizing)
    assert token.access_token and app.whoami().type == "bot"
    assert emu.requests("people_me")[-1]["path"].startswith("/fedramp/")
    # ...guests do not: refused by the call itself, nothing sent.
    with pytest.raises(wa.InvalidArgumentError) as info:
        app.create_guest(subject="visitor")
    assert "FedRAMP" in str(info.value)
    with pytest.raises(wa.InvalidArgumentError):
        asyncio.run(app.create_guest_async(subject="visitor"))
    with pytest.raises(wa.InvalidArgumentError):
        app.login_with_jwt("a.b.c")
    assert emu.requests("guests_token") == [] and emu.requests("jwt_login") == []


def test_whoami_after_the_access_token_expired_refreshes_once_and_retries(fresh_emu, make_client) -> None:
    c = make_client(fresh_emu)
    first = c.handle_redirect(login(fresh_emu, c)).token
    fresh_emu.clear_requests()
    # The emulator's clock passes the access token's hour (not its refresh token's 60
    # days); the engine's clock still thinks it valid, so the first call gets a 401.
    fresh_emu.advance_clock(3700)
    refreshed = Recorder()
    c.on("token:refresh", refreshed)

    me = c.whoami()
    assert me.type == "person" and me.emails == ("emulated.user@example.com",)
    assert [r["status"] for r in fresh_emu.requests("people_me")] == [401, 200]
    assert fresh_emu.grants() == ["refresh_token"]
    now = c.token
    assert now is not None and now.access_token != first.access_token
    assert refreshed.wait_for("token:refresh", access_token=now.access_token)  # not the login's, still on its way
    auth = [header(r, "authorization") for r in fresh_emu.requests("people_me")]
    assert auth == ["Bearer " + first.access_token, "Bearer " + now.access_token]

    # The same again, asynchronously.
    fresh_emu.clear_requests()
    fresh_emu.advance_clock(3700)
    assert asyncio.run(c.whoami_async()).type == "person"
    assert [r["status"] for r in fresh_emu.requests("people_me")] == [401, 200]
    assert fresh_emu.grants() == ["refresh_token"]


def test_whoami_gives_up_after_one_retry(emu, make_client) -> None:
    c = make_client()
    c.handle_redirect(login(emu, c))
    emu.clear_requests()
    unauthorized = {"status": 401, "body": {"message": "The request requires a valid access token set in the Authorization request header."}}
    emu.script("people_me", [unauthorized, unauthorized, unauthorized])
    with pytest.raises(wa.WebexAuthError) as info:
        c.whoami()
    assert info.value.http_status == 401
    assert len(emu.requests("people_me")) == 2 and emu.grants() == ["refresh_token"]
