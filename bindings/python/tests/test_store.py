"""``token_store`` through the Python package: a file store shared by two clients, a
write that fails (``Token.store_error``), and config errors that name keys, not values."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

import webex_auth as wa
from helpers import client_config, login

KEY = base64.b64encode(bytes(range(32))).decode()


def store(path: Path) -> dict:
    return {"path": str(path), "key": KEY}


def test_a_second_client_sees_the_first_ones_token(emu, make_client, tmp_path) -> None:
    path = tmp_path / "tokens" / "webex.tok"
    path.parent.mkdir()
    first = make_client(token_store=store(path))
    assert first.token is None
    token = first.handle_redirect(login(emu, first)).token
    assert token.store_error is None
    assert path.is_file() and (path.stat().st_mode & 0o777) == 0o600
    raw = path.read_bytes()
    assert token.access_token.encode() not in raw and token.refresh_token.encode() not in raw  # type: ignore[union-attr]

    second = make_client(token_store=store(path))
    seen = second.token
    assert seen is not None
    assert (seen.access_token, seen.refresh_token) == (token.access_token, token.refresh_token)
    # The second one refreshes; a third client made after sees the refreshed token.
    renewed = second.refresh()
    third = make_client(token_store=store(path))
    assert third.token is not None and third.token.access_token == renewed.access_token
    # A client with another key cannot read it: refused when made, naming no secret.
    other_key = base64.b64encode(bytes(32)).decode()
    with pytest.raises(wa.InvalidArgumentError) as info:
        wa.Client(**client_config(emu, token_store={"path": str(path), "key": other_key}))
    assert other_key not in str(info.value) and KEY not in str(info.value)


def test_a_failed_store_write_is_reported_on_the_token(emu, make_client, tmp_path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    c = make_client(token_store=store(folder / "webex.tok"))
    # The folder becomes a file: every write fails, whoever runs the tests (root too).
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    token = c.client_credentials()
    assert token.access_token and isinstance(token.store_error, str) and token.store_error
    assert token.access_token not in token.store_error
    assert "store_error=" in repr(token) and token.access_token not in repr(token)
    assert "store_error" not in token.to_dict()
    # The client keeps its token all the same.
    assert c.token is not None and c.token.access_token == token.access_token
    assert c.token.store_error is None  # a snapshot is not an operation's result


@pytest.mark.parametrize(
    "value,named",
    [
        ({"path": "x"}, "token_store"),
        ({"path": "x", "key": "s3cr3t-not-base64!"}, "token_store.key"),
        ({"path": "x", "key": base64.b64encode(b"s3cr3t-short").decode()}, "token_store.key"),
        ({"path": "x", "key": KEY, "color": "s3cr3t-blue"}, "color"),
        ("s3cr3t-file", "token_store"),
    ],
)
def test_store_config_errors_name_the_key_not_the_value(emu, value, named) -> None:
    with pytest.raises(wa.InvalidArgumentError) as info:
        wa.Client(**client_config(emu, token_store=value))
    text = str(info.value)
    assert named in text and "s3cr3t" not in text and KEY not in text, text
    if isinstance(value, dict) and "key" in value:
        assert value["key"] not in text
    assert not os.path.exists("x")
