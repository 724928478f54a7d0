"""The selector guard over a real socket: a selector that misses the list fails the resource;
one that finds an empty list is a fine answer, whatever else the response holds."""

from __future__ import annotations

import pytest
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.helpers.rest_client.paginators import SinglePagePaginator

from restsync.errors import ConfigError
from restsync.http.guard import SelectorGuard
from restsync.http.session import RetryingSession
from tests.scripted_server import Reply, scripted_server


def rows(body: dict[str, object], selector: str) -> list[object]:
    with scripted_server() as server:
        server.script("/things", Reply(200, body))
        guard = SelectorGuard(SinglePagePaginator(), selector, "things")
        client = RESTClient(base_url=server.base_url, session=RetryingSession())
        pages = client.paginate("/things", paginator=guard, data_selector=selector)
        return [row for page in pages for row in page]


def test_an_empty_list_at_the_selector_is_a_fine_answer_beside_other_lists() -> None:
    assert rows({"reports": [], "items": [{"x": 1}]}, "reports") == []


def test_a_selector_that_misses_the_list_names_where_it_is() -> None:
    with pytest.raises(ConfigError, match="holds a list at 'items'"):
        rows({"items": [{"x": 1}]}, "data")
