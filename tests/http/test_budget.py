"""The host's rate budget: the token bucket's bound, host-wide pauses, rate-limit headers."""

from __future__ import annotations

import threading
import time

import pytest

from restsync.http.budget import CLIMB_S, RateBudget, RateLimit, pause_from_headers


class FakeTime:
    """A clock that only sleeping advances."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.mark.parametrize(("rate", "burst", "count"), [(10.0, 1, 50), (50.0, 5, 300), (3.0, 3, 20)])
def test_bucket_never_exceeds_burst_plus_rate_times_t(rate: float, burst: int, count: int) -> None:
    fake = FakeTime()
    budget = RateBudget(RateLimit(rate, burst), clock=fake.clock, sleep=fake.sleep)
    stamps = []
    for _ in range(count):
        budget.acquire()
        stamps.append(fake.now)
    for i, start in enumerate(stamps):
        for j in range(i, len(stamps)):
            window = stamps[j] - start
            assert j - i + 1 <= burst + rate * window + 1e-9
    # and it is not slower than the rate allows: the last request at (count - burst) / rate
    assert stamps[-1] == pytest.approx((count - burst) / rate)


def test_an_idle_spell_refills_the_bucket_to_burst_and_no_further() -> None:
    fake = FakeTime()
    budget = RateBudget(RateLimit(10.0, 3), clock=fake.clock, sleep=fake.sleep)
    budget.acquire()
    fake.now += 10.0  # idle: 100 tokens' worth of time, but the bucket holds 3
    for _ in range(3):
        budget.acquire()
    assert fake.slept == []  # the burst goes at once
    budget.acquire()
    assert fake.slept == [pytest.approx(1 / 10)]  # the 4th waits for a token


def test_pause_holds_every_worker_and_empties_the_bucket() -> None:
    fake = FakeTime()
    budget = RateBudget(RateLimit(100.0, 10), clock=fake.clock, sleep=fake.sleep)
    budget.pause(2.0)
    budget.acquire()
    assert fake.now == pytest.approx(2.0 + 1 / 100)  # waited the pause, then one token's time


def test_pause_across_real_threads() -> None:
    budget = RateBudget(None)
    budget.pause(0.3)
    started = time.monotonic()
    done: list[float] = []

    def worker() -> None:
        budget.acquire()
        done.append(time.monotonic() - started)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(done) == 4 and min(done) >= 0.25


def test_no_limit_means_no_wait() -> None:
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    for _ in range(1000):
        budget.acquire()
    assert fake.slept == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000000010"}, 10.0),
        ({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "3"}, 3.0),
        ({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1000000010"}, None),
        ({"X-RateLimit-Remaining": "0"}, None),
        ({}, None),
    ],
)
def test_pause_from_headers(headers: dict[str, str], expected: float | None) -> None:
    assert pause_from_headers(headers, now_epoch=1_000_000_000) == expected


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        RateLimit(0)
    with pytest.raises(ValueError):
        RateLimit(1, burst=0)


def test_a_429_halves_the_rate_it_was_granted_and_it_recovers() -> None:
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    for _ in range(100):  # 100 requests in 1 s: 100 req/s granted
        budget.acquire()
        fake.now += 0.01
    budget.throttle()
    assert budget.limit is not None and budget.limit.rate == pytest.approx(50, rel=0.05)
    throttled = budget.limit.rate
    fake.now += 2.0  # a quiet spell
    budget.acquire()
    assert budget.limit.rate > throttled


def test_a_configured_limit_is_the_ceiling_of_recovery() -> None:
    fake = FakeTime()
    budget = RateBudget(RateLimit(10.0, 2), clock=fake.clock, sleep=fake.sleep)
    for _ in range(20):
        budget.acquire()
    budget.throttle()
    for _ in range(30):
        fake.now += 2.0
        budget.acquire()
    assert budget.limit == RateLimit(10.0, 2)


def test_429s_to_requests_sent_before_a_slow_down_slow_the_host_once() -> None:
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    grants = []
    for _ in range(100):  # 100 req/s
        grants.append(budget.acquire())
        fake.now += 0.01
    budget.throttle(grants[-1])
    once = budget.limit
    assert once is not None and once.rate == pytest.approx(50, rel=0.05)
    for granted in grants[-16:]:  # the rest of the burst's 429s: echoes of the same excess
        budget.throttle(granted)
    assert budget.limit == once
    budget.throttle(budget.acquire())  # a 429 to a request sent at the new rate is news
    assert budget.limit is not None and budget.limit.rate < once.rate


def test_recovery_climbs_fast_to_near_the_refused_rate_then_probes_gently() -> None:
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    for _ in range(100):
        budget.acquire()
        fake.now += 0.01
    budget.throttle()  # refused at 100/s: down to 50/s
    start = fake.now
    while fake.now < start + 6 * CLIMB_S:  # a second and a half of steady demand
        budget.acquire()
    assert budget.limit is not None and budget.limit.rate == pytest.approx(90)  # 0.9 x refused
    while fake.now < start + 6 * CLIMB_S + 3.0:  # then 1% of the refused rate a second
        budget.acquire()
    assert 91 <= budget.limit.rate <= 94


def test_an_answer_without_quota_headers_clears_a_stale_quota() -> None:
    # an API that sends X-RateLimit-Remaining only with its 429s: once its quota is renewed,
    # its plain answers must not leave the host one request at a time
    def must_not_wait(seconds: float) -> None:
        raise AssertionError(f"held for {seconds} s by a quota the API no longer announces")

    budget = RateBudget(None, sleep=must_not_wait)
    budget.acquire()
    budget.release(0.0, 429)  # the 429: none remain
    budget.acquire()
    budget.release(None, 200)  # a later answer announces nothing
    budget.acquire()
    budget.acquire()  # two in flight at once


def test_a_request_without_an_answer_leaves_the_quota_as_it_was() -> None:
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    budget.acquire()
    budget.release(3.0, 200)  # 3 remain: with the reserve of 2, one request at a time
    budget.acquire()
    budget.release(None, None)  # a connection error: no news about the quota
    budget.acquire()
    assert not fake.slept
    waited = threading.Event()

    def second() -> None:
        budget.acquire()
        waited.set()

    worker = threading.Thread(target=second, daemon=True)
    worker.start()
    assert not waited.wait(0.2), "a second request went while the API says 3 remain"
    budget.release(None, 200)
    assert waited.wait(2.0)


def test_a_429_slows_the_host_to_what_the_api_was_accepting() -> None:
    # 20 requests in a second of which 4 got through: the API takes ~4/s, not half of 20/s
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    generations = []
    for n in range(20):
        generations.append(budget.acquire())
        fake.now += 0.05
        budget.release(None, 200 if n % 5 == 0 else 429)
    budget.throttle(generations[1])
    assert budget.limit is not None and budget.limit.rate == pytest.approx(4.0)
    fake.now += 1.0  # then it climbs back fast towards the 20/s it was refused at
    budget.acquire()
    assert budget.limit.rate > 4.0


def test_time_paused_does_not_count_as_time_sending() -> None:
    # 50 req/s for a second, then the API's quota pause; a 429 to a request sent before the
    # pause arrives in the middle of it: the host was sending at 50/s, not at 50 per 1.5 s
    fake = FakeTime()
    budget = RateBudget(None, clock=fake.clock, sleep=fake.sleep)
    for _ in range(50):
        generation = budget.acquire()
        fake.now += 0.02
    budget.pause(1.0)
    fake.now += 0.5
    budget.throttle(generation)
    assert budget.limit is not None and budget.limit.rate == pytest.approx(25, rel=0.05)


def test_try_acquire_grants_what_acquire_would_without_waiting_and_else_takes_nothing() -> None:
    fake = FakeTime()
    budget = RateBudget(RateLimit(10.0, 2), clock=fake.clock, sleep=fake.sleep)
    assert budget.try_acquire() == 0 and budget.try_acquire() == 0  # the burst
    assert budget.try_acquire() is None  # no token free: refused, not waited for
    assert fake.slept == [] and budget._in_flight == 2
    fake.now += 0.1  # one token's worth
    assert budget.try_acquire() == 0 and budget.try_acquire() is None
    budget.pause(1.0)
    fake.now += 0.5
    assert budget.try_acquire() is None  # the host is paused
    fake.now += 1.0
    assert budget.try_acquire() == 0
    budget.throttle()
    fake.now += 10.0
    assert budget.try_acquire() == 1  # a grant carries its generation, as acquire's do
    assert budget._in_flight == 5 and fake.slept == []
