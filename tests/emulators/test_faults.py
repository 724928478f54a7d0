"""Faults as named scenarios: latency, rate limit, 5xx, dropped connections."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from restsync.emulators import SCENARIOS, Emulator, Faults, Outcome, scenario
from restsync.emulators.faults import FAIL_STATUSES, FaultPlan, Verdict
from tests.emulators.toy_api import Client

LATENCY_MS = 150
CONCURRENT_REQUESTS = 60
CONCURRENT_LATENCY_MS = 200


def test_latency_delays_each_response(toy: Emulator, toy_client: Client) -> None:
    toy_client.json("/me")  # warm the connection
    started = time.monotonic()
    toy_client.json("/me")
    fast = time.monotonic() - started
    toy.set_faults(Faults(latency_ms=LATENCY_MS))
    started = time.monotonic()
    toy_client.json("/me")
    slow = time.monotonic() - started
    assert slow >= LATENCY_MS / 1000 * 0.9
    assert slow > fast


def test_latency_does_not_block_other_requests(toy: Emulator) -> None:
    toy.set_faults(Faults(latency_ms=CONCURRENT_LATENCY_MS))
    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
        statuses = list(pool.map(lambda _: Client(toy).get("/me").status_code, range(60)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * CONCURRENT_REQUESTS
    # one at a time would take 12 s; concurrently it is a few multiples of one delay
    assert elapsed < CONCURRENT_REQUESTS * CONCURRENT_LATENCY_MS / 1000 / 4


def test_rate_limit_answers_429_with_headers(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(rate_limit=5, rate_burst=2))
    first, second, third = (toy_client.get("/me") for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
    now = time.time()
    for response, remaining in ((first, "1"), (second, "0"), (third, "0")):
        assert response.headers["X-RateLimit-Limit"] == "2"
        assert response.headers["X-RateLimit-Remaining"] == remaining
        assert now - 1 <= int(response.headers["X-RateLimit-Reset"]) <= now + 60
    assert int(third.headers["Retry-After"]) >= 1
    assert "error" in third.json()
    assert toy.requests.count(outcome=Outcome.RATE_LIMITED) == 1
    time.sleep(0.25)  # 5 tokens a second: one is back
    assert toy_client.get("/me").status_code == 200


def test_retry_after_covers_a_slow_refill(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(rate_limit=0.2, rate_burst=1, retry_after=1))
    assert toy_client.get("/me").status_code == 200
    limited = toy_client.get("/me")
    assert limited.status_code == 429
    assert 4 <= int(limited.headers["Retry-After"]) <= 5  # a token every 5 s


def test_waiting_out_retry_after_is_enough(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(rate_limit=0.8, rate_burst=1, retry_after=0))  # a token in 1.25 s
    assert toy_client.get("/me").status_code == 200
    limited = toy_client.get("/me")
    assert limited.status_code == 429
    time.sleep(int(limited.headers["Retry-After"]))  # whole seconds, rounded up
    assert toy_client.get("/me").status_code == 200


def test_a_failed_answer_carries_the_quota_too(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(fail_rate=1.0, rate_limit=5, rate_burst=3))
    failed = toy_client.get("/me")
    assert failed.status_code >= 500
    assert failed.headers["X-RateLimit-Remaining"] == "2"  # the spec: on every answer


def test_no_rate_limit_headers_without_a_limit(toy_client: Client) -> None:
    assert "X-RateLimit-Remaining" not in toy_client.get("/me").headers


def test_fail_rate_gives_5xx_and_every_url_gets_through(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(fail_rate=0.5, seed=7))
    statuses: list[int] = []
    for offset in range(40):
        for _attempt in range(3):  # at most 2 failures in a row, so 3 attempts always suffice
            response = toy_client.get("/items", offset=offset, limit=1)
            statuses.append(response.status_code)
            if response.status_code == 200:
                break
        assert response.status_code == 200
    failures = [s for s in statuses if s != 200]
    assert failures and set(failures) <= set(FAIL_STATUSES)
    assert toy.requests.count(outcome=Outcome.FAILED) == len(failures)
    assert toy.requests.count(outcome=Outcome.SERVED) == 40


def test_fail_rate_one_fails_each_url_exactly_the_cap(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(fail_rate=1.0, max_consecutive_failures=2))
    assert [toy_client.get("/me").status_code >= 500 for _ in range(3)] == [True, True, False]
    assert toy_client.get("/me").status_code >= 500  # the streak starts again
    assert toy_client.get("/me", x=1).status_code >= 500  # another URL has its own streak


def test_faults_are_deterministic_for_a_seed(toy: Emulator, toy_client: Client) -> None:
    def run() -> list[int]:
        toy.set_faults(Faults(fail_rate=0.3, seed=42))
        return [toy_client.get("/items", offset=i).status_code for i in range(30)]

    assert run() == run()


def test_drop_rate_cuts_the_connection(toy: Emulator, toy_client: Client) -> None:
    toy.set_faults(Faults(drop_rate=1.0))
    for _ in range(2):
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            toy_client.get("/items")
    assert toy_client.get("/items").status_code == 200  # the cap lets the third attempt through
    assert toy.requests.count(outcome=Outcome.DROPPED) == 2
    assert toy.requests.count(outcome=Outcome.SERVED) == 1


def test_fault_plan_unit() -> None:
    plan = FaultPlan(Faults(fail_rate=0.5, drop_rate=0.5, max_consecutive_failures=0))
    assert {plan.decide("/x").verdict for _ in range(10)} == {Verdict.PASS}
    plan = FaultPlan(Faults(fail_rate=0.5, drop_rate=0.5, max_consecutive_failures=3))
    verdicts = [plan.decide("/x").verdict for _ in range(40)]
    assert Verdict.FAIL in verdicts and Verdict.DROP in verdicts
    assert verdicts[3::4] == [Verdict.PASS] * 10  # never four in a row


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_ms": -1},
        {"rate_limit": 0},
        {"rate_burst": 0},
        {"fail_rate": 1.5},
        {"fail_rate": 0.6, "drop_rate": 0.6},
        {"max_consecutive_failures": -1},
        {"retry_after": -1},
    ],
)
def test_invalid_faults(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Faults"):
        Faults(**kwargs)  # type: ignore[arg-type]


def test_named_scenarios() -> None:
    assert scenario("none") == Faults()
    assert scenario("flaky").fail_rate > 0
    assert scenario("dropping").drop_rate > 0
    assert scenario("rate_limited").rate_limit is not None
    assert scenario("slow").latency_ms > 0
    assert set(SCENARIOS) >= {"none", "slow", "rate_limited", "flaky", "dropping", "hostile"}
    with pytest.raises(KeyError, match="flaky"):
        scenario("nope")
