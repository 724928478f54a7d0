"""Children stream: a parent's child pages reach dlt one by one, not all at once at the end,
and the loaded data is the same at any concurrency."""

from __future__ import annotations

import time
from pathlib import Path

import dlt

from restsync.emulators import EmulatorOptions, Faults, run_emulator
from restsync.sync import SyncOptions, connector_source, sync
from tests.truth import diff, table_rows, truth_rows

API = "bi_workspace"
CHILD = "field_descriptions"  # paged by page number, 20 a page
PAGES = 10


def test_a_long_child_collection_streams_page_by_page(tmp_path: Path) -> None:
    faults = Faults(latency_ms=20)
    with run_emulator(API, EmulatorOptions(faults=faults)) as emu:
        key = emu.store.keys(CHILD)[0]
        template = emu.store.records(CHILD, key)[0]
        big = [{**template, "token": f"big{i:05d}", "name": f"f{i}"} for i in range(20 * PAGES)]
        emu.store.put(CHILD, big, key)
        values = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        database = str(tmp_path / "w.duckdb")
        options = SyncOptions(destination=dlt.destinations.duckdb(database), concurrency=8)
        source, _ = connector_source(API, values, options.source_options(API))
        arrivals: list[float] = []

        def seen(record: dict[str, str]) -> dict[str, str]:
            if record["token"].startswith("big"):
                arrivals.append(time.monotonic())
            return record

        source.resources[CHILD].add_map(seen)
        sync(source, options)
        loaded = table_rows(database, API, CHILD)
        truth = truth_rows(emu, CHILD, {"dataset_token": "dataset_token"})
        last_page = max(
            e.at for e in emu.requests.select(resource=CHILD) if e.query.get("page") == str(PAGES)
        )
    assert len(arrivals) == 20 * PAGES
    assert min(arrivals) < last_page, "the first page waited for the whole collection"
    assert loaded == truth, diff(loaded, truth)
