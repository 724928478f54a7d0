"""Time slices: a newest-first time-cursor collection read as disjoint ranges side by side.

A cursor chain cannot fetch ahead: each page names the next. But an API whose cursor is a time
(`until=<ms>`, exclusive, newest first) and that also takes a lower bound (`since=<ms>`,
inclusive) can be read as several chains over disjoint time ranges at once. `TimeSlices` starts
with the chain dlt's client asks for; whenever a page arrives and fewer than `width` chains are
open, the chain's remaining range `[lo, next)` is halved and the older half becomes a chain of
its own. Ranges never overlap and always cover the whole, so no record is read twice or missed;
pages reach dlt in the order they arrive (row order is irrelevant to a merge load).

The cost: each chain ends on a short page, and halving towards an empty past spends one empty
request per halving, so a sync makes a few percent more requests than one chain would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlt.common import jsonpath
from dlt.sources.helpers.rest_client.paginators import BasePaginator, JSONResponseCursorPaginator
from requests import Request, Response

from restsync.http.window import snapshot, wrapped

if TYPE_CHECKING:
    from restsync.http.session import RetryingSession

__all__ = ["TimeCursorPaginator", "TimeSlices", "time_cursor"]

MIN_PAGES_TO_SPLIT = 2  # a range expected to hold fewer pages is not worth another chain


class TimeCursorPaginator(JSONResponseCursorPaginator):
    """dlt's cursor paginator, for a cursor that is a time and an API that takes a lower bound.

    On its own it pages exactly like its parent; `since_param` tells `TimeSlices` how to bound
    a range from below.
    """

    def __init__(
        self, cursor_path: str, cursor_param: str, since_param: str, **options: Any
    ) -> None:
        super().__init__(cursor_path=cursor_path, cursor_param=cursor_param, **options)
        self.since_param = since_param


def time_cursor(paginator: Any) -> TimeCursorPaginator | None:
    """The time-cursor paginator inside `paginator` (through wrappers), if any."""
    return wrapped(paginator, TimeCursorPaginator)


@dataclass
class _Chain:
    """One time range `[lo, until)` read newest first; `span` is one page's width, once known."""

    lo: int | None  # None: no lower bound beyond the request's own
    until: int | None  # None: the first page (no upper bound yet)
    span: int | None = None
    token: str | None = None  # the session's prefetch of this chain's next page


class TimeSlices(BasePaginator):
    """Delegates reading pages to `inner`; keeps up to `width` time ranges in flight."""

    def __init__(self, inner: BasePaginator, width: int, session: RetryingSession) -> None:
        super().__init__()
        cursor = time_cursor(inner)
        if cursor is None:
            raise ValueError(f"{inner} is not a time cursor; it cannot be sliced")
        self.inner = inner
        self.width = width
        self.session = session
        self._cursor = cursor
        self._template: Request | None = None
        self._chains: list[_Chain] = []
        self._current: _Chain | None = None
        self._claimed = False  # dlt's client is about to send a claimed page's request

    @property
    def has_next_page(self) -> bool:
        """True while a page is claimed for dlt's client or any range has one on its way."""
        return self._claimed or any(chain.token is not None for chain in self._chains)

    def init_request(self, request: Request) -> None:
        """The first page is dlt's own request: one chain over everything it asks for."""
        self._drop_pending()
        self.inner.init_request(request)
        self._template = snapshot(request)
        since = (request.params or {}).get(self._cursor.since_param)
        self._current = _Chain(lo=_as_int(since), until=None)
        self._chains = [self._current]

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Move the page's chain on; open an older half as a new chain while there is room."""
        chain = self._current
        assert chain is not None
        self._claimed = False
        self.inner.update_state(response, data)
        # an empty page ends the range only where dlt's paginator would stop on one
        stops = not data and self._cursor.stop_after_empty_page
        following = None if stops else self._next_cursor(response)
        if following is None or not self.inner.has_next_page:
            self._chains.remove(chain)  # this range is read to its end
            return
        if chain.until is not None:
            chain.span = max(1, chain.until - following)
        chain.until = following
        if len(self._chains) < self.width:
            self._split(chain)
        chain.token = self.session.prefetch(self._request_for(chain))

    def update_request(self, request: Request) -> None:
        """Hand dlt's client the page that arrived first, whichever range it belongs to."""
        waiting = {chain.token: chain for chain in self._chains if chain.token is not None}
        if not waiting:
            self.session.claim(request, None)
            return
        token = self.session.first_done(list(waiting))
        chain = waiting[token]
        chain.token = None
        self._current, self._claimed = chain, True
        prepared = self._request_for(chain)
        request.params = prepared.params
        self.session.claim(request, token)

    def __deepcopy__(self, memo: dict[int, Any]) -> TimeSlices:
        """dlt copies a child's paginator per parent item; the copy shares the session."""
        return TimeSlices(copy.deepcopy(self.inner, memo), self.width, self.session)

    def __str__(self) -> str:
        return f"{self.inner} (up to {self.width} time ranges at once)"

    def _split(self, chain: _Chain) -> None:
        """Halve the chain's remaining range; the older half starts a chain of its own."""
        assert chain.until is not None
        lo = chain.lo or 0
        pages_left = (chain.until - lo) / chain.span if chain.span else float("inf")
        if pages_left < MIN_PAGES_TO_SPLIT:
            return
        middle = lo + (chain.until - lo) // 2
        if middle <= lo:
            return
        older = _Chain(lo=chain.lo, until=middle)
        chain.lo = middle
        older.token = self.session.prefetch(self._request_for(older))
        self._chains.append(older)

    def _request_for(self, chain: _Chain) -> Request:
        """A chain's next request: dlt's request with the range's bounds."""
        assert self._template is not None
        request = snapshot(self._template)
        if chain.lo is not None:
            request.params[self._cursor.since_param] = chain.lo
        if chain.until is not None:
            request.params[self._cursor.cursor_param] = chain.until
        return request

    def _next_cursor(self, response: Response) -> int | None:
        """The page's next cursor as an integer time, or None (the chain's end)."""
        values = jsonpath.find_values(self._cursor.cursor_path, response.json())
        if not values or values[0] is None:
            return None
        following = _as_int(values[0])
        if following is None:
            raise ValueError(
                f"time slices need an integer time at '{self._cursor.cursor_path}', got"
                f" {values[0]!r}: use a plain cursor paginator for this endpoint"
            )
        return following

    def _drop_pending(self) -> None:
        for chain in self._chains:
            if chain.token is not None:
                self.session.discard(chain.token)
        self._chains = []


def _as_int(value: Any) -> int | None:
    """An integer time from a cursor or param value; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
