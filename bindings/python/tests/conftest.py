"""Fixtures: the emulator binary on a free port (session), a per-test reset, a private
emulator for tests that change its config, and a client factory."""

from __future__ import annotations

import gc
import urllib.error
from typing import Any, Iterator, List, Optional

import pytest

from helpers import Emulator, client_config, start_emulator


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[Emulator]:
    emu = start_emulator()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emu(emulator_process: Emulator) -> Iterator[Emulator]:
    """The shared emulator with requests cleared and delays reset. Tests that change
    its config use ``fresh_emu`` instead."""
    e = emulator_process
    e.clear_scripts()
    e.clear_requests()
    yield e
    e.clear_scripts()
    for endpoint in ("authorize", "token", "device_authorize", "device_token", "jwt_login", "logout", "revoke", "people_me"):
        try:
            e.delay(endpoint, 0)
        except urllib.error.URLError:
            pass
    gc.collect()


@pytest.fixture
def fresh_emu() -> Iterator[Emulator]:
    """A private emulator for tests that change its config."""
    e = start_emulator()
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture
def make_client(emu: Emulator) -> Iterator[Any]:
    """``make_client(**overrides)`` -> a Client on the shared emulator, closed after."""
    import webex_auth

    made: List[webex_auth.Client] = []

    def make(emulator: Optional[Emulator] = None, **overrides: Any) -> webex_auth.Client:
        c = webex_auth.Client(**client_config(emulator or emu, **overrides))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


