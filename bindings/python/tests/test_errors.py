"""The exception hierarchy and the status/result mapping (no network)."""

from __future__ import annotations

import pickle

import pytest

import webex_auth as wa
from webex_auth._errors import STATUS_CLASSES, STATUS_NAMES, error_for_status, error_from_result


def test_one_class_per_error_status() -> None:
    for number, name in STATUS_NAMES.items():
        if number < 2:
            continue
        cls = STATUS_CLASSES[name]
        assert issubclass(cls, wa.WebexAuthError)
        err = error_for_status(number, "msg")
        assert type(err) is cls
        assert err.status == number and err.status_name == name and err.message == "msg"
    assert len(set(STATUS_CLASSES.values())) == len(STATUS_CLASSES)


def test_builtin_bases() -> None:
    assert issubclass(wa.InvalidArgumentError, ValueError)
    assert issubclass(wa.ClientClosedError, ValueError)
    assert issubclass(wa.RequestTimeoutError, TimeoutError)
    err = wa.RequestTimeoutError("slow", status=7)
    assert str(err).startswith("slow") and err.status_name == "WXA_ERR_TIMEOUT"
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
    assert (err.status, err.error, err.error_description) == (4, error, "because")
    assert (err.http_status, err.tracking_id) == (400, "trk-1")
    assert "token endpoint said no" in str(err) and error in str(err)


def test_result_mapping_of_other_statuses() -> None:
    err = error_from_result({"ok": False, "status": "WXA_ERR_RATE_LIMITED", "message": "429", "http_status": 429})
    assert type(err) is wa.RateLimitedError and err.status == 8 and err.http_status == 429
    err = error_from_result({"ok": False, "status": "WXA_ERR_SOMETHING_NEW", "message": "?"})
    assert type(err) is wa.WebexAuthError and err.status is None


def test_errors_pickle() -> None:
    err = error_from_result({"ok": False, "status": "WXA_ERR_OAUTH", "message": "m", "error": "invalid_grant"})
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is wa.InvalidGrantError and back.error == "invalid_grant" and back.status == 4
