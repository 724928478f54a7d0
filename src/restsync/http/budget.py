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

__all__ = [
    "QUOTA_HEADERS",
    "TOO_MANY_REQUESTS",
    "RateBudget",
    "RateLimit",
    "pause_from_headers",
    "remaining_from_headers",
]

Clock = Callable[[], float]
Sleep = Callable[[float], None]

REMAINING_HEADERS = ("X-RateLimit-Remaining", "X-Rate-Limit-Remaining", "RateLimit-Remaining")
RESET_HEADERS = ("X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset")
QUOTA_HEADERS = frozenset(name.lower() for name in REMAINING_HEADERS + RESET_HEADERS)
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
PROBE_STEP = 0.01  # of the rate last refused, added per quiet RECOVERY_S while probing...
PROBE_PATIENCE = 4  # ...for this many steps; then each step doubles (a stale estimate wears off)
RECENT_PAUSES = 64
ACCEPTED_SPAN_S = 1.0
TOO_MANY_REQUESTS = 429
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
        self._answered_ok: deque[float] = deque(maxlen=RECENT_GRANTS)  # answers not 429
        self._pauses: deque[tuple[float, float]] = deque(maxlen=RECENT_PAUSES)
        self._last_throttle = float("-inf")  # the last change of rate, down or up
        self._generation = 0  # slow-downs so far: a grant carries the count it was made under
        self._refused_rate: float | None = None  # the rate the API last refused, as estimated
        self._probes = 0  # probing steps since the last slow-down
        self.configured = limit
        self.waited_s = 0.0
        self._in_flight = 0  # requests granted and not yet answered
        self._remaining: float | None = None  # the API's last word on its quota, if it gives one

    def acquire(self) -> int:
        """Block until the host is not paused and a token is free, then take it.

        Returns the grant's generation (how many slow-downs came before it), for `throttle`.
        """
        while True:
            with self._lock:
                wait = self._grant()
                if wait <= 0:
                    return self._generation
                self.waited_s += wait
            self._sleep(wait)

    def try_acquire(self) -> int | None:
        """`acquire` for a caller that must not block: the grant's generation, or None (and
        nothing taken) if the host is paused or no token is free."""
        with self._lock:
            return self._generation if self._grant() <= 0 else None

    def _grant(self) -> float:
        """Take a grant if the host is not paused, the quota allows and a token is free (0.0),
        else the seconds to wait before asking again."""
        now = self._clock()
        wait = self._paused_until - now
        if wait <= 0:
            wait = self._quota_wait()
        if wait <= 0:
            wait = self._take(now)
            if wait <= 0:
                self._granted.append(now)
                self._in_flight += 1
        return wait

    def release(self, remaining: float | None = None, status: int | None = None) -> None:
        """A granted request ended: with an answer of `status` announcing `remaining`, or none.

        An answer that announces nothing clears what an earlier one said: an API that sends
        `X-RateLimit-Remaining: 0` only with its 429s would otherwise hold the host to one
        request at a time for the rest of the sync, long after the quota was renewed. A
        request that got no answer (status None) says nothing about the quota.
        """
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if status is not None:
                self._remaining = remaining
                if status != TOO_MANY_REQUESTS:
                    self._answered_ok.append(self._clock())

    def _quota_wait(self) -> float:
        """0 while the announced quota covers one more request beside those in flight.

        Every request in flight will spend one of what remains, so a worker starts only while
        `in flight < remaining - QUOTA_RESERVE`: against a quota the API announces, the host
        slows before it is refused, instead of after. One request may always go (it brings news).
        """
        if self._remaining is None or self._in_flight == 0:
            return 0.0
        return 0.0 if self._in_flight < self._remaining - QUOTA_RESERVE else QUOTA_POLL_S

    def throttle(self, generation: int | None = None) -> None:
        """The API answered 429: slow the host to what it was accepting, at most half.

        Whether or not a limit was configured, a 429 says the real one is lower. The new rate
        is half the rate the host was refused at, or the rate the API answered without 429s
        lately if that is lower (a burst far over the limit, as at the start of a sync: what
        got through says how much gets through). Recovery then climbs fast back towards the
        refused rate. One slow-down per congestion: a 429 to a request granted before the last
        slow-down (`generation`, from `acquire`) is an echo of the same excess, as the first
        burst of 16 workers brings up to 16 of them, not news.
        """
        with self._lock:
            now = self._clock()
            if generation is not None and generation < self._generation:
                return
            # the recent window starts at its first grant: the host was sending from then on
            start = next((t for t in self._granted if t >= now - RECENT_WINDOW_S), None)
            sending = self._sending_rate(start, now) if start is not None else 0.0
            accepted = self._accepted_rate(start, now) if start is not None else 0.0
            if self.limit is None:
                refused = sending
            else:
                refused = min(self.limit.rate, sending) if sending else self.limit.rate
            rate = refused * DECREASE
            if accepted:
                rate = min(rate, accepted) if rate else accepted
            self._refused_rate = refused or None
            self.limit = RateLimit(max(MIN_RATE, rate), 1)
            self._tokens, self._stamp = 0.0, now  # the next grant waits a whole interval
            self._last_throttle = now
            self._generation += 1
            self._probes = 0

    def _sending_rate(self, start: float, now: float) -> float:
        """Grants per second since `start`, time paused left out."""
        count = sum(1 for t in self._granted if t >= start)
        paused = sum(max(0.0, min(end, now) - max(begin, start)) for begin, end in self._pauses)
        return count / max(MIN_SPAN_S, now - start - paused)

    def _accepted_rate(self, start: float, now: float) -> float:
        """Answers other than 429 per second since `start`, by the wall clock.

        Over at least ACCEPTED_SPAN_S: a short sample is the API's burst, not its rate, and
        paused time counts, as the API's bucket refills no faster while the host waits.
        """
        count = sum(1 for t in self._answered_ok if t >= start)
        return count / max(ACCEPTED_SPAN_S, now - start)

    def _recover(self, now: float) -> None:
        """The increase side: while no 429 comes, the rate rises again.

        Fast (by RECOVERY every CLIMB_S) while well below the rate last refused, then by a
        small step every RECOVERY_S, so the host spends its time just under the API's limit
        rather than bouncing off it; after PROBE_PATIENCE such steps each step doubles, so an
        estimate that was too low (or a limit that rose) does not hold the host down for long.
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
            self._probes += 1
            step = PROBE_STEP * known * 2 ** max(0, self._probes - PROBE_PATIENCE)
            rate = min(rate + step, rate * RECOVERY)
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
            now = self._clock()
            until = max(self._paused_until, now + seconds)
            if until > self._paused_until:
                self._pauses.append((max(now, self._paused_until), until))
            self._paused_until = until
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
