"""Parallel pages: a long offset collection fetches pages ahead, within the concurrency bound,
asking for no page twice and for at most concurrency - 1 pages past the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator, PageNumberPaginator

from restsync.emulators import EmulatorOptions, Faults, Outcome, run_emulator
from restsync.http.paginators import ShortPageOffsetPaginator
from restsync.http.session import RetryingSession
from restsync.http.window import PageWindow
from tests.connectors.support import sync_emulated
from tests.scripted_server import Reply, scripted_server
from tests.truth import diff, table_rows, truth_rows

PAGE = 100  # commerce's page size
SCALE = 81  # 2,997 customers: 29 full pages and a short one
LATENCY = Faults(latency_ms=20)


def sync_customers(tmp_path: Path, concurrency: int) -> tuple[list[int], int, int]:
    """Sync commerce's customers; the offsets asked for, the customer count, the most in flight."""
    with run_emulator("commerce", EmulatorOptions(scale=SCALE, faults=LATENCY)) as emu:
        database = tmp_path / "shop.duckdb"
        sync_emulated("commerce", emu, database, resources=("customers",), concurrency=concurrency)
        loaded = table_rows(str(database), "commerce", "customers")
        truth = truth_rows(emu, "customers")
        assert loaded == truth, diff(loaded, truth)
        served = emu.requests.select(resource="customers", outcome=Outcome.SERVED)
        offsets = [int(e.query["offset"]) for e in served]
        return offsets, len(emu.truth("customers")), emu.max_in_flight


@pytest.mark.parametrize("concurrency", [4, 16])
def test_a_long_collection_fetches_pages_ahead(tmp_path: Path, concurrency: int) -> None:
    offsets, count, most = sync_customers(tmp_path, concurrency)
    needed = [PAGE * i for i in range(count // PAGE + 1)]
    assert sorted(offsets) == sorted(set(offsets)), "a page was asked for twice"
    assert set(needed) <= set(offsets)
    wasted = [o for o in offsets if o > needed[-1]]
    assert len(wasted) <= concurrency - 1
    assert 1 < most <= concurrency


def test_one_at_a_time_asks_for_exactly_the_pages_needed(tmp_path: Path) -> None:
    offsets, count, most = sync_customers(tmp_path, 1)
    assert offsets == [PAGE * i for i in range(count // PAGE + 1)]
    assert most == 1


def test_children_and_windows_share_one_bound(tmp_path: Path) -> None:
    faults = Faults(latency_ms=10)
    with run_emulator("bi_workspace", EmulatorOptions(scale=2, faults=faults)) as emu:
        sync_emulated("bi_workspace", emu, tmp_path / "b.duckdb", concurrency=4)
        assert 1 < emu.max_in_flight <= 4


@pytest.mark.parametrize(
    ("paginator", "pages"),
    [
        (OffsetPaginator(limit=10, total_path="total"), 3),  # total = 30 items
        (PageNumberPaginator(base_page=1, total_path="total"), 30),  # total = 30 pages
    ],
)
def test_a_total_stops_the_window_at_the_last_page(paginator: object, pages: int) -> None:
    with scripted_server() as server:
        server.script("/items", Reply(200, {"data": [{"id": i} for i in range(10)], "total": 30}))
        session = RetryingSession(pool_size=16)
        window = PageWindow(paginator, 15, session)  # type: ignore[arg-type]
        client = RESTClient(base_url=server.base_url, session=session)
        rows = [r for page in client.paginate("/items", paginator=window, data_selector="data")
                for r in page]  # fmt: skip
        session.close()
        assert server.hits["/items"] == pages
        assert len(rows) == 10 * pages


def test_a_failing_page_ahead_fails_the_collection() -> None:
    with scripted_server() as server:
        full = Reply(200, {"data": [{"id": i} for i in range(10)]})
        server.script("/items", full, Reply(404, {"error": "gone"}))
        session = RetryingSession(pool_size=4)
        window = PageWindow(ShortPageOffsetPaginator(limit=10), 3, session)
        client = RESTClient(base_url=server.base_url, session=session)
        with pytest.raises(Exception, match="404"):
            for _ in client.paginate("/items", paginator=window, data_selector="data"):
                pass
        session.close()
