"""commerce end to end: offset pages with no total, incremental by `updated`, nested lists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from restsync.connectors.commerce import a_second_earlier
from restsync.emulators import Emulator, EmulatorOptions, Faults, Outcome, run_emulator
from restsync.emulators.commerce import touch
from restsync.errors import SyncError
from restsync.sync import SyncResult
from tests.connectors.support import sync_emulated
from tests.truth import (
    assert_economical,
    child_table_rows,
    child_truth,
    diff,
    table_rows,
    truth_rows,
)

CONNECTOR = "commerce"
PAGE = 100  # the connector's page size (the server's cap)
NESTED = {"customers": ("addresses", "idcustomer"), "products": ("stock", "idproduct"),
          "orders": ("products", "idorder")}  # fmt: skip
RESOURCES = tuple(NESTED)


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with run_emulator(CONNECTOR) as emulator:
        yield emulator


def run(emulator: Emulator, folder: Path, **options: Any) -> SyncResult:
    return sync_emulated(CONNECTOR, emulator, folder / "shop.duckdb", **options)


def assert_equals_truth(emulator: Emulator, folder: Path) -> None:
    database = str(folder / "shop.duckdb")
    for resource, (field, key) in NESTED.items():
        loaded, truth = table_rows(database, CONNECTOR, resource), truth_rows(emulator, resource)
        assert loaded == truth, f"{resource}: {diff(loaded, truth)}"
        loaded = child_table_rows(database, CONNECTOR, resource, field, key)
        truth = child_truth(emulator, resource, field, key)
        assert loaded == truth, f"{resource}__{field}: {diff(loaded, truth)}"


def minimal_requests(count: int) -> int:
    """Pages the rules allow: full pages, then one short (possibly empty) page."""
    return count // PAGE + 1


def served(emulator: Emulator, resource: str) -> int:
    return emulator.requests.count(resource=resource, outcome=Outcome.SERVED)


def test_full_sync_equals_truth_with_minimal_requests(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)
    for resource in RESOURCES:
        assert served(emu, resource) == minimal_requests(len(emu.truth(resource)))


def test_second_sync_adds_no_duplicates(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)


@pytest.mark.parametrize("concurrency", [1, 16])
@pytest.mark.parametrize("count", [0, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 5 * PAGE + 1])
def test_page_boundaries(emu: Emulator, tmp_path: Path, count: int, concurrency: int) -> None:
    template = emu.truth("customers")[0].record
    emu.store.put(
        "customers", [{**template, "idcustomer": i, "addresses": []} for i in range(1, count + 1)]
    )
    emu.requests.clear()
    result = run(emu, tmp_path, resources=("customers",), concurrency=concurrency)
    assert result.table_rows.get("customers", 0) == count
    offsets = [e.query["offset"] for e in emu.requests.select(resource="customers")]
    needed = [str(PAGE * i) for i in range(minimal_requests(count))]
    if concurrency == 1:
        assert offsets == needed  # exactly the pages the stop rule needs, in order
    else:  # pages ahead: none twice, at most concurrency - 1 past the end
        assert set(needed) <= set(offsets)
        assert_economical(offsets, len(needed), concurrency)


def test_incremental_requests_only_what_changed(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    before = {r: max(s.record["updated"] for s in emu.truth(r)) for r in ("products", "orders")}
    first_product = emu.truth("products")[0].record["idproduct"]
    touch(emu.store, "products", first_product, {"name": "renamed"})
    touch(emu.store, "orders", emu.truth("orders")[3].record["idorder"], {"status": "shipped"})
    new_order = {**emu.truth("orders")[0].record, "idorder": 99999}
    emu.store.add("orders", new_order)
    touch(emu.store, "orders", 99999, {})
    emu.requests.clear()

    second = run(emu, tmp_path)

    for resource in ("products", "orders"):
        requests = emu.requests.select(resource=resource, outcome=Outcome.SERVED)
        asked = [r.query.get("updated_after") for r in requests]
        assert asked == [a_second_earlier(before[resource])]  # the newest second, read again
        # what changed, and the newest second's records read again (merged on their key)
        again = sum(1 for s in emu.truth(resource) if s.record["updated"] >= before[resource])
        assert second.loaded_rows[resource] == again
    assert_equals_truth(emu, tmp_path)


def test_an_edit_in_the_same_second_as_the_newest_loaded_is_read(
    emu: Emulator, tmp_path: Path
) -> None:
    run(emu, tmp_path)
    newest = max(s.record["updated"] for s in emu.truth("orders"))
    oldest = min(emu.truth("orders"), key=lambda s: s.record["updated"]).record["idorder"]
    # edited after the sync read the newest order, within the same second: `updated` ties
    emu.store.update("orders", {"idorder": oldest}, {"status": "edited", "updated": newest})
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)


def test_full_refresh_starts_over(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    emu.requests.clear()
    result = run(emu, tmp_path, full_refresh=True)
    requests = emu.requests.select(resource="products", outcome=Outcome.SERVED)
    assert requests[0].query["updated_after"] == "1970-01-01 00:00:00"
    assert result.table_rows["products"] == len(emu.truth("products"))


def test_a_full_refresh_of_a_selection_leaves_the_other_tables_alone(
    emu: Emulator, tmp_path: Path
) -> None:
    run(emu, tmp_path)
    touch(emu.store, "orders", emu.truth("orders")[0].record["idorder"], {"status": "edited"})
    emu.requests.clear()
    result = run(emu, tmp_path, resources=("products",), full_refresh=True)
    requests = emu.requests.select(resource="products", outcome=Outcome.SERVED)
    assert requests[0].query["updated_after"] == "1970-01-01 00:00:00"  # products: anew
    assert not emu.requests.select(resource="orders")
    assert result.table_rows["products"] == len(emu.truth("products"))
    database = str(tmp_path / "shop.duckdb")
    for resource in ("customers", "orders"):  # as the first run loaded them, not dropped
        assert sum(table_rows(database, CONNECTOR, resource).values()) == len(
            emu.truth(resource)
        ), resource
    emu.requests.clear()
    run(emu, tmp_path)  # orders' state was kept too: only the edit is read again
    orders = emu.requests.select(resource="orders", outcome=Outcome.SERVED)
    assert orders[0].query["updated_after"] != "1970-01-01 00:00:00"
    assert_equals_truth(emu, tmp_path)


def test_500_is_not_retried_and_loses_nothing(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    touch(emu.store, "products", emu.truth("products")[0].record["idproduct"], {"name": "new"})
    emu.set_faults(Faults(fail_rate=1.0, max_consecutive_failures=1))
    emu.requests.clear()
    with pytest.raises(SyncError) as info:
        run(emu, tmp_path)
    message = str(info.value)
    assert re.search(r"answered 50[0234] ", message), message
    assert "resource '" in message and emu.base_url in message
    failed = [
        (e.path, sorted(e.query.items())) for e in emu.requests.select(outcome=Outcome.FAILED)
    ]
    # the seed retries 429 only: no failed request was sent again (resources run side by side,
    # so each may have had its first request answered 5xx before the sync stopped)
    assert failed and all(failed.count(request) == 1 for request in failed), failed
    emu.set_faults(Faults())
    database = str(tmp_path / "shop.duckdb")
    assert sum(table_rows(database, CONNECTOR, "orders").values()) == len(emu.truth("orders"))
    run(emu, tmp_path)  # the next run picks up what the failed one could not
    assert_equals_truth(emu, tmp_path)


def test_429_storm_is_survived(tmp_path: Path) -> None:
    storm = Faults(rate_limit=4, rate_burst=1, quota_headers=False)
    with run_emulator(CONNECTOR, EmulatorOptions(scale=3, faults=storm)) as emulator:
        run(emulator, tmp_path)
        assert emulator.requests.count(status=429) >= 1
        assert_equals_truth(emulator, tmp_path)


def test_scale_100_equals_truth_with_minimal_requests(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR, EmulatorOptions(scale=100)) as emulator:
        run(emulator, tmp_path)
        assert_equals_truth(emulator, tmp_path)
        for resource in RESOURCES:
            offsets = [e.query["offset"] for e in emulator.requests.select(resource=resource)]
            minimal = minimal_requests(len(emulator.truth(resource)))
            assert_economical(offsets, minimal, concurrency=16)
