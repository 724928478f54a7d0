"""Paginators for APIs that send no total: the page that comes back short is the last one.

dlt's offset and page-number paginators expect a total in every response and fail after page 1
without one; with `total_path: None` they stop only on an empty page, one request too many. These
subclasses keep dlt's request building and add the stop rule every spec here states.
"""

from __future__ import annotations

from typing import Any

from dlt.sources.helpers.rest_client.paginators import OffsetPaginator, PageNumberPaginator

__all__ = ["ShortPageOffsetPaginator", "ShortPagePageNumberPaginator"]


class ShortPageOffsetPaginator(OffsetPaginator):
    """Offset/limit paging that stops on a page shorter than `limit` (or empty)."""

    def __init__(self, limit: int, **kwargs: Any) -> None:
        kwargs.setdefault("total_path", None)
        super().__init__(limit=limit, **kwargs)

    def _stop_after_this_page(self, data: list[Any] | None = None) -> bool:
        return not data or len(data) < self.limit


class ShortPagePageNumberPaginator(PageNumberPaginator):
    """Page-number paging that stops on a short page.

    With `page_size` known, a page shorter than it is the last. Without it, the longest page seen
    so far stands in for the page size, so only a collection that fits in one short page costs
    one extra (empty) request.
    """

    def __init__(self, page_size: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("total_path", None)
        super().__init__(**kwargs)
        self.page_size = page_size
        self._longest = 0

    def init_request(self, request: Any) -> None:
        self._longest = 0
        super().init_request(request)

    def _stop_after_this_page(self, data: list[Any] | None = None) -> bool:
        if not data:
            return True
        size = self.page_size or self._longest
        self._longest = max(self._longest, len(data))
        return bool(size) and len(data) < size
