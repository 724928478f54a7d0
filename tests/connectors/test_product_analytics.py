"""product_analytics end to end: paged children per product, `/v3/v1` URLs, evolving schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from restsync.emulators import Emulator, EmulatorOptions, Faults, Outcome, run_emulator
from restsync.emulators.product_analytics import FIRST_SEEN_FIELD
from restsync.errors import SyncError
from restsync.sync import SyncResult
from tests.connectors.support import sync_emulated
from tests.truth import (
    child_table_rows,
    child_truth,
    diff,
    query,
    table_rows,
    truth_rows,
)

CONNECTOR = "product_analytics"
PAGE = 100
RESOURCES = ("products", "reports", "events", "properties")
CHILDREN = ("reports", "events", "properties")
PRODUCT = {"product_id": "_products_id"}  # the product a child was served under, kept by dlt


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with run_emulator(CONNECTOR) as emulator:
        yield emulator


def run(emulator: Emulator, folder: Path, **options: Any) -> SyncResult:
    return sync_emulated(CONNECTOR, emulator, folder / "pa.duckdb", **options)


def assert_equals_truth(emulator: Emulator, folder: Path) -> None:
    database = str(folder / "pa.duckdb")
    for resource in RESOURCES:
        loaded = table_rows(database, CONNECTOR, resource)
        truth = truth_rows(emulator, resource, PRODUCT if resource in CHILDREN else None, int)
        assert loaded == truth, f"{resource}: {diff(loaded, truth)}"
    loaded = child_table_rows(database, CONNECTOR, "events", "property_indices", "id")
    truth = child_truth(emulator, "events", "property_indices", "id")
    assert loaded == truth, f"events__property_indices: {diff(loaded, truth)}"


def test_full_sync_equals_truth_with_minimal_requests(emu: Emulator, tmp_path: Path) -> None:
    emu.requests.clear()
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)
    assert emu.requests.count(resource="products", outcome=Outcome.SERVED) == 1
    for resource in CHILDREN:
        per_product: dict[str, int] = {}
        for served in emu.truth(resource):
            key = served.params["product_id"]
            per_product[key] = per_product.get(key, 0) + 1
        minimal = sum(n // PAGE + 1 for n in per_product.values())
        minimal += sum(1 for s in emu.truth("products") if str(s.record["id"]) not in per_product)
        assert emu.requests.count(resource=resource, outcome=Outcome.SERVED) == minimal
    paths = {e.path for e in emu.requests.entries()}
    assert all(p.startswith("/v3/v1/products") for p in paths)


def test_a_child_without_product_id_keeps_its_product(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    orphans = [s for s in emu.truth("events") if s.record.get("product_id") is None]
    assert orphans  # the emulator serves some, as the seed allows
    loaded = dict(
        query(
            str(tmp_path / "pa.duckdb"),
            "SELECT id, _products_id FROM product_analytics.events WHERE product_id IS NULL",
        )
    )
    assert loaded == {s.record["id"]: int(s.params["product_id"]) for s in orphans}


def test_properties_gain_columns_as_fields_appear(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    database = str(tmp_path / "pa.duckdb")
    loaded = query(
        database,
        f"SELECT id, {FIRST_SEEN_FIELD} FROM product_analytics.properties"
        f" WHERE {FIRST_SEEN_FIELD} IS NOT NULL",
    )
    truth = {
        (s.record["id"], s.record[FIRST_SEEN_FIELD])
        for s in emu.truth("properties")
        if FIRST_SEEN_FIELD in s.record
    }
    assert truth and set(loaded) == truth
    columns = {
        c
        for (c,) in query(
            database,
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'product_analytics' AND table_name = 'properties'",
        )
    }
    assert {"source__kind", "is_custom", "ratio", FIRST_SEEN_FIELD} <= columns
    assert not any("__v_" in c for c in columns)  # no value had to be coerced into a variant


def test_second_sync_adds_no_duplicates(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)


def test_500_is_not_retried(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR, EmulatorOptions(faults=Faults(fail_rate=1.0))) as emulator:
        with pytest.raises(SyncError, match=r"resource 'products'.*answered 50[0234]"):
            run(emulator, tmp_path)
        assert emulator.requests.count(outcome=Outcome.FAILED) == 1


def test_scale_100_equals_truth(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR, EmulatorOptions(scale=100)) as emulator:
        run(emulator, tmp_path)
        assert_equals_truth(emulator, tmp_path)
