"""Incremental reads of newest-first history kept per parent (a report's runs, a dataset's runs).

dlt's `Incremental` keeps one cursor per resource; for a child resource that is wrong: a report
whose newest run is older than another report's would lose its new runs. These APIs offer no
filter either, only pages newest first. So restsync keeps, in dlt's resource state, per parent:
the newest cursor value loaded and the runs still open (no `completed_at` yet: they may change).
The next sync pages each parent only until it passes what it already has, keeps the runs that
are new or were open, and skips the rest, so their children are not fetched again either.

State is committed with the load package (dlt's rule): a failed run leaves it as it was.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

__all__ = ["History", "HistorySpec", "StopAtKnown"]

STATE_KEY = "parents"


@dataclass(frozen=True)
class HistorySpec:
    """Which resource, its cursor and key, and how rows and URLs name their parent."""

    resource: str
    cursor: str
    key: str
    parent_column: str  # the row's column holding the parent's id
    parent_in_url: str  # a regex whose first group is the parent's id in the request path
    open_field: str | None = None  # a row without this value is not final yet


class History:
    """One sync's view: last run's state (read once) and this run's (written as rows pass)."""

    def __init__(self, spec: HistorySpec) -> None:
        self.spec = spec
        self._url = re.compile(spec.parent_in_url)
        self._previous: dict[str, Any] | None = None
        self._touched: set[str] = set()

    def paginator(self, inner: BasePaginator) -> BasePaginator:
        """`inner`, stopping after the first page that reaches rows already loaded."""
        return StopAtKnown(inner, self)

    def keep(self, record: dict[str, Any]) -> bool:
        """A filter step: rows that are new since last time, or were still open then."""
        last = self._last(str(record.get(self.spec.parent_column)))
        if last is None:
            return True
        return bool(
            record[self.spec.cursor] > last["newest"] or record[self.spec.key] in last["open"]
        )

    def observe(self, record: dict[str, Any]) -> dict[str, Any]:
        """A map step: remember the newest row and the open rows of each parent."""
        self._snapshot()
        parent = str(record.get(self.spec.parent_column))
        parents = self._state()
        if parent not in self._touched:  # this run's first row of the parent: start afresh
            self._touched.add(parent)
            previous = parents.get(parent) or {}
            parents[parent] = {"newest": previous.get("newest"), "open": {}}
        entry = parents[parent]
        value = record[self.spec.cursor]
        if entry["newest"] is None or value > entry["newest"]:
            entry["newest"] = value
        if self.spec.open_field and record.get(self.spec.open_field) is None:
            entry["open"][str(record[self.spec.key])] = value
        return record

    def reached_known(self, url: str, rows: list[Any]) -> bool:
        """Whether a page of this parent's history goes back past what was loaded."""
        match = self._url.search(url)
        last = self._last(match.group(1)) if match else None
        if last is None or not rows:
            return False
        values = [
            r[self.spec.cursor] for r in rows if isinstance(r, dict) and self.spec.cursor in r
        ]
        if last["open"]:  # read back to the oldest open row: it may have changed since
            floor = min(last["open"].values())
            return any(v < floor for v in values)
        return any(v <= last["newest"] for v in values)

    def _last(self, parent: str) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = self._snapshot().get(parent)
        return entry if entry and entry.get("newest") is not None else None

    def _snapshot(self) -> dict[str, Any]:
        if self._previous is None:
            self._previous = copy.deepcopy(dict(self._state()))
        return self._previous

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = dlt.current.resource_state(self.spec.resource).setdefault(
            STATE_KEY, {}
        )
        return state


class StopAtKnown(BasePaginator):
    """Delegates to the API's paginator; ends the parent's paging at rows already loaded."""

    def __init__(self, inner: BasePaginator, history: History) -> None:
        super().__init__()
        self.inner = inner
        self.history = history
        self._stopped = False

    @property
    def has_next_page(self) -> bool:
        """More pages unless the API has none or known rows were reached."""
        return self.inner.has_next_page and not self._stopped

    def init_request(self, request: Request) -> None:
        """Start a parent's paging afresh."""
        self._stopped = False
        self.inner.init_request(request)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Let the API's paginator move on, then stop if this page reached known rows."""
        self.inner.update_state(response, data)
        if self.history.reached_known(str(response.url), list(data or [])):
            self._stopped = True

    def update_request(self, request: Request) -> None:
        """The API's next request."""
        self.inner.update_request(request)

    def __deepcopy__(self, memo: dict[int, Any]) -> StopAtKnown:
        # dlt copies the paginator for every parent: copy the paging, share the history
        return StopAtKnown(copy.deepcopy(self.inner, memo), self.history)

    def __str__(self) -> str:
        return f"{self.inner} (stops at rows already loaded)"
