"""Every request an emulator received, so tests can assert how many calls a sync made."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

__all__ = ["LoggedRequest", "Outcome", "RequestLog"]


class Outcome(enum.StrEnum):
    """What the emulator did with a request; only SERVED delivered data."""

    SERVED = "served"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"
    DROPPED = "dropped"


@dataclass(frozen=True)
class LoggedRequest:
    """One request: what was asked, what was answered, and when it arrived (time.monotonic()).

    `status` is the status line sent; a DROPPED request sent 200 and then cut the body.
    `resource` is None when the path matched no endpoint.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float
    resource: str | None
    outcome: Outcome


class RequestLog:
    """A thread-safe list of requests with counting helpers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record a request (the server calls this before it answers)."""
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every request, e.g. between the two syncs a test compares."""
        with self._lock:
            self._entries.clear()

    def entries(self) -> list[LoggedRequest]:
        """A snapshot of the requests so far, in the order they were answered (sort by `at` for
        the order they arrived)."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def count(
        self,
        resource: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
        outcome: Outcome | str | None = None,
    ) -> int:
        """How many requests match every given criterion (all requests when none is given)."""
        return len(self.select(resource, path_prefix, status, outcome))

    def select(
        self,
        resource: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
        outcome: Outcome | str | None = None,
    ) -> list[LoggedRequest]:
        """The requests that match every given criterion, in the order they were answered."""
        return [
            e
            for e in self.entries()
            if (resource is None or e.resource == resource)
            and (path_prefix is None or e.path.startswith(path_prefix))
            and (status is None or e.status == status)
            and (outcome is None or e.outcome == outcome)
        ]
