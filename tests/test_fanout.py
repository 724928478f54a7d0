"""Children stream: a parent's child pages reach dlt one by one, not all at once at the end,
and the loaded data is the same at any concurrency."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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


def test_a_finished_child_collection_lets_go_of_its_pages() -> None:
    import gc

    from requests import Response

    from restsync.source import SourceOptions, build_source
    from tests.scripted_server import Reply, scripted_server

    parents = 60
    with scripted_server() as api:
        for parent in range(parents):
            api.script(f"/kids/{parent}", Reply(body={"data": [{"id": 1, "blob": "x" * 9_999}]}))
        config: dict[str, Any] = {
            "client": {"base_url": api.base_url},
            "resources": [
                {"name": "parents", "endpoint": {"path": "/parents"}},
                {
                    "name": "kids",
                    "endpoint": {
                        "path": "/kids/{resources.parents.id}",
                        "data_selector": "data",
                        "paginator": {"type": "offset", "limit": 10},  # one short page each
                    },
                },
            ],
        }
        source = build_source(config, SourceOptions(concurrency=16))
        step: Any = source.resources["kids"]._pipe.gen  # the fan-out step dlt's pipe calls
        tasks = step([{"id": i} for i in range(parents)])
        done, alive = 0, []
        for task in tasks:  # as dlt's pool runs them, one at a time here, results dropped
            if task is None:
                continue
            task()
            done += 1
            if done % 20 == 0:
                gc.collect()
                alive.append(sum(isinstance(o, Response) for o in gc.get_objects()))
    assert done == parents
    assert max(alive) <= 2, alive  # not one response per child read so far


def test_a_child_naming_its_parent_in_query_params_is_fanned_out() -> None:
    from restsync.fanout import _ChildPages
    from restsync.source import SourceOptions, build_source

    config = {
        "client": {"base_url": "http://127.0.0.1:1"},
        "resources": [
            {"name": "parents", "endpoint": {"path": "/parents"}},
            {
                "name": "kids",
                "endpoint": {"path": "/kids", "params": {"parent": "{resources.parents.id}"}},
            },
        ],
    }
    source = build_source(config, SourceOptions(concurrency=8))
    assert isinstance(source.resources["kids"]._pipe.gen, _ChildPages)  # not one parent at a time


def test_a_child_with_an_incremental_param_sends_its_cursor(tmp_path: Path) -> None:
    from restsync.source import SourceOptions, build_source
    from tests.scripted_server import Reply, scripted_server

    with scripted_server() as api:
        api.script("/parents", Reply(body={"data": [{"id": 1}, {"id": 2}]}))
        for parent in (1, 2):
            kids = [{"id": f"{parent}-{i}", "updated": 10 * parent + i} for i in range(3)]
            api.script(f"/kids/{parent}", Reply(body={"data": kids}))
        config: dict[str, Any] = {
            "client": {"base_url": api.base_url},
            "resource_defaults": {
                "endpoint": {"data_selector": "data", "paginator": "single_page"}
            },
            "resources": [
                {"name": "parents", "endpoint": {"path": "/parents"}},
                {
                    "name": "kids",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "/kids/{resources.parents.id}",
                        "params": {
                            "since": {
                                "type": "incremental",
                                "cursor_path": "updated",
                                "initial_value": 0,
                            }
                        },
                    },
                },
            ],
        }
        options = SyncOptions(destination=dlt.destinations.duckdb(str(tmp_path / "k.duckdb")))
        for _ in range(2):
            sync(build_source(config, SourceOptions(concurrency=8)), options)
        queries = {path: api.queries[path] for path in ("/kids/1", "/kids/2")}
    # the first run from the initial value, the second from the highest cursor loaded
    assert queries == {"/kids/1": ["since=0", "since=22"], "/kids/2": ["since=0", "since=22"]}
