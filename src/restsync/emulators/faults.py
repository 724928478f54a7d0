"""Faults an emulator can inject, each a named scenario, and the machinery that decides them.

The order a request meets them (see `core.EmulatorApp`): latency (every request, it is the
network) -> auth (a bad credential is refused and meets no other fault) -> route -> rate limit
(429 spends no fault draw) -> fail or drop (one seeded draw per request) -> data.

Determinism: fail/drop decisions come from `random.Random(seed)` in request order, so a client that
sends its requests one at a time sees the same faults on every run. No URL (path + query) fails or
drops more than `max_consecutive_failures` times in a row, so a client that retries that many times
always gets through; the streak resets when the URL is answered.
"""

from __future__ import annotations

import enum
import math
import random
import time
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_CONSECUTIVE_FAILURES",
    "DEFAULT_RETRY_AFTER_S",
    "FAIL_STATUSES",
    "NO_FAULTS",
    "SCENARIOS",
    "Decision",
    "FaultPlan",
    "Faults",
    "Quota",
    "TokenBucket",
    "Verdict",
    "scenario",
]

DEFAULT_RETRY_AFTER_S = 1
DEFAULT_MAX_CONSECUTIVE_FAILURES = 2
FAIL_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often: latency, a token-bucket rate limit, 5xx answers, drops.

    - `latency_ms`: added to every response (asyncio sleep: other requests keep flowing).
    - `rate_limit`: requests per second refilled into a bucket of `rate_burst` (default: the rate
      rounded up, at least 1); an empty bucket answers 429 with `Retry-After`, which is the larger
      of `retry_after` and the whole seconds until a token is free.
    - `fail_rate`: the fraction of requests answered 500, 502, 503 or 504.
    - `drop_rate`: the fraction of connections cut mid-body (the client sees an incomplete read).
    - `quota_headers`: announce the quota (`X-RateLimit-*`) on every answer; off, a client only
      learns of the limit from 429s (a "429 storm" for a client that does not slow down).
    """

    latency_ms: float = 0.0
    rate_limit: float | None = None
    rate_burst: int | None = None
    retry_after: int = DEFAULT_RETRY_AFTER_S
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES
    seed: int = 0
    quota_headers: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.latency_ms < 0:
            problems.append("latency_ms must be >= 0")
        if self.rate_limit is not None and self.rate_limit <= 0:
            problems.append("rate_limit must be > 0 requests per second (or None)")
        if self.rate_burst is not None and self.rate_burst < 1:
            problems.append("rate_burst must be >= 1")
        if self.retry_after < 0:
            problems.append("retry_after must be >= 0")
        if not (0 <= self.fail_rate <= 1 and 0 <= self.drop_rate <= 1):
            problems.append("fail_rate and drop_rate must be within [0, 1]")
        if self.fail_rate + self.drop_rate > 1:
            problems.append("fail_rate + drop_rate must be <= 1")
        if self.max_consecutive_failures < 0:
            problems.append("max_consecutive_failures must be >= 0")
        if problems:
            raise ValueError("Faults: " + "; ".join(problems))

    @property
    def burst(self) -> int:
        """The bucket size: `rate_burst`, or the rate rounded up (at least 1)."""
        if self.rate_burst is not None:
            return self.rate_burst
        return max(1, math.ceil(self.rate_limit or 1))


NO_FAULTS = Faults()

SCENARIOS: dict[str, Faults] = {
    "none": NO_FAULTS,
    "slow": Faults(latency_ms=50),
    "rate_limited": Faults(rate_limit=5),
    "flaky": Faults(fail_rate=0.2),
    "dropping": Faults(drop_rate=0.1),
    "hostile": Faults(latency_ms=20, rate_limit=20, fail_rate=0.1, drop_rate=0.05),
}


def scenario(name: str) -> Faults:
    """The named fault scenario, so CLIs and benchmarks say `flaky` instead of numbers."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown fault scenario '{name}'; known: {sorted(SCENARIOS)}") from None


# --- rate limit -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """The outcome of asking the bucket for a token, with what the headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int
    retry_after: int


class TokenBucket:
    """A token bucket: `rate` tokens a second up to `burst`; one token per request."""

    def __init__(self, rate: float, burst: int, min_retry_after: int) -> None:
        self._rate = rate
        self._burst = burst
        self._min_retry_after = min_retry_after
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> Quota:
        """Spend a token if there is one; either way say what the rate-limit headers carry."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        allowed = self._tokens >= 1
        if allowed:
            self._tokens -= 1
        until_full = (self._burst - self._tokens) / self._rate
        until_token = max(0.0, (1 - self._tokens) / self._rate)
        return Quota(
            allowed=allowed,
            limit=self._burst,
            remaining=math.floor(self._tokens),
            reset_epoch=math.ceil(time.time() + until_full),
            retry_after=max(self._min_retry_after, math.ceil(until_token)),
        )


# --- fail and drop ----------------------------------------------------------------------------


class Verdict(enum.Enum):
    """What the fault stage does with a request."""

    PASS = "pass"
    FAIL = "fail"
    DROP = "drop"


@dataclass(frozen=True)
class Decision:
    """A verdict, and for FAIL the 5xx status to answer."""

    verdict: Verdict
    status: int = 200


_PASS = Decision(Verdict.PASS)


class FaultPlan:
    """Seeded fail/drop decisions with a cap on consecutive faults per URL."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._streaks: dict[str, int] = {}

    def decide(self, url: str) -> Decision:
        """One draw for this request; a URL at its streak cap passes and its streak resets."""
        faults = self._faults
        if faults.fail_rate == 0 and faults.drop_rate == 0:
            return _PASS
        draw = self._rng.random()
        status = self._rng.choice(FAIL_STATUSES)
        streak = self._streaks.get(url, 0)
        if streak < faults.max_consecutive_failures:
            if draw < faults.fail_rate:
                self._streaks[url] = streak + 1
                return Decision(Verdict.FAIL, status)
            if draw < faults.fail_rate + faults.drop_rate:
                self._streaks[url] = streak + 1
                return Decision(Verdict.DROP)
        self._streaks.pop(url, None)
        return _PASS
