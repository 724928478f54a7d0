"""Parallel pages: a long offset collection fetches pages ahead, within the concurrency bound,
asking for no page twice and for at most concurrency - 1 pages past the end."""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

import dlt
import pytest
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator, PageNumberPaginator
from requests import Request
from requests.auth import HTTPBasicAuth

from restsync.connectors import get_connector
from restsync.emulators import EmulatorOptions, Faults, Outcome, run_emulator
from restsync.http.paginators import ShortPageOffsetPaginator
from restsync.http.retry import RetryPolicy
from restsync.http.session import ENDPOINT_HEADER, PAGES_AHEAD_PER_WORKER, RetryingSession
from restsync.http.transport import TRANSPORT_ENV
from restsync.http.window import PageWindow
from restsync.source import SourceOptions, build_source, close_sessions
from restsync.sync import SyncOptions, sync
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


def ten(count: int = 10) -> Reply:
    return Reply(200, {"data": [{"id": i} for i in range(count)]})


def test_the_window_opens_slowly_so_a_short_collection_costs_no_extra_requests() -> None:
    with scripted_server() as server:
        server.script("/items", ten(), ten(3), ten(0))  # a full page, then a short one
        session = RetryingSession(pool_size=16)
        window = PageWindow(ShortPageOffsetPaginator(limit=10), 15, session)
        client = RESTClient(base_url=server.base_url, session=session)
        rows = [r for page in client.paginate("/items", paginator=window, data_selector="data")
                for r in page]  # fmt: skip
        session.close()
        assert len(rows) == 13
        assert server.hits["/items"] == 2  # page 2 was sent ahead alone, not 15 pages


def test_pages_sent_past_the_end_give_back_their_room_when_the_collection_ends() -> None:
    pool = 2
    with scripted_server() as server:
        server.script("/items", ten(), ten(), ten(), ten(3), ten(0))
        session = RetryingSession(pool_size=pool)
        window = PageWindow(ShortPageOffsetPaginator(limit=10), 15, session)
        client = RESTClient(base_url=server.base_url, session=session)
        for _ in client.paginate("/items", paginator=window, data_selector="data"):
            pass
        assert server.hits["/items"] >= 4  # a page past the short one was sent ahead
        room = PAGES_AHEAD_PER_WORKER * pool  # pages a session holds unclaimed, at most
        tokens = [session.prefetch_if_room(Request("GET", server.base_url + "/other"))
                  for _ in range(room)]  # fmt: skip
        assert None not in tokens  # the collection, still referenced, holds none of it
        assert window is not None
        session.close()


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


CHILD_PAGE = 8  # events per page: products of 230, 100, 17 and 0 events take 29, 13, 3, 1 pages
CHILD_LATENCY_MS = 20
TIMER_SLACK_MS = 2  # how much sooner than asked the emulator's latency sleep can end
SHORT_CHILD_PAGES = 3  # a child of up to 3 pages makes exactly the requests it needs


def sync_child_events(
    tmp_path: Path, concurrency: int
) -> tuple[dict[str, list[float]], dict[str, list[int]], dict[str, int]]:
    """Sync product_analytics' events at 8 a page; per product: arrivals, offsets, events."""
    faults = Faults(latency_ms=CHILD_LATENCY_MS)
    with run_emulator("product_analytics", EmulatorOptions(scale=1, faults=faults)) as emu:
        values = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        config = get_connector("product_analytics").config(values)
        events = next(r for r in config["resources"] if r["name"] == "events")
        paging = {"type": "offset", "limit": CHILD_PAGE, "offset_param": "offset"}
        events["endpoint"]["paginator"] = paging
        source = build_source(
            config, SourceOptions(name="product_analytics", concurrency=concurrency)
        )
        destination = dlt.destinations.duckdb(str(tmp_path / "pa.duckdb"))
        sync(source.with_resources("products", "events"), SyncOptions(destination=destination))
        loaded = table_rows(str(tmp_path / "pa.duckdb"), "product_analytics", "events")
        truth = truth_rows(emu, "events", {"product_id": "_products_id"}, int)
        assert loaded == truth, diff(loaded, truth)
        arrivals: dict[str, list[float]] = defaultdict(list)
        offsets: dict[str, list[int]] = defaultdict(list)
        for entry in sorted(
            emu.requests.select(resource="events", outcome=Outcome.SERVED), key=lambda e: e.at
        ):
            product = entry.path.split("/")[-2]
            arrivals[product].append(entry.at)
            offsets[product].append(int(entry.query["offset"]))
        counts = Counter(served.params["product_id"] for served in emu.truth("events"))
        sizes = {str(p.record["id"]): counts[str(p.record["id"])] for p in emu.truth("products")}
        return arrivals, offsets, sizes


@pytest.mark.parametrize("concurrency", [4, 16])
def test_one_parents_long_child_collection_fetches_pages_ahead(
    tmp_path: Path, concurrency: int
) -> None:
    arrivals, offsets, sizes = sync_child_events(tmp_path, concurrency)
    latency = CHILD_LATENCY_MS / 1000
    for product, size in sizes.items():
        needed = [CHILD_PAGE * i for i in range(size // CHILD_PAGE + 1)]
        asked = offsets[product]
        assert sorted(asked) == sorted(set(asked)), f"product {product}: a page asked twice"
        assert set(needed) <= set(asked), f"product {product}: a page never asked for"
        if len(needed) <= SHORT_CHILD_PAGES:  # a short child costs no request past its end
            assert sorted(asked) == needed, f"product {product}: {sorted(asked)}"
        else:
            assert len(set(asked) - set(needed)) <= concurrency - 1
            # one page after another, each arrives a full latency after the one before it
            gaps = [b - a for a, b in zip(arrivals[product], arrivals[product][1:], strict=False)]
            assert min(gaps) < latency / 2, f"product {product}: pages one at a time"


def test_one_at_a_time_a_child_collection_is_read_page_by_page(tmp_path: Path) -> None:
    arrivals, offsets, sizes = sync_child_events(tmp_path, 1)
    for product, size in sizes.items():
        assert offsets[product] == [CHILD_PAGE * i for i in range(size // CHILD_PAGE + 1)]
        gaps = [b - a for a, b in zip(arrivals[product], arrivals[product][1:], strict=False)]
        # each page asked for only after the one before was answered (a page sent ahead would
        # arrive within a millisecond or two); the emulator's sleep is a uvloop timer, which
        # counts whole milliseconds from a loop time cached per iteration, so it can end up to
        # 1 ms early: gaps of 19.65 ms were seen
        assert all(gap >= (CHILD_LATENCY_MS - TIMER_SLACK_MS) / 1000 for gap in gaps)


class CountingSession(RetryingSession):
    """Records how many pages were sent ahead and unclaimed after each try to send one."""

    def __init__(self, pool_size: int) -> None:
        super().__init__(pool_size=pool_size)
        self.held: list[int] = []
        self.refused = 0

    def prefetch_if_room(self, request: Request) -> str | None:
        token = super().prefetch_if_room(request)
        self.refused += token is None
        self.held.append(len(self._prefetched))
        return token


def test_pages_sent_ahead_and_unclaimed_are_capped_and_none_is_lost() -> None:
    with run_emulator("commerce", EmulatorOptions(scale=SCALE, faults=LATENCY)) as emu:
        session = CountingSession(pool_size=2)  # room for 2 x PAGES_AHEAD_PER_WORKER pages
        window = PageWindow(ShortPageOffsetPaginator(limit=PAGE), 15, session)
        auth = HTTPBasicAuth(emu.credentials["username"], emu.credentials["password"])
        client = RESTClient(base_url=emu.base_url, session=session, auth=auth)
        ids = [r["idcustomer"] for page in client.paginate("/customers", paginator=window,
               data_selector="data") for r in page]  # fmt: skip
        session.close()
        assert sorted(ids) == sorted(r.record["idcustomer"] for r in emu.truth("customers"))
        assert len(ids) == len(set(ids))
        assert max(session.held) <= 2 * PAGES_AHEAD_PER_WORKER
        assert session.refused > 0  # the window wanted more than the room: the cap held it


def test_a_collection_that_ends_early_forgets_the_pages_it_sent_ahead() -> None:
    with run_emulator("commerce", EmulatorOptions(scale=SCALE, faults=LATENCY)) as emu:
        session = RetryingSession(pool_size=16)
        auth = HTTPBasicAuth(emu.credentials["username"], emu.credentials["password"])
        client = RESTClient(base_url=emu.base_url, session=session, auth=auth)
        window = PageWindow(ShortPageOffsetPaginator(limit=PAGE), 15, session)
        copied = copy.deepcopy(window)  # as dlt copies a paginator per collection
        pages = cast(Generator[Any, None, None], client.paginate(
            "/customers", paginator=copied, data_selector="data"))  # fmt: skip
        del copied  # the collection's generator holds the only reference
        for _ in range(4):  # the window is open: pages past the 4th are on their way
            next(pages)
        assert session._prefetched
        pages.close()  # as dlt does with a generator it abandons (an error, Ctrl-C, a break)
        del pages
        assert not session._prefetched, "pages sent ahead outlived their collection"
        session.close()


def test_a_sync_closes_its_session_and_drops_what_it_sent_ahead(tmp_path: Path) -> None:
    with run_emulator("commerce", EmulatorOptions(scale=SCALE, faults=LATENCY)) as emu:
        values = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        source = build_source(get_connector("commerce").config(values), SourceOptions("commerce"))
        selected = source.with_resources("customers")  # a clone, sharing the session
        session = selected.resources["customers"].explicit_args["client"].session
        destination = dlt.destinations.duckdb(str(tmp_path / "c.duckdb"))
        sync(selected, SyncOptions(destination=destination))
        assert session._prefetch_pool is None and not session._prefetched
        assert close_sessions(source) == 1  # one session for the source and its clones


def test_a_claimed_page_still_queued_is_sent_by_the_claiming_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "requests")  # every page through the page pool's threads
    with run_emulator(
        "commerce", EmulatorOptions(scale=SCALE, faults=Faults(latency_ms=200))
    ) as emu:
        session = RetryingSession(pool_size=1)  # one pool thread: the second page waits for it
        session.auth = HTTPBasicAuth(emu.credentials["username"], emu.credentials["password"])
        url = emu.base_url + "/customers"
        first = session.prefetch(Request("GET", url, params={"limit": PAGE, "offset": 0}))
        second = session.prefetch(Request("GET", url, params={"limit": PAGE, "offset": PAGE}))
        queued = session._prefetched[second].future
        claiming = Request("GET", url, params={"limit": PAGE, "offset": PAGE})
        session.claim(claiming, second)
        response = session.send(session.prepare_request(claiming))
        truth = [r.record["idcustomer"] for r in emu.truth("customers")]
        assert [r["idcustomer"] for r in response.json()["data"]] == truth[PAGE : 2 * PAGE]
        assert queued.cancelled(), "the claimed page waited for the pool instead"
        assert set(session._prefetched) == {first}
        session.close()


def test_a_claimed_page_sent_by_its_own_thread_keeps_its_endpoints_retry_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "requests")  # every page through the page pool's threads
    retry_503 = RetryPolicy(statuses=frozenset({503}), max_retries=2, backoff_factor=0)
    never = RetryPolicy(statuses=frozenset(), max_retries=0)
    slow = EmulatorOptions(scale=1, faults=Faults(latency_ms=300))
    with run_emulator("commerce", slow) as emu, scripted_server() as server:
        server.script("/items", Reply(503, {"error": "busy"}), Reply(200, {"data": [7]}))
        session = RetryingSession({"items": retry_503}, never, pool_size=1)
        session.auth = HTTPBasicAuth(emu.credentials["username"], emu.credentials["password"])
        session.prefetch(Request("GET", emu.base_url + "/customers"))  # the one pool thread
        tagged = Request("GET", server.base_url + "/items", headers={ENDPOINT_HEADER: "items"})
        token = session.prefetch(tagged)
        queued = session._prefetched[token].future
        claiming = Request("GET", server.base_url + "/items", headers={ENDPOINT_HEADER: "items"})
        session.claim(claiming, token)
        response = session.send(session.prepare_request(claiming))
        assert queued.cancelled()  # sent by this thread, not the pool's
        assert response.status_code == 200 and response.json() == {"data": [7]}
        assert server.hits["/items"] == 2  # the 503 was retried by the endpoint's policy
        assert all(ENDPOINT_HEADER.lower() not in h for h in server.seen_headers)
        session.close()
