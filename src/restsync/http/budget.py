"""A host's rate budget: a token bucket that every worker draws from, and host-wide pauses.

A 429's `Retry-After`, or `X-RateLimit-Remaining: 0` with its reset time, pauses the whole host
rather than the one worker that was told, so a sync against a limit of R requests/s runs near R
with few 429s instead of a retry storm.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RateBudget", "RateLimit", "pause_from_headers"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]

REMAINING_HEADERS = ("X-RateLimit-Remaining", "X-Rate-Limit-Remaining", "RateLimit-Remaining")
RESET_HEADERS = ("X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset")
# a reset value above this is an epoch timestamp, below it a number of seconds from now
EPOCH_THRESHOLD = 1_000_000_000
MAX_PAUSE_S = 300.0
TOKEN_EPSILON = 1e-9


@dataclass(frozen=True)
class RateLimit:
    """Requests per second and how many may go at once after a quiet spell."""

    rate: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst}")


class RateBudget:
    """Thread-safe token bucket plus a pause that holds every worker of the host."""

    def __init__(
        self, limit: RateLimit | None, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(limit.burst) if limit else 0.0
        self._stamp = clock()
        self._paused_until = 0.0
        self.waited_s = 0.0

    def acquire(self) -> None:
        """Block until the host is not paused and a token is free, then take it."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0:
                    wait = self._take(now)
                    if wait <= 0:
                        return
                self.waited_s += wait
            self._sleep(wait)

    def _take(self, now: float) -> float:
        """Take a token if one is free (0.0), else the seconds until one is."""
        if self.limit is None:
            return 0.0
        self._tokens = min(
            float(self.limit.burst), self._tokens + (now - self._stamp) * self.limit.rate
        )
        self._stamp = now
        if self._tokens >= 1 - TOKEN_EPSILON:  # float drift must not leave a token unusable
            self._tokens = max(0.0, self._tokens - 1)
            return 0.0
        return (1 - self._tokens) / self.limit.rate

    def pause(self, seconds: float) -> None:
        """Hold every worker of this host for `seconds` (the longest pause asked for wins)."""
        seconds = min(max(0.0, seconds), MAX_PAUSE_S)
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            if self.limit is not None:
                self._tokens = 0.0  # after a pause, start from an empty bucket: no burst into it
                self._stamp = self._paused_until


def pause_from_headers(headers: Mapping[str, str], now_epoch: float | None = None) -> float | None:
    """Seconds to pause when the API says none are left (`Remaining: 0` with a reset)."""
    remaining = next((headers[h] for h in REMAINING_HEADERS if h in headers), None)
    if remaining is None:
        return None
    try:
        if float(remaining) > 0:
            return None
    except ValueError:
        return None
    reset = next((headers[h] for h in RESET_HEADERS if h in headers), None)
    if reset is None:
        return None
    try:
        value = float(reset)
    except ValueError:
        return None
    if value > EPOCH_THRESHOLD:
        value -= time.time() if now_epoch is None else now_epoch
    return max(0.0, value)
