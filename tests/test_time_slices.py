"""Time slices: hosting's deployments (a newest-first time cursor with a `since` bound) read as
disjoint time ranges side by side: every record once, within the concurrency bound."""

from __future__ import annotations

from pathlib import Path

import pytest
from dlt.sources.helpers.rest_client.client import RESTClient

from restsync.emulators import EmulatorOptions, Faults, run_emulator
from restsync.http.session import RetryingSession
from restsync.http.slices import TimeCursorPaginator, TimeSlices
from tests.connectors.support import sync_emulated
from tests.scripted_server import Reply, scripted_server
from tests.truth import diff, table_rows, truth_rows

API = "hosting"
SCALE = 40  # 2,000 deployments: 20 pages of 100


def sync_deployments(tmp_path: Path, concurrency: int) -> tuple[int, int, int, int]:
    """Rows extracted (before merge), records served, requests, the most requests at once."""
    with run_emulator(API, EmulatorOptions(scale=SCALE, faults=Faults(latency_ms=10))) as emu:
        database = tmp_path / "h.duckdb"
        result = sync_emulated(
            API, emu, database, resources=("deployments",), concurrency=concurrency
        )
        loaded = table_rows(str(database), API, "deployments")
        truth = truth_rows(emu, "deployments")
        assert loaded == truth, diff(loaded, truth)
        requests = len(emu.requests.select(resource="deployments"))
        return result.loaded_rows["deployments"], len(truth), requests, emu.max_in_flight


def test_time_ranges_side_by_side_read_every_record_once(tmp_path: Path) -> None:
    extracted, count, requests, most = sync_deployments(tmp_path, 16)
    assert extracted == count  # before the merge: no record was read twice
    assert 1 < most <= 16
    pages = -(-count // 100)
    assert requests <= pages + 16  # a short page per range, a few empty halvings


def test_one_at_a_time_is_one_plain_chain(tmp_path: Path) -> None:
    extracted, count, requests, most = sync_deployments(tmp_path, 1)
    assert extracted == count
    assert requests == -(-count // 100)
    assert most == 1


def test_a_cursor_that_is_not_a_time_is_refused() -> None:
    with scripted_server() as server:
        page = {"data": [{"id": 1}], "pagination": {"next": "abc"}}
        server.script("/events", Reply(200, page))
        session = RetryingSession(pool_size=4)
        cursor = TimeCursorPaginator("pagination.next", "until", since_param="since")
        client = RESTClient(base_url=server.base_url, session=session)
        pages = client.paginate("/events", paginator=TimeSlices(cursor, 4, session))
        with pytest.raises(ValueError, match=r"integer time at 'pagination\.next', got 'abc'"):
            list(pages)
        session.close()
