"""The retry policy over real sockets: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.helpers.rest_client.paginators import SinglePagePaginator

from restsync.errors import CredentialsError, RetriesExhaustedError
from restsync.http.retry import RetryPolicy, parse_retry_after
from restsync.http.session import ENDPOINT_HEADER, RetryingSession
from tests.scripted_server import DROP, Reply, Scripted, scripted_server

OK = Reply(200, {"data": [{"id": 1}]})


@pytest.fixture(scope="module")
def server() -> Iterator[Scripted]:
    with scripted_server() as state:
        yield state


class Waits(list[float]):
    """Records the waits instead of sleeping them, on a clock that the waits advance."""

    now = 0.0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def fetch(server: Scripted, path: str, policy: RetryPolicy, waits: Waits | None = None) -> Any:
    if waits is None:
        session = RetryingSession({"r": policy})
    else:
        session = RetryingSession({"r": policy}, sleep=waits, clock=waits.clock)
    client = RESTClient(base_url=server.base_url, session=session)
    pages = client.paginate(
        path, paginator=SinglePagePaginator(), data_selector="data", headers={ENDPOINT_HEADER: "r"}
    )
    return [row for page in pages for row in page]


def test_listed_status_is_retried_until_success(server: Scripted) -> None:
    server.script("/flaky", Reply(503), Reply(503), OK)
    waits = Waits()
    policy = RetryPolicy(statuses=frozenset({503}), max_retries=3, backoff_factor=2)
    assert fetch(server, "/flaky", policy, waits) == [{"id": 1}]
    assert server.hits["/flaky"] == 3
    assert waits == [2.0, 4.0]  # exponential backoff by the factor


def test_unlisted_status_fails_at_once(server: Scripted) -> None:
    server.script("/boom", Reply(500), OK)
    with pytest.raises(requests.HTTPError, match="500"):
        fetch(server, "/boom", RetryPolicy(statuses=frozenset({429}), max_retries=3), Waits())
    assert server.hits["/boom"] == 1


def test_gives_up_after_max_retries_and_says_how_many_attempts(server: Scripted) -> None:
    server.script("/down", Reply(503))
    policy = RetryPolicy(statuses=frozenset({503}), max_retries=2, backoff_factor=1)
    with pytest.raises(RetriesExhaustedError) as info:
        fetch(server, "/down", policy, Waits())
    assert server.hits["/down"] == 3
    assert info.value.attempts == 3
    assert "after 3 attempts (2 retries)" in str(info.value)
    assert "resource 'r'" in str(info.value) and f"{server.base_url}/down" in str(info.value)


def test_retry_after_is_honoured_and_capped(server: Scripted) -> None:
    server.script(
        "/limited",
        Reply(429, headers={"Retry-After": "3"}),
        Reply(429, headers={"Retry-After": "3600"}),
        OK,
    )
    waits = Waits()
    policy = RetryPolicy(statuses=frozenset({429}), max_retries=3, backoff_factor=2, max_delay=10)
    fetch(server, "/limited", policy, waits)
    # the pauses, plus the short token waits of the host's throttled rate after each 429
    assert [w for w in waits if w >= 1] == [3.0, 10.0]
    assert sum(waits) < 3.0 + 10.0 + 1.0


def test_retry_after_really_waits(server: Scripted) -> None:
    server.script("/wait", Reply(429, headers={"Retry-After": "1"}), OK)
    started = time.monotonic()
    fetch(server, "/wait", RetryPolicy(statuses=frozenset({429}), max_retries=1))
    assert time.monotonic() - started >= 0.9


def test_dropped_connection_is_retried(server: Scripted) -> None:
    server.script("/drop", Reply(DROP), OK)
    assert fetch(server, "/drop", RetryPolicy(backoff_factor=0), Waits()) == [{"id": 1}]
    assert server.hits["/drop"] == 2


def test_rejected_credentials_are_not_retried(server: Scripted) -> None:
    server.script("/private", Reply(401, {"message": "Unauthorized"}))
    with pytest.raises(CredentialsError, match="401"):
        fetch(server, "/private", RetryPolicy(), Waits())
    assert server.hits["/private"] == 1


def test_the_endpoint_tag_never_reaches_the_server(server: Scripted) -> None:
    seen: dict[str, str] = {}
    session = RetryingSession()
    session.hooks["response"].append(lambda r, **_: seen.update(r.request.headers))
    server.script("/tagged", OK)
    session.get(f"{server.base_url}/tagged", headers={ENDPOINT_HEADER: "r"})
    assert ENDPOINT_HEADER not in seen


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2 ", 2.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(statuses=frozenset({42}))
