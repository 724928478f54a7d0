"""A host's rate budget: a token bucket that every worker draws from, and host-wide pauses.

A 429's `Retry-After`, or `X-RateLimit-Remaining: 0` with its reset time, pauses the whole host
rather than the one worker that was told, so a sync against a limit of R requests/s runs near R
with few 429s instead of a retry storm.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RateBudget", "RateLimit", "pause_from_headers", "remaining_from_headers"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]

REMAINING_HEADERS = ("X-RateLimit-Remaining", "X-Rate-Limit-Remaining", "RateLimit-Remaining")
RESET_HEADERS = ("X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset")
# a reset value above this is an epoch timestamp, below it a number of seconds from now
EPOCH_THRESHOLD = 1_000_000_000
MAX_PAUSE_S = 300.0
RECENT_GRANTS = 4096
RECENT_WINDOW_S = 2.0
MIN_SPAN_S = 0.1
DECREASE = 0.5
MIN_RATE = 0.5
RECOVERY = 1.2
RECOVERY_S = 1.0
CLIMB_S = 0.25
PROBE_FROM = 0.9  # of the rate last refused: below it recovery climbs by RECOVERY, above it probes
PROBE_STEP = 0.01  # of the rate last refused, added per quiet RECOVERY_S while probing
TOKEN_EPSILON = 1e-9
QUOTA_RESERVE = 2  # requests held back from what the API says remains, for answers in transit
QUOTA_POLL_S = 0.005  # how often a worker held by the quota looks again


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
        self._granted: deque[float] = deque(maxlen=RECENT_GRANTS)
        self._last_throttle = float("-inf")  # the last change of rate, down or up
        self._decreased_at = float("-inf")  # the last slow-down
        self._resumed_at = float("-inf")  # the end of the last pause
        self._refused_rate: float | None = None  # the sending rate a 429 last answered
        self.configured = limit
        self.waited_s = 0.0
        self._in_flight = 0  # requests granted and not yet answered
        self._remaining: float | None = None  # the API's last word on its quota, if it gives one

    def acquire(self) -> float:
        """Block until the host is not paused and a token is free, then take it; the grant time."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0:
                    wait = self._quota_wait()
                if wait <= 0:
                    wait = self._take(now)
                    if wait <= 0:
                        self._granted.append(now)
                        self._in_flight += 1
                        return now
                self.waited_s += wait
            self._sleep(wait)

    def release(self, remaining: float | None = None) -> None:
        """A granted request was answered; `remaining` is the quota its answer announced.

        An answer that announces nothing clears what an earlier one said: an API that sends
        `X-RateLimit-Remaining: 0` only with its 429s would otherwise hold the host to one
        request at a time for the rest of the sync, long after the quota was renewed.
        """
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._remaining = remaining

    def _quota_wait(self) -> float:
        """0 while the announced quota covers one more request beside those in flight.

        Every request in flight will spend one of what remains, so a worker starts only while
        `in flight < remaining - QUOTA_RESERVE`: against a quota the API announces, the host
        slows before it is refused, instead of after. One request may always go (it brings news).
        """
        if self._remaining is None or self._in_flight == 0:
            return 0.0
        return 0.0 if self._in_flight < self._remaining - QUOTA_RESERVE else QUOTA_POLL_S

    def throttle(self, granted_at: float | None = None) -> None:
        """The API answered 429: slow the host to 0.7 of the rate it was refused at.

        Whether or not a limit was configured, a 429 says the real one is lower. One slow-down
        per congestion: a 429 to a request granted before the last slow-down is an echo of the
        same excess (16 workers' first burst brings up to 16 of them), not news.
        """
        with self._lock:
            now = self._clock()
            if granted_at is not None and granted_at < self._decreased_at:
                return
            sending = self._sending_rate(now)
            if self.limit is None:
                refused = sending
            else:
                refused = min(self.limit.rate, sending) if sending else self.limit.rate
            self._refused_rate = refused or None
            self.limit = RateLimit(max(MIN_RATE, refused * DECREASE), 1)
            self._tokens = 0.0
            self._last_throttle = self._decreased_at = now

    def _sending_rate(self, now: float) -> float:
        """Requests granted per second lately, not counting the last pause (0.0: none)."""
        since = max(now - RECENT_WINDOW_S, self._resumed_at)
        recent = [t for t in self._granted if t >= since]
        if not recent:
            return 0.0
        return len(recent) / max(MIN_SPAN_S, now - recent[0])

    def _recover(self, now: float) -> None:
        """The increase side: a quiet spell after throttling raises the rate again.

        Fast (by RECOVERY every CLIMB_S) while well below the rate last refused, then by a
        small step every RECOVERY_S, so the host spends its time just under the API's limit
        rather than bouncing off it.
        """
        if self.limit is None:
            return
        ceiling = self.configured.rate if self.configured else float("inf")
        rate = self.limit.rate
        known = self._refused_rate
        climbing = known is not None and rate < PROBE_FROM * known
        quiet = CLIMB_S if climbing else RECOVERY_S
        if rate >= ceiling or now - self._last_throttle < quiet:
            return
        if known is None:
            rate *= RECOVERY
        elif climbing:
            rate = min(rate * RECOVERY, PROBE_FROM * known)
        else:
            rate += PROBE_STEP * known
        burst = self.configured.burst if self.configured else 1
        self.limit = RateLimit(min(ceiling, rate), burst)
        self._last_throttle = now  # one step per quiet spell

    def _take(self, now: float) -> float:
        """Take a token if one is free (0.0), else the seconds until one is."""
        self._recover(now)
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
            self._resumed_at = self._paused_until
            if self.limit is not None:
                self._tokens = 0.0  # after a pause, start from an empty bucket: no burst into it
                self._stamp = self._paused_until


def remaining_from_headers(headers: Mapping[str, str]) -> float | None:
    """The quota an answer announces (`X-RateLimit-Remaining` and kin), or None."""
    value = next((headers[h] for h in REMAINING_HEADERS if h in headers), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def pause_from_headers(headers: Mapping[str, str], now_epoch: float | None = None) -> float | None:
    """Seconds to pause when the API says none are left (`Remaining: 0` with a reset)."""
    remaining = remaining_from_headers(headers)
    if remaining is None or remaining > 0:
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
