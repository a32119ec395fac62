"""A login through the installed wheel, as a user's script does it: the Authorization
Code flow with PKCE against the packaged emulator, then a refresh and a logout.
Usage: python login.py http://127.0.0.1:PORT. Prints the library it loaded, the
package version and one line per step; exits non-zero on any failure."""

import sys
import urllib.error
import urllib.request

import webex_auth
from webex_auth import Client


class KeepRedirect(urllib.request.HTTPRedirectHandler):
    """The user's browser, stopped at the redirect back to the app."""

    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def main(base: str) -> None:
    print("library", webex_auth._bindings.lib.cdll._name)
    print("version", webex_auth.version())
    with Client(client_id="test-client", client_secret="test-secret",
                redirect_uri="http://127.0.0.1/callback",
                webex_api_url=base + "/v1", idbroker_url=base) as client:
        url = client.initiate_login(state={"return_to": "/inbox"})
        try:
            urllib.request.build_opener(KeepRedirect).open(url, timeout=10)
            raise SystemExit("the emulator did not redirect")
        except urllib.error.HTTPError as redirect:
            callback = redirect.headers["Location"]
        result = client.handle_redirect(callback, timeout=30)
        assert result.state == {"return_to": "/inbox"}, result.state
        assert result.token.access_token, "no access token"
        print("login ok, expires", result.token.expires_at.isoformat())
        refreshed = client.refresh(timeout=30)
        assert refreshed.access_token != result.token.access_token, "refresh returned the same token"
        print("refresh ok")
        client.logout(timeout=30)
        assert client.token is None, "a token is still there after logout"
        print("logout ok")
    print("python login: ok")


if __name__ == "__main__":
    main(sys.argv[1])
