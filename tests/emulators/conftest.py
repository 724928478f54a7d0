"""Fixtures for the emulator tests.

Emulators are started once per module and `reset()` before each test (fresh data, empty request
log, the option's faults), which keeps the suite fast without sharing state between tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from restsync.emulators import Emulator, run_emulator
from tests.emulators.toy_api import BEARER_API, TOY_API, Client


@pytest.fixture(scope="module")
def toy_server() -> Iterator[Emulator]:
    with run_emulator(TOY_API) as emu:
        yield emu


@pytest.fixture
def toy(toy_server: Emulator) -> Emulator:
    toy_server.reset()
    return toy_server


@pytest.fixture
def toy_client(toy: Emulator) -> Iterator[Client]:
    client = Client(toy)
    yield client
    client.session.close()


@pytest.fixture(scope="module")
def bearer_server() -> Iterator[Emulator]:
    with run_emulator(BEARER_API) as emu:
        yield emu


@pytest.fixture
def bearer(bearer_server: Emulator) -> Emulator:
    bearer_server.reset()
    return bearer_server
