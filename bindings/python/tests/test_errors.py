"""The exception hierarchy and the status/result mapping (no network)."""

from __future__ import annotations

import pickle

import pytest

import webex_auth as wa
from webex_auth._bindings import lib
from webex_auth._errors import STATUS_CLASSES, STATUS_NAMES, error_for_status, error_from_result


def test_every_library_status_has_its_class_by_the_naming_rule() -> None:
    # Walk the numbers as the library names them, up to the first it does not know.
    number = 0
    while (name := lib.wxa_status_name(number).decode()) != "WXA_UNKNOWN_STATUS":
        assert STATUS_NAMES[number] == name
        err = error_for_status(number, "msg")
        assert (err.status, err.code, err.message) == (name, number, "msg")
        if name.startswith("WXA_ERR_"):
            # The rule: RATE_LIMITED -> RateLimitedError (OAUTH -> OAuthError), exported.
            cls = STATUS_CLASSES[name]
            assert cls.__name__.lower() == name[8:].replace("_", "").lower() + "error"
            assert type(err) is cls and getattr(wa, cls.__name__) is cls
            assert cls(name).status == name and cls(name).code == number  # own default
        else:
            assert name in ("WXA_OK", "WXA_PENDING") and name not in STATUS_CLASSES
            assert type(err) is wa.WebexAuthError
        number += 1
    assert number == len(STATUS_NAMES) >= 15
    # The newest status, walked above like every other: WXA_ERR_ID_TOKEN -> IdTokenError.
    assert STATUS_CLASSES["WXA_ERR_ID_TOKEN"] is wa.IdTokenError
    assert type(error_for_status(14, "m")) is wa.IdTokenError
    assert len(set(STATUS_CLASSES.values())) == len(STATUS_CLASSES) == number - 2


def test_builtin_bases() -> None:
    assert issubclass(wa.InvalidArgumentError, ValueError)
    assert issubclass(wa.ClientClosedError, ValueError)
    assert issubclass(wa.TimeoutError, TimeoutError)
    err = wa.TimeoutError("slow", code=7)
    assert str(err).startswith("slow") and err.status == "WXA_ERR_TIMEOUT"
    with pytest.raises(TimeoutError):
        raise err


@pytest.mark.parametrize(
    "error,cls",
    [
        ("invalid_request", wa.InvalidRequestError),
        ("invalid_client", wa.InvalidClientError),
        ("invalid_grant", wa.InvalidGrantError),
        ("unauthorized_client", wa.UnauthorizedClientError),
        ("unsupported_grant_type", wa.UnsupportedGrantTypeError),
        ("invalid_scope", wa.InvalidScopeError),
        ("access_denied", wa.OAuthError),
    ],
)
def test_oauth_error_subclasses(error: str, cls: type) -> None:
    err = error_from_result(
        {
            "ok": False,
            "status": "WXA_ERR_OAUTH",
            "message": "token endpoint said no",
            "error": error,
            "error_description": "because",
            "http_status": 400,
            "tracking_id": "trk-1",
        }
    )
    assert type(err) is cls and isinstance(err, wa.OAuthError)
    assert (err.status, err.code, err.error, err.error_description) == ("WXA_ERR_OAUTH", 4, error, "because")
    assert (err.http_status, err.tracking_id) == (400, "trk-1")
    assert "token endpoint said no" in str(err) and error in str(err)


def test_result_mapping_of_other_statuses() -> None:
    err = error_from_result({"ok": False, "status": "WXA_ERR_RATE_LIMITED", "message": "429", "http_status": 429})
    assert type(err) is wa.RateLimitedError and err.code == 8 and err.http_status == 429
    err = error_from_result({"ok": False, "status": "WXA_ERR_SOMETHING_NEW", "message": "?"})
    assert type(err) is wa.WebexAuthError and err.code is None and err.status == "WXA_ERR_SOMETHING_NEW"


def test_errors_pickle() -> None:
    err = error_from_result({"ok": False, "status": "WXA_ERR_OAUTH", "message": "m", "error": "invalid_grant"})
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is wa.InvalidGrantError and back.error == "invalid_grant" and back.code == 4
