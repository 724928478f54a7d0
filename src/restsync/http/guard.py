"""A data selector that finds nothing is an error, not zero rows (dlt loads nothing silently).

`SelectorGuard` wraps an endpoint's paginator: dlt hands it every page with the records the
selector found. Only when a page comes back empty does it look at the response itself, so the
check costs nothing on the pages that matter.
"""

from __future__ import annotations

from typing import Any

from dlt.common import jsonpath
from dlt.sources.helpers.rest_client.detector import PaginatorFactory, find_response_page_data
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from restsync.errors import ConfigError
from restsync.http.redact import redact

__all__ = ["DetectedPaginator", "SelectorGuard", "where_the_list_is"]


def where_the_list_is(document: Any) -> str | None:
    """The path of the first non-empty list in a response ('$' for a bare list), or None."""
    if isinstance(document, list):
        return "$" if document else None
    path, found = find_response_page_data(document)
    return ".".join(path) if isinstance(found, list) and found else None


class SelectorGuard(BasePaginator):
    """Delegates paging to `inner`; fails the resource when its selector misses a list."""

    def __init__(self, inner: BasePaginator, data_selector: str, resource: str) -> None:
        super().__init__()
        self.inner = inner
        self.data_selector = data_selector
        self._compiled = jsonpath.compile_path(data_selector)  # parsing costs ~1 ms a call
        self.resource = resource

    @property
    def has_next_page(self) -> bool:
        """Whatever the wrapped paginator says."""
        return self.inner.has_next_page

    def init_request(self, request: Request) -> None:
        """Let the wrapped paginator set up the first request."""
        self.inner.init_request(request)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Check an empty page's response, then let the wrapped paginator move on."""
        if not data:
            self._check(response)
        self.inner.update_state(response, data)

    def update_request(self, request: Request) -> None:
        """Let the wrapped paginator build the next request."""
        self.inner.update_request(request)

    def _check(self, response: Response) -> None:
        try:
            document = response.json()
        except ValueError:
            return
        if self.data_selector == "$" or jsonpath.find_values(self._compiled, document):
            return  # the selector matched (an empty list is a fine answer)
        found = where_the_list_is(document)
        if found is None:
            return
        raise ConfigError(
            f"data_selector '{self.data_selector}' found nothing in the response from"
            f" {redact(str(response.url))}, which holds a list at '{found}': set"
            f" endpoint.data_selector to '{found}'",
            resource=self.resource,
            key="endpoint.data_selector",
        )

    def __str__(self) -> str:
        return str(self.inner)


class DetectedPaginator(BasePaginator):
    """dlt's `auto`, as an instance: the paginator dlt's detector picks from the first response
    (dlt detects only when it is given none, and a guarded selector needs one to wrap)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: BasePaginator | None = None

    @property
    def has_next_page(self) -> bool:
        """True until the first response; then the detected paginator's answer."""
        return True if self.inner is None else self.inner.has_next_page

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Pick the paginator on the first response, as dlt's client would, then delegate."""
        if self.inner is None:
            self.inner, _ = PaginatorFactory().create_paginator(response)
            if self.inner is None:  # dlt's single-page fallback always answers; kept safe
                raise ValueError(f"no paginator fits the response from {redact(str(response.url))}")
        self.inner.update_state(response, data)

    def update_request(self, request: Request) -> None:
        """The detected paginator builds the next request."""
        if self.inner is not None:
            self.inner.update_request(request)

    def __str__(self) -> str:
        return f"auto ({self.inner or 'not detected yet'})"
