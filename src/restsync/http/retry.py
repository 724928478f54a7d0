"""Retry policies: which answers are retried, how often, and how long to wait in between.

A seed's `error_handler` (`retry_on_status_codes`, `max_retries`, `backoff_factor`) becomes a
`RetryPolicy`; the session in `session.py` applies the policy of the endpoint a request belongs to.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "DEFAULT_MAX_DELAY",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_STATUSES",
    "RetryPolicy",
    "parse_retry_after",
]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_FACTOR = 1.0
# No single wait, whether from backoff or from a server's Retry-After, lasts longer than this.
DEFAULT_MAX_DELAY = 60.0
ERROR_HANDLER_KEYS = ("retry_on_status_codes", "max_retries", "backoff_factor")


@dataclass(frozen=True)
class RetryPolicy:
    """What to retry and how long to wait: one per endpoint, from the seed's `error_handler`."""

    statuses: frozenset[int] = field(default=DEFAULT_RETRY_STATUSES)
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR
    max_delay: float = DEFAULT_MAX_DELAY
    retry_connection_errors: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")
        if self.backoff_factor < 0:
            raise ValueError(f"backoff_factor must be 0 or more, got {self.backoff_factor}")
        bad = [s for s in self.statuses if not 100 <= s <= 599]
        if bad:
            raise ValueError(f"retry status codes must be HTTP statuses, got {sorted(bad)}")

    @property
    def max_attempts(self) -> int:
        """Total tries of one request: the first plus `max_retries`."""
        return self.max_retries + 1

    def should_retry_status(self, status: int) -> bool:
        """Only the listed statuses are retried; everything else fails at once."""
        return status in self.statuses

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds before retry `retry_number` (1-based): Retry-After if sent, else backoff."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_delay))
        return float(min(self.backoff_factor * (2 ** (retry_number - 1)), self.max_delay))

    @classmethod
    def from_error_handler(
        cls, handler: Mapping[str, Any], *, max_delay: float = DEFAULT_MAX_DELAY
    ) -> RetryPolicy:
        """Build a policy from a seed's `error_handler` block (keys already validated)."""
        statuses: Iterable[int] = handler.get("retry_on_status_codes", DEFAULT_RETRY_STATUSES)
        return cls(
            statuses=frozenset(int(s) for s in statuses),
            max_retries=int(handler.get("max_retries", DEFAULT_MAX_RETRIES)),
            backoff_factor=float(handler.get("backoff_factor", DEFAULT_BACKOFF_FACTOR)),
            max_delay=max_delay,
        )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Read a Retry-After header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
