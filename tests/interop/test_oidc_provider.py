"""Interoperability: the webex-auth engine (through the Python binding) against
oidc-provider, an OpenID-certified third-party OAuth 2.0 server, offline on 127.0.0.1.

The engine is pointed at the provider with explicit endpoint URLs taken from its
discovery document; the "browser" part (login and consent pages, device code pages) is
driven with urllib and a cookie jar. Run through ``run.sh`` (it installs the server's
npm package and sets WEBEX_AUTH_LIBRARY / PYTHONPATH).

When a test here fails, the assertion message carries the provider's request log
(method, path, form field names, status, OAuth error body): that is the evidence for
an engine/standard-server disagreement.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import webex_auth as wa

HERE = Path(__file__).resolve().parent
REDIRECT_URI = "http://127.0.0.1/callback"
CLIENT_ID = "interop-client"
CLIENT_SECRET = "interop-secret"
# Must match server.mjs: characters that RFC 6749 §2.3.1 form-encoding changes.
SPECIAL_CLIENT_ID = "interop-special"
SPECIAL_CLIENT_SECRET = "p@ss word:+/%&=?"
PUBLIC_CLIENT_ID = "interop-public"
HTTP_TIMEOUT = 10


# --------------------------------------------------------------------------- server


class Provider:
    """A running ``node server.mjs``: its issuer, discovery document and request log."""

    def __init__(self, proc: subprocess.Popen, issuer: str, log_path: Path) -> None:
        self.proc = proc
        self.issuer = issuer
        self.log_path = log_path
        with urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=HTTP_TIMEOUT) as r:
            self.discovery: Dict[str, Any] = json.loads(r.read())
        self._mark = 0

    def log(self) -> str:
        """The server's stderr since the last ``mark()``: one line per request."""
        text = self.log_path.read_text(errors="replace")
        return text[self._mark:]

    def mark(self) -> None:
        self._mark = len(self.log_path.read_text(errors="replace"))

    def evidence(self) -> str:
        return "\n--- oidc-provider request log ---\n" + self.log()

    def client_config(self, **overrides: Any) -> Dict[str, Any]:
        d = self.discovery
        config: Dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid offline_access",
            # Explicit endpoints from discovery; the Webex bases point at the provider too
            # so that no derived endpoint could reach anything else.
            "webex_api_url": self.issuer,
            "idbroker_url": self.issuer,
            "authorize_url": d["authorization_endpoint"],
            "token_url": d["token_endpoint"],
            "device_authorize_url": d["device_authorization_endpoint"],
            "device_token_url": d["token_endpoint"],
            "revoke_url": d["revocation_endpoint"],
            "issuer": d["issuer"],  # RFC 9207 `iss` on redirects, and the id_token's `iss`
            # The engine verifies every id_token (RS256) against the provider's keys.
            "jwks_url": d["jwks_uri"],
            "timeout_ms": 10_000,
            "max_retries": 0,
        }
        config.update(overrides)
        return config

    def introspect(self, token: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> Dict[str, Any]:
        """RFC 7662 introspection at the provider, authenticated as the client."""
        data = urllib.parse.urlencode({"token": token}).encode()
        req = urllib.request.Request(self.discovery["introspection_endpoint"], data=data, method="POST")
        basic = base64.b64encode(f"{_form(client_id)}:{_form(secret)}".encode()).decode()
        req.add_header("Authorization", "Basic " + basic)
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
            return json.loads(r.read())


def _form(value: str) -> str:
    return urllib.parse.quote_plus(value, safe="")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run tests/interop/run.sh (it runs npm ci)")
    log = tempfile.NamedTemporaryFile(prefix="oidc-provider-", suffix=".log", delete=False)
    log_path = Path(log.name)
    proc = subprocess.Popen(
        ["node", "server.mjs"], cwd=HERE, stdout=subprocess.PIPE, stderr=log,
        text=True, env={**os.environ, "NODE_ENV": "development"},
    )  # fmt: skip
    try:
        line = _read_line(proc, deadline=time.monotonic() + 30)
        if not line.startswith("listening http://127.0.0.1:"):
            pytest.fail(f"server.mjs printed {line!r}\n{log_path.read_text(errors='replace')}")
        yield Provider(proc, line.split()[1].rstrip("/"), log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        if os.environ.get("INTEROP_KEEP_LOG"):
            print(f"\noidc-provider log kept at {log_path}", file=sys.stderr)
        else:
            log_path.unlink(missing_ok=True)


def _read_line(proc: subprocess.Popen, deadline: float) -> str:
    out: List[str] = []

    def read() -> None:
        assert proc.stdout is not None
        out.append(proc.stdout.readline())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(max(0.0, deadline - time.monotonic()))
    if not out:
        proc.kill()
        pytest.fail("server.mjs did not print its address within 30 s")
    return out[0].strip()


@pytest.fixture
def op(provider: Provider) -> Provider:
    provider.mark()
    return provider


# --------------------------------------------------------------------------- browser


class _Form:
    def __init__(self, action: str, method: str, attrs: Dict[str, str]) -> None:
        self.action = action
        self.method = method
        self.attrs = attrs
        self.fields: Dict[str, str] = {}


class _FormParser(HTMLParser):
    """The page's forms with their named <input>s (inside the <form> element only:
    the device page's Abort button belongs to its form through form=, and must not
    be submitted)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: List[_Form] = []
        self._current: Optional[_Form] = None

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = _Form(a.get("action", ""), a.get("method", "get").lower(), a)
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


class _Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


class Browser:
    """A user agent: a cookie jar, redirects followed by hand (the provider's are
    relative URLs), forms filled in (devInteractions: any login and password; consent
    and device confirmation: submit as is). Stops at a redirect to ``stop_at``."""

    def __init__(self, login: str = "interop-user") -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _Keep())
        self.login = login
        self.pages: List[str] = []  # what was seen: "login", "consent", "device-confirm", ...

    def _open(self, url: str, data: Optional[Dict[str, str]] = None) -> Tuple[int, str, str]:
        body = None if data is None else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")
        try:
            with self.opener.open(req, timeout=HTTP_TIMEOUT) as r:
                return r.status, "", r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            location = e.headers.get("Location") or ""
            text = e.read().decode("utf-8", "replace")
            if 300 <= e.code < 400:
                return e.code, location, text
            raise AssertionError(f"{req.method} {url} -> HTTP {e.code}: {text[:500]}") from None

    def drive(self, url: str, stop_at: Optional[str] = None, max_steps: int = 20) -> str:
        """Browse from ``url``. Returns the ``Location`` that starts with ``stop_at``
        (not fetched), or the HTML of the first page without a form."""
        data: Optional[Dict[str, str]] = None
        for _ in range(max_steps):
            status, location, html = self._open(url, data)
            data = None
            if location:
                target = urllib.parse.urljoin(url, location)
                if stop_at and target.startswith(stop_at):
                    return target
                url = target
                continue
            parser = _FormParser()
            parser.feed(html)
            if not parser.forms:
                self.pages.append("final")
                return html
            form = parser.forms[0]
            fields = dict(form.fields)
            if "login" in fields or fields.get("prompt") == "login":
                self.pages.append("login")
                fields.update(prompt="login", login=self.login, password="any password")
            elif fields.get("prompt") == "consent":
                self.pages.append("consent")
            elif fields.get("confirm") == "yes":
                self.pages.append("device-confirm")
            elif "user_code" in fields:
                self.pages.append("device-code")
            else:
                self.pages.append("form")
            assert form.method == "post", f"unexpected form method {form.method!r} at {url}"
            url = urllib.parse.urljoin(url, form.action)
            data = fields
        raise AssertionError(f"browser did not finish within {max_steps} steps; pages: {self.pages}")


# --------------------------------------------------------------------------- events


class Events:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: List[Tuple[float, Dict[str, Any]]] = []

    def __call__(self, payload: Dict[str, Any]) -> None:
        with self.lock:
            self.items.append((time.monotonic(), payload))

    def times(self, name: str) -> List[float]:
        with self.lock:
            return [t for t, p in self.items if p.get("type") == name]

    def names(self) -> List[str]:
        with self.lock:
            return [str(p.get("type")) for _, p in self.items]

    def wait_count(self, name: str, count: int, timeout: float) -> List[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ts = self.times(name)
            if len(ts) >= count:
                return ts
            time.sleep(0.05)
        raise AssertionError(f"{count} x {name!r} not seen within {timeout} s; events: {self.names()}")


# --------------------------------------------------------------------------- helpers


def code_flow_login(op: Provider, client: wa.Client, **login: Any) -> wa.RedirectResult:
    """initiate_login -> the provider's login + consent pages -> handle_redirect."""
    url = client.initiate_login(**login)
    assert url.startswith(op.discovery["authorization_endpoint"] + "?"), url
    browser = Browser()
    callback = browser.drive(url, stop_at=REDIRECT_URI)
    assert browser.pages == ["login", "consent"], browser.pages
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)
    assert "code" in query, f"provider redirected with an error: {callback}{op.evidence()}"
    assert query.get("iss") == [op.issuer], callback
    try:
        return client.handle_redirect(callback, timeout=30)
    except wa.WebexAuthError as exc:
        raise AssertionError(f"handle_redirect failed: {exc!r}{op.evidence()}") from exc


def authorize_query(url: str) -> Dict[str, List[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


# --------------------------------------------------------------------------- tests


def test_discovery_has_what_the_engine_needs(provider: Provider) -> None:
    d = provider.discovery
    for key in ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint",
                "revocation_endpoint", "introspection_endpoint"):  # fmt: skip
        assert d.get(key, "").startswith(provider.issuer + "/"), key
    assert "S256" in d["code_challenge_methods_supported"]
    assert {"authorization_code", "refresh_token", "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"} <= set(d["grant_types_supported"])  # fmt: skip


def test_authorization_code_pkce_refresh_and_revoking_logout(op: Provider) -> None:
    with wa.Client(**op.client_config()) as client:
        events = Events()
        client.on("*", events)
        # prompt=consent: OpenID Connect Core §11 — oidc-provider drops offline_access
        # (so issues no refresh token) when a prompt without `consent` is sent.
        url = client.initiate_login(scope="openid offline_access", prompt="consent", state={"return_to": "/inbox"})
        q = authorize_query(url)
        assert q["response_type"] == ["code"] and q["client_id"] == [CLIENT_ID]
        assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
        assert q["redirect_uri"] == [REDIRECT_URI] and q["scope"] == ["openid offline_access"]

        browser = Browser()
        callback = browser.drive(url, stop_at=REDIRECT_URI)
        assert browser.pages == ["login", "consent"], browser.pages
        cq = authorize_query(callback)
        assert "code" in cq and cq.get("iss") == [op.issuer], f"{callback}{op.evidence()}"

        try:
            result = client.handle_redirect(callback, timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"code exchange failed: {exc!r}{op.evidence()}") from exc
        token = result.token
        assert result.state == {"return_to": "/inbox"}
        # Sanitized URL (docs/PROTOCOL.md): no code, state re-encoded without csrf_token,
        # every other parameter (here `iss`) kept.
        clean = authorize_query(result.clean_url)
        assert "code" not in clean and clean["iss"] == [op.issuer], result.clean_url
        clean_state = base64.urlsafe_b64decode(clean["state"][0] + "=" * (-len(clean["state"][0]) % 4))
        assert json.loads(clean_state) == {"return_to": "/inbox"}
        assert token.access_token and token.token_type.lower() == "bearer"
        assert token.refresh_token, f"no refresh token issued{op.evidence()}"
        assert token.id_token and token.id_token.count(".") == 2  # openid -> ID Token (JWS)
        assert set((token.scope or "").split()) == {"openid", "offline_access"}
        assert 0 < token.expires_in <= 600
        # The token endpoint saw Basic auth and PKCE's verifier.
        exchange = [l for l in op.log().splitlines() if l.startswith("POST /token")]
        assert exchange and " Authorization " in exchange[0] and "code_verifier" in exchange[0], exchange
        intro = op.introspect(token.access_token)
        assert intro["active"] is True and intro["client_id"] == CLIENT_ID and intro["sub"] == "interop-user"

        # Refresh -> a new access token from the provider.
        try:
            refreshed = client.refresh(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"refresh failed: {exc!r}{op.evidence()}") from exc
        assert refreshed.access_token and refreshed.access_token != token.access_token
        assert refreshed.refresh_token == token.refresh_token  # not rotated (server.mjs)
        assert op.introspect(refreshed.access_token)["active"] is True
        assert op.introspect(token.refresh_token)["active"] is True

        # Logout revokes the refresh token at the RFC 7009 endpoint.
        op.mark()
        try:
            client.logout(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"revocation failed: {exc!r}{op.evidence()}") from exc
        assert client.token is None
        events.wait_count("logout", 1, timeout=5)
        revoke = [l for l in op.log().splitlines() if l.startswith("POST /token/revocation")]
        assert revoke and revoke[0].endswith("-> 200"), revoke
        assert "token_type_hint" in revoke[0] and " Authorization " in revoke[0], revoke
        # The provider says the refresh token is dead, and revoking it ended the grant
        # (oidc-provider's default revokeGrantPolicy), so the access token is dead too.
        assert op.introspect(token.refresh_token) == {"active": False}
        assert op.introspect(refreshed.access_token) == {"active": False}

        # A second refresh with the revoked refresh token fails with invalid_grant.
        client.set_token(refreshed)
        with pytest.raises(wa.InvalidGrantError):
            client.refresh(timeout=30)
        assert client.token is None  # invalid_grant on refresh clears the token
        # Events run on a library thread: wxa_wait may return before they arrive.
        events.wait_count("unauthorized", 1, timeout=5)


def test_public_client_code_flow_and_refresh(op: Provider) -> None:
    """A public client (no secret): PKCE is mandatory at oidc-provider, `client_id` goes
    in the form and no Authorization header is sent."""
    config = op.client_config(client_id=PUBLIC_CLIENT_ID, client_secret=None)
    with wa.Client(**config) as client:
        result = code_flow_login(op, client, scope="openid offline_access", prompt="consent")
        assert result.token.access_token and result.token.refresh_token
        try:
            refreshed = client.refresh(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"public refresh failed: {exc!r}{op.evidence()}") from exc
        assert refreshed.access_token != result.token.access_token
    token_calls = [l for l in op.log().splitlines() if l.startswith("POST /token")]
    assert len(token_calls) == 2 and all(" Authorization " not in l and "client_id" in l for l in token_calls), token_calls


def test_webex_extras_on_the_authorize_url_are_ignored(op: Provider) -> None:
    """`emailHash` (a Webex extension, sent when an email is given) and `login_hint`
    ride along on the authorize URL; a standard server ignores what it does not know."""
    with wa.Client(**op.client_config()) as client:
        url = client.initiate_login(email="User@Example.com", login_hint="user@example.com",
                                    scope="openid offline_access", prompt="consent")  # fmt: skip
        assert "emailHash" in authorize_query(url)
        result = client.handle_redirect(Browser().drive(url, stop_at=REDIRECT_URI), timeout=30)
        assert result.token.refresh_token


def test_client_credentials(op: Provider) -> None:
    with wa.Client(**op.client_config(scope="api:read")) as client:
        try:
            token = client.client_credentials(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"client_credentials failed: {exc!r}{op.evidence()}") from exc
        assert token.access_token and token.token_type.lower() == "bearer"
        assert token.refresh_token is None
        assert 0 < token.expires_in <= 600
        assert client.token is not None and client.token.access_token == token.access_token
        intro = op.introspect(token.access_token)
        assert intro["active"] is True and intro["client_id"] == CLIENT_ID
        assert "sub" not in intro  # a client's own token: no end user
        # Logout without a refresh token revokes the access token (token_type_hint).
        op.mark()
        try:
            client.logout(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"revoking the access token failed: {exc!r}{op.evidence()}") from exc
        assert client.token is None
        assert op.introspect(token.access_token) == {"active": False}
        revoke = [l for l in op.log().splitlines() if l.startswith("POST /token/revocation")]
        assert revoke and revoke[0].endswith("-> 200") and "token_type_hint" in revoke[0], revoke


def test_client_secret_basic_form_encodes_id_and_secret(op: Provider) -> None:
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic. oidc-provider
    decodes them, so a secret with ' ', ':', '+', '%', '&', '=', '?' only works when the
    engine encodes."""
    config = op.client_config(client_id=SPECIAL_CLIENT_ID, client_secret=SPECIAL_CLIENT_SECRET, scope="api:read")
    with wa.Client(**config) as client:
        try:
            token = client.client_credentials(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"Basic auth with a special secret refused: {exc!r}{op.evidence()}") from exc
        assert op.introspect(token.access_token, SPECIAL_CLIENT_ID, SPECIAL_CLIENT_SECRET)["active"] is True


def test_client_auth_body(op: Provider) -> None:
    """client_auth=body (client_secret_post) is accepted by the provider as well."""
    with wa.Client(**op.client_config(client_auth="body", scope="api:read")) as client:
        try:
            token = client.client_credentials(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"client_secret_post refused: {exc!r}{op.evidence()}") from exc
        assert token.access_token
        line = [l for l in op.log().splitlines() if l.startswith("POST /token")][0]
        assert " Authorization " not in line and "client_secret" in line, line


@pytest.mark.parametrize("self_contained_token", [True, False])
def test_self_contained_token_param_is_harmless(op: Provider, self_contained_token: bool) -> None:
    """The engine adds `self_contained_token=true` (a Webex extension) to code and
    client-credentials requests unless told not to; a standard server ignores it."""
    config = op.client_config(self_contained_token=self_contained_token, scope="api:read")
    with wa.Client(**config) as client:
        client.client_credentials(timeout=30)
    line = [l for l in op.log().splitlines() if l.startswith("POST /token")][0]
    assert ("self_contained_token" in line) is self_contained_token, line
    assert line.endswith("-> 200"), line


def test_wrong_secret_is_invalid_client(op: Provider) -> None:
    with wa.Client(**op.client_config(client_secret="not-the-secret", scope="api:read")) as client:
        with pytest.raises(wa.InvalidClientError) as info:
            client.client_credentials(timeout=30)
    assert info.value.error == "invalid_client"
    assert info.value.http_status == 401


def test_device_flow_default_interval_and_approval(op: Provider) -> None:
    with wa.Client(**op.client_config()) as client:
        events = Events()
        client.on("*", events)
        started = time.monotonic()
        try:
            login = client.start_device_login(timeout=30)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"device authorization failed: {exc!r}{op.evidence()}") from exc
        got_code = time.monotonic()
        assert login.user_code and login.verification_uri.startswith(op.issuer + "/")
        assert login.user_code in urllib.parse.unquote(login.verification_uri_complete)
        assert login.expires_in == 120  # server.mjs DeviceCode TTL
        # oidc-provider sends no `interval`: RFC 8628 §3.2 says the client uses 5 s.
        assert login.interval == 5, f"reported interval {login.interval!r}"

        # Two pending polls, ~5 s apart (the first ~5 s after the user code arrived).
        pending = events.wait_count("authorizationPending", 2, timeout=20)
        first_wait = pending[0] - got_code
        gap = pending[1] - pending[0]
        print(f"device polls: first {first_wait:.2f} s after the user code, then {gap:.2f} s apart")
        assert 4.0 <= first_wait <= 6.5, f"first poll {first_wait:.2f} s after the user code"
        assert 4.0 <= gap <= 6.0, f"polls {gap:.2f} s apart"
        assert not [l for l in op.log().splitlines() if "slow_down" in l], op.evidence()

        # The user approves on another device: code page -> confirm -> login -> consent.
        browser = Browser(login="device-user")
        html = browser.drive(login.verification_uri_complete)
        assert browser.pages == ["device-code", "device-confirm", "login", "consent", "final"], browser.pages
        assert "Sign-in Success" in html, html[:500]

        try:
            token = login.wait(timeout=20)
        except wa.WebexAuthError as exc:
            raise AssertionError(f"device login failed: {exc!r}{op.evidence()}") from exc
        assert token.access_token and token.refresh_token  # offline_access granted
        assert token.id_token
        assert login.done
        names = events.names()
        assert names.index("getUserCodeSuccess") < names.index("authorizationPending")
        assert names.index("authorizationSuccess") > max(i for i, n in enumerate(names) if n == "authorizationPending")
        intro = op.introspect(token.access_token)
        assert intro["active"] is True and intro["sub"] == "device-user"
        assert time.monotonic() - started < 40


def test_forged_state_is_refused_before_anything_is_sent(op: Provider) -> None:
    with wa.Client(**op.client_config()) as client:
        client.initiate_login(scope="openid offline_access", prompt="consent")
        forged = base64.urlsafe_b64encode(json.dumps({"csrf_token": "forged"}).encode()).decode().rstrip("=")
        op.mark()
        with pytest.raises(wa.StateMismatchError):
            client.handle_redirect(f"{REDIRECT_URI}?code=stolen&state={forged}&iss={urllib.parse.quote(op.issuer)}")
        time.sleep(0.2)
        assert "POST /token" not in op.log()


def test_wrong_iss_is_refused(op: Provider) -> None:
    """RFC 9207: the provider sends `iss`; with `issuer` configured, a redirect from
    another issuer (mix-up attack) is refused like a forged state, before any exchange."""
    with wa.Client(**op.client_config()) as client:
        url = client.initiate_login(scope="openid offline_access", prompt="consent")
        callback = Browser().drive(url, stop_at=REDIRECT_URI)
        evil = callback.replace(urllib.parse.quote(op.issuer, safe=""), urllib.parse.quote("http://127.0.0.1:1", safe=""))
        assert evil != callback
        op.mark()
        with pytest.raises(wa.StateMismatchError):
            client.handle_redirect(evil, timeout=30)
        time.sleep(0.2)
        assert "POST /token" not in op.log()
