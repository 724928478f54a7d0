"""Credentials: Basic and Bearer, refused with the API's status and body, before any fault."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from restsync.emulators import Emulator, Faults, Outcome
from tests.emulators.toy_api import (
    BEARER_FORBIDDEN,
    TOY_PASSWORD,
    TOY_TOKEN,
    TOY_UNAUTHORIZED,
    TOY_USER,
    Client,
)

TIMEOUT_S = 10


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + "dG95LXVzZXI6d3Jvbmc="},  # toy-user:wrong
        {"Authorization": "Basic " + "bm9ib2R5OnRveS1wYXNzd29yZA=="},  # nobody:toy-password
        {"Authorization": "Basic not-base64!!"},
        {"Authorization": "Basic " + "dG95LXVzZXI="},  # "toy-user" with no colon
        {"Authorization": f"Bearer {TOY_PASSWORD}"},
    ],
    ids=["missing", "wrong-password", "wrong-user", "malformed", "no-colon", "wrong-scheme"],
)
def test_bad_basic_credentials(toy: Emulator, headers: dict[str, str]) -> None:
    response = requests.get(toy.base_url + "/items", headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert response.json() == TOY_UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == 'Basic realm="toy"'
    assert toy.requests.count(resource="items", outcome=Outcome.UNAUTHORIZED) == 1
    assert toy.requests.count(outcome=Outcome.SERVED) == 0


def test_good_basic_credentials(toy: Emulator) -> None:
    response = requests.get(toy.base_url + "/me", auth=(TOY_USER, TOY_PASSWORD), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert toy.credentials == {"username": TOY_USER, "password": TOY_PASSWORD}


def test_unknown_paths_are_refused_before_routing(toy: Emulator) -> None:
    response = requests.get(toy.base_url + "/nope", timeout=TIMEOUT_S)
    assert response.status_code == 401  # auth comes first: no hint about which paths exist


@pytest.mark.parametrize(
    "faults",
    [Faults(fail_rate=1.0), Faults(drop_rate=1.0), Faults(rate_limit=1, rate_burst=1)],
    ids=["fail", "drop", "rate-limit"],
)
def test_bad_credentials_meet_no_fault(toy: Emulator, faults: Faults) -> None:
    toy.set_faults(faults)
    for _ in range(3):
        response = requests.get(toy.base_url + "/items", auth=("x", "y"), timeout=TIMEOUT_S)
        assert response.status_code == 401
        assert response.json() == TOY_UNAUTHORIZED
        assert "X-RateLimit-Remaining" not in response.headers
    client = Client(toy)
    if faults.rate_limit is not None:
        assert client.get("/items").status_code == 200  # the refusals spent no token
    if faults.fail_rate:
        statuses = [client.get("/items").status_code for _ in range(3)]
        assert statuses[2] == 200 and min(statuses[:2]) >= 500  # refusals did not join the streak


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOY_TOKEN}"}],
    ids=["missing", "wrong-token", "wrong-scheme"],
)
def test_bad_bearer_token(bearer: Emulator, headers: dict[str, Any]) -> None:
    response = requests.get(bearer.base_url + "/items", headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 403
    assert response.json() == BEARER_FORBIDDEN
    assert "WWW-Authenticate" not in response.headers


def test_good_bearer_token(bearer: Emulator) -> None:
    assert bearer.credentials == {"access_token": TOY_TOKEN}
    assert bearer.base_url == bearer.host_url  # this API has no prefix
    body = Client(bearer).json("/items")
    assert len(body["data"]) == 5
