"""Parallel pages: a long offset or page-number collection fetches a window of pages ahead.

dlt's client asks for page n+1 only after page n has arrived, so one big collection takes
`pages x latency`. `PageWindow` wraps the endpoint's numbered paginator and, once a page comes
back full, has the session fetch the following pages concurrently; when dlt's client then asks
for one of them, the session hands over the response already on its way (`session.prefetch`).

The window opens like TCP's slow start (1, 2, 4, ... pages ahead, up to `ahead`), so a
collection of a few pages costs at most about as many extra requests as it has pages, and a long
one at most `ahead` (= concurrency - 1) requests past its end. With a total in the response no
page past the end is asked for. Pages reach dlt in order; the stop rules stay dlt's paginator's.
A page sent ahead is held until dlt's client claims it, so the session caps how many all the
windows of a source hold at once (`prefetch_if_room`); a page not sent ahead is fetched as usual.

A child collection (one per parent item, most of them a page or two long) opens its window only
after `opens_after` full pages: fetching page n+1 once page n came back full costs nothing (dlt
would ask for it anyway), so a collection read in up to `opens_after + 1` requests makes exactly
the requests it would without a window, and a long one still reaches `ahead` pages in flight.
"""

from __future__ import annotations

import copy
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from dlt.common import jsonpath
from dlt.sources.helpers.rest_client.paginators import BasePaginator, RangePaginator
from requests import Request, Response

if TYPE_CHECKING:
    from restsync.http.session import RetryingSession

__all__ = ["OPENS_AFTER", "PageWindow", "numbered", "snapshot", "wrapped"]

FIRST_WINDOW = 1
OPENS_AFTER = 1  # full pages before the window opens (a top-level collection: the first)
MAX_WRAPPERS = 10
P = TypeVar("P", bound=BasePaginator)


def wrapped(paginator: Any, kind: type[P]) -> P | None:
    """The paginator of `kind` inside `paginator`, through wrappers (which expose `.inner`)."""
    for _ in range(MAX_WRAPPERS):
        if paginator is None or isinstance(paginator, kind):
            return paginator
        paginator = getattr(paginator, "inner", None)
    return None


def numbered(paginator: Any) -> RangePaginator | None:
    """The offset/page-number paginator inside `paginator` (through wrappers), if any."""
    found = wrapped(paginator, RangePaginator)
    return found if found is not None and found.param_name else None  # query parameters only


class PageWindow(BasePaginator):
    """Delegates paging to `inner` and keeps up to `ahead` of its next pages in flight."""

    def __init__(
        self,
        inner: BasePaginator,
        ahead: int,
        session: RetryingSession,
        opens_after: int = OPENS_AFTER,
    ) -> None:
        super().__init__()
        range_paginator = numbered(inner)
        if range_paginator is None:
            raise ValueError(f"{inner} does not page by a number; it cannot fetch ahead")
        self.inner = inner
        self.ahead = ahead
        self.session = session
        self.opens_after = max(opens_after, 1)
        self._range = range_paginator
        self._template: Request | None = None
        self._current = 0  # index of the page dlt's client asks for next (0 = the first)
        self._window = FIRST_WINDOW
        self._limit: int | None = None  # pages in the collection, when the response says
        self._pending: dict[int, str] = {}  # page index -> the session's prefetch token
        self._claimed: list[str] = []  # the token handed to dlt's next request, if any
        # a collection can end without the paginator knowing (dlt's client breaks on an
        # ignored response, raises, or its generator is closed): what it sent ahead is
        # forgotten when the window is, so nothing sent ahead outlives its collection
        weakref.finalize(self, _forget, session, self._pending, self._claimed)

    @property
    def has_next_page(self) -> bool:
        """Whatever the wrapped paginator says."""
        return self.inner.has_next_page

    def init_request(self, request: Request) -> None:
        """Let the wrapped paginator set up page 0; remember the request to build the others."""
        self._drop_pending()
        self.inner.init_request(request)
        self._template = snapshot(request)
        self._current, self._window, self._limit = 0, FIRST_WINDOW, None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """The wrapped paginator reads the page; a full page opens the window further."""
        self.inner.update_state(response, data)
        if not self.inner.has_next_page:
            self._drop_pending()
            return
        if self._current == 0:
            self._limit = self._pages_in_total(response)
        if self._current + 1 < self.opens_after:
            return  # too few full pages yet to tell a long collection from a short one
        for index in range(self._current + 1, self._current + 1 + self._window):
            if index not in self._pending and (self._limit is None or index < self._limit):
                token = self.session.prefetch_if_room(self._request_for(index))
                if token is None:
                    break  # no room: sent ahead on a later page, or fetched when dlt gets here
                self._pending[index] = token
        self._window = min(self._window * 2, self.ahead)

    def update_request(self, request: Request) -> None:
        """Build the next request as dlt would; point it at its prefetched response, if any."""
        self.inner.update_request(request)
        self._current += 1
        token = self._pending.pop(self._current, None)
        self._claimed[:] = [token] if token is not None else []
        self.session.claim(request, token)

    def release(self) -> None:
        """The collection is over, however it ended: forget every page sent ahead for it."""
        _forget(self.session, self._pending, self._claimed)

    def __deepcopy__(self, memo: dict[int, Any]) -> PageWindow:
        """dlt copies a child's paginator per parent item; the copy shares the session."""
        inner = copy.deepcopy(self.inner, memo)
        return PageWindow(inner, self.ahead, self.session, self.opens_after)

    def __str__(self) -> str:
        return f"{self.inner} (up to {self.ahead} pages ahead)"

    def _request_for(self, index: int) -> Request:
        """Page `index`'s request, built by a copy of the wrapped paginator."""
        assert self._template is not None
        request = snapshot(self._template)
        paginator = copy.copy(self._range)
        paginator.current_value = self._range.initial_value + index * self._range.value_step
        paginator.update_request(request)
        return request

    def _pages_in_total(self, response: Response) -> int | None:
        """The page count, when the paginator reads a total from the response."""
        path = self._range.total_path
        if path is None:
            return None
        try:
            values = jsonpath.find_values(path, response.json())
            total = int(values[0])
        except (ValueError, TypeError, IndexError):
            return None  # the wrapped paginator reports a bad total itself
        step, start = self._range.value_step, self._range.initial_value
        return max(0, -(-(total + self._range.base_index - start) // step))

    def _drop_pending(self) -> None:
        """Pages past the end: cancel those not yet sent, forget the rest."""
        _forget(self.session, self._pending, [])


def _forget(session: RetryingSession, pending: dict[int, str], claimed: list[str]) -> None:
    """Drop a window's pages sent ahead (a claimed one dlt's client has sent is gone already)."""
    for token in [*pending.values(), *claimed]:
        session.discard(token)
    pending.clear()
    claimed.clear()


def snapshot(request: Request) -> Request:
    """A copy of a request that later changes to the original do not reach."""
    clone = copy.copy(request)
    clone.params = dict(request.params or {})
    clone.headers = dict(request.headers or {})
    clone.json = copy.deepcopy(request.json)
    return clone
