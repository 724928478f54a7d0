"""The seed dialect run for real: a seed-format config against the toy emulator, into DuckDB.

Each test here fails without its translation: dlt rejects the key, guesses wrongly, requests
past the end, or loads nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import dlt
import pytest

from restsync import ConfigError, RetriesExhaustedError, SyncError, build_source
from restsync.emulators import Emulator, EmulatorOptions, run_emulator
from restsync.source import DEFAULT_CONCURRENCY, SourceOptions
from restsync.sync import SyncOptions, sync
from tests.emulators.toy_api import TOY_API
from tests.scripted_server import Reply, Scripted, scripted_server
from tests.truth import assert_economical, diff, table_rows, truth_rows


@pytest.fixture(scope="module")
def toy() -> Iterator[Emulator]:
    with run_emulator(TOY_API, EmulatorOptions(scale=1)) as emu:
        yield emu


def seed_config(emu: Emulator) -> dict[str, Any]:
    """Written the way the seeds write configs, dialect and all."""
    return {
        "client": {
            "base_url": emu.base_url,
            "auth": {"type": "basic", **emu.credentials},
        },
        "resource_defaults": {"write_disposition": "merge", "params": {"space": "main"}},
        "resources": [
            {
                "name": "items",
                "primary_key": "id",
                "endpoint": {
                    "path": "/items",
                    "data_selector": "data",
                    "paginator": {"type": "offset", "limit": 5, "offset_param": "offset"},
                    "error_handler": {
                        "retry_on_status_codes": [429],
                        "max_retries": 3,
                        "backoff_factor": 2,
                    },
                },
            },
            {
                "name": "children",
                "primary_key": "id",
                "endpoint": {
                    "path": "/items/{item_id}/children",
                    "data_selector": [],
                    "params": {"item_id": {"type": "resolve", "resource": "items", "field": "id"}},
                },
            },
            {
                "name": "pages",
                "primary_key": "id",
                "endpoint": {
                    "path": "/{space}/pages",
                    "data_selector": "_embedded.things",
                    "paginator": {
                        "type": "page_number",
                        "page_param": "page",
                        "start_from_page": 1,
                    },
                },
            },
            {
                "name": "events",
                "primary_key": "id",
                "endpoint": {
                    "path": "/events",
                    "data_selector": "events",
                    "paginator": {
                        "type": "cursor",
                        "limit": 20,
                        "cursor_param": "until",
                        "cursor_path": "pagination.next",
                    },
                },
            },
        ],
    }


def load(config: dict[str, Any], folder: Path, concurrency: int = DEFAULT_CONCURRENCY) -> str:
    database = str(folder / "toy_db.duckdb")
    options = SyncOptions(
        destination=dlt.destinations.duckdb(database), dataset_name="toy", concurrency=concurrency
    )
    sync(build_source(config, options.source_options("rest_api")), options)
    return database


@pytest.mark.parametrize("concurrency", [1, DEFAULT_CONCURRENCY])
def test_seed_dialect_config_loads_ground_truth_with_minimal_requests(
    toy: Emulator, tmp_path: Path, concurrency: int
) -> None:
    toy.requests.clear()
    database = load(seed_config(toy), tmp_path, concurrency=concurrency)
    for resource in ("items", "children", "pages", "events"):
        loaded, truth = table_rows(database, "toy", resource), truth_rows(toy, resource)
        assert loaded == truth, f"{resource}: {diff(loaded, truth)}"
    asked = {
        resource: [e.query.get(param, "") for e in toy.requests.select(resource=resource)]
        for resource, param in (("items", "offset"), ("pages", "page"))
    }
    # 12 items at limit 5: 5, 5, 2 -> the short page is the last; 45 pages at 20: 20, 20, 5
    for resource in ("items", "pages"):
        if concurrency == 1:
            assert len(asked[resource]) == 3
        else:  # pages fetched ahead: none twice, at most concurrency - 1 past the end
            assert_economical(asked[resource], 3, concurrency)
    # cursor pages of `limit=20` (the paginator's `limit`, sent as a param): 20, 20, 7
    events = toy.requests.select(resource="events")
    assert [e.query.get("limit") for e in events] == ["20", "20", "20"]
    assert toy.requests.select(resource="pages")[0].query.get("page") == "1"


def test_unfilled_placeholder_fails_before_any_request(toy: Emulator) -> None:
    config = seed_config(toy)
    del config["resources"][1]["endpoint"]["params"]
    toy.requests.clear()
    with pytest.raises(ConfigError, match=r"resource 'children', key 'endpoint.path'.*\{item_id\}"):
        build_source(config)
    assert len(toy.requests) == 0


@pytest.fixture()
def scripted() -> Iterator[Scripted]:
    with scripted_server() as state:
        yield state


def two_policies(base_url: str) -> dict[str, Any]:
    def resource(name: str, statuses: list[int]) -> dict[str, Any]:
        handler = {"retry_on_status_codes": statuses, "max_retries": 2, "backoff_factor": 0}
        return {"name": name, "endpoint": {"path": f"/{name}", "error_handler": handler}}

    return {
        "client": {"base_url": base_url},
        "resource_defaults": {"endpoint": {"data_selector": "data"}},
        "resources": [resource("only429", [429]), resource("only503", [503])],
    }


def test_each_endpoint_retries_by_its_own_policy(scripted: Scripted, tmp_path: Path) -> None:
    scripted.script("/only503", Reply(503), Reply(503), Reply(200, {"data": [{"id": 1}]}))
    scripted.script("/only429", Reply(503), Reply(200, {"data": [{"id": 2}]}))
    source = build_source(two_policies(scripted.base_url))
    options = SyncOptions(destination=dlt.destinations.duckdb(str(tmp_path / "p.duckdb")))
    sync(source.with_resources("only503"), options)
    assert scripted.hits["/only503"] == 3
    with pytest.raises(SyncError, match=r"resource 'only429'.*503"):
        sync(source.with_resources("only429"), options)
    assert scripted.hits["/only429"] == 1  # 503 is not in this endpoint's list


def test_gives_up_after_max_retries_naming_resource_url_and_attempts(
    scripted: Scripted, tmp_path: Path
) -> None:
    scripted.script("/only503", Reply(503))
    source = build_source(two_policies(scripted.base_url)).with_resources("only503")
    options = SyncOptions(destination=dlt.destinations.duckdb(str(tmp_path / "p.duckdb")))
    with pytest.raises(SyncError) as info:
        sync(source, options)
    message = str(info.value)
    assert "resource 'only503'" in message and f"{scripted.base_url}/only503" in message
    assert "after 3 attempts (2 retries)" in message
    assert isinstance(info.value.__cause__, Exception)
    assert any(isinstance(c, RetriesExhaustedError) for c in _chain(info.value)), (
        "the root cause is kept"
    )
    assert scripted.hits["/only503"] == 3


def _chain(exc: BaseException) -> Iterator[BaseException]:
    from restsync.sync import _causes

    return _causes(exc)


def test_an_auto_paginator_pages_and_its_selector_is_still_checked(tmp_path: Path) -> None:
    with scripted_server() as api:
        api.script("/items", Reply(body={"data": [{"id": 1}], "next": f"{api.base_url}/items2"}))
        api.script("/items2", Reply(body={"data": [{"id": 2}], "next": None}))
        endpoint: dict[str, Any] = {"path": "/items", "paginator": "auto", "data_selector": "data"}
        config = {
            "client": {"base_url": api.base_url},
            "resources": [{"name": "items", "endpoint": endpoint}],
        }
        destination = dlt.destinations.duckdb(str(tmp_path / "detected.duckdb"))
        result = sync(
            build_source(config, SourceOptions(name="auto")), SyncOptions(destination=destination)
        )
        assert result.table_rows["items"] == 2  # dlt's detector found the `next` link
        endpoint["data_selector"] = "nothere"
        with pytest.raises(SyncError, match="data_selector 'nothere' found nothing"):
            sync(
                build_source(config, SourceOptions(name="auto")),
                SyncOptions(destination=destination),
            )


def _thread_of(name: str, seen: dict[str, set[str]]) -> Any:
    """A response action noting the thread each of the resource's requests was sent from."""

    def record(response: Any) -> None:
        seen.setdefault(name, set()).add(threading.current_thread().name)

    return record


def test_a_lone_top_level_resource_runs_in_dlts_main_loop_and_several_side_by_side(
    toy: Emulator, tmp_path: Path
) -> None:
    """Several top-level resources are read side by side in dlt's extract pool, and so is a
    parent whose children run (its next page comes while the main loop feeds them); one alone
    is read in dlt's main loop, sparing each page a hop through the pool."""
    seen: dict[str, set[str]] = {}
    config = seed_config(toy)
    for resource in config["resources"]:
        if resource["name"] in ("events", "pages", "items"):  # first pages: in dlt's thread
            resource["endpoint"]["response_actions"] = [_thread_of(resource["name"], seen)]
    database = dlt.destinations.duckdb(str(tmp_path / "toy_db.duckdb"))

    def run(*selection: str) -> None:
        seen.clear()
        options = SyncOptions(destination=database, dataset_name="toy", resources=selection)
        sync(build_source(config, options.source_options("rest_api")), options)

    run("events", "pages")
    assert set(seen) == {"events", "pages"}
    assert "MainThread" not in seen["events"] | seen["pages"], seen
    run("events")
    assert seen == {"events": {"MainThread"}}
    run("items", "children", "pages")  # two parents run: side by side again
    assert "MainThread" not in seen["pages"] | seen["items"], seen
    run("children")  # one parent, with its children
    assert "MainThread" not in seen["items"], seen
    run("items")  # alone
    assert "MainThread" in seen["items"], seen


def test_a_parallelized_setting_in_the_config_is_kept_as_written(
    toy: Emulator, tmp_path: Path
) -> None:
    seen: dict[str, set[str]] = {}
    config = seed_config(toy)
    written = {"events": False, "pages": True}
    for resource in config["resources"]:
        if resource["name"] in written:
            resource["endpoint"]["response_actions"] = [_thread_of(resource["name"], seen)]
            resource["parallelized"] = written[resource["name"]]
    database = str(tmp_path / "toy_db.duckdb")

    def run(*selection: str, parallelized: bool = False) -> None:
        seen.clear()
        options = SyncOptions(
            destination=dlt.destinations.duckdb(database), dataset_name="toy", resources=selection
        )
        source_options = replace(options.source_options("rest_api"), parallelized=parallelized)
        sync(build_source(config, source_options), options)

    run("events", "pages", "items", "children")
    assert seen["events"] == {"MainThread"}, seen  # side by side but for the one set to false
    assert "MainThread" not in seen["pages"], seen
    run("pages")  # alone, but set to true (which dlt 1.31's rest_api loses for a parent)
    assert "MainThread" not in seen["pages"], seen
    truth = truth_rows(toy, "pages")
    assert table_rows(database, "toy", "pages") == truth
    run("events", parallelized=True)  # the option wins over the config
    assert "MainThread" not in seen["events"], seen


def test_a_parallelized_default_applies_to_every_resource_without_its_own(
    toy: Emulator, tmp_path: Path
) -> None:
    seen: dict[str, set[str]] = {}
    config = seed_config(toy)
    config.setdefault("resource_defaults", {})["parallelized"] = False
    for resource in config["resources"]:
        if resource["name"] in ("events", "pages"):
            resource["endpoint"]["response_actions"] = [_thread_of(resource["name"], seen)]
    options = SyncOptions(
        destination=dlt.destinations.duckdb(str(tmp_path / "toy_db.duckdb")),
        dataset_name="toy",
        resources=("events", "pages"),
    )
    sync(build_source(config, options.source_options("rest_api")), options)
    # each one's first page from dlt's main loop, not side by side in its pool (the pages a
    # window sends ahead go from restsync's page pool either way)
    assert "MainThread" in seen["events"] and "MainThread" in seen["pages"], seen


@pytest.mark.parametrize("base_url", ["127.0.0.1:8080/v1", "ftp://127.0.0.1/v1"])
def test_a_base_url_without_http_is_refused_before_any_request(base_url: str) -> None:
    config = {"client": {"base_url": base_url}, "resources": ["items"]}
    with pytest.raises(ConfigError) as info:
        build_source(config)
    message = str(info.value)
    assert "client.base_url" in message and base_url in message, message
    assert "https://127.0.0.1" in message, message  # what to write instead


def test_a_destination_that_cannot_be_opened_is_explained(toy: Emulator, tmp_path: Path) -> None:
    database = str(tmp_path / "gone" / "toy_db.duckdb")  # a folder that does not exist
    options = SyncOptions(destination=dlt.destinations.duckdb(database), dataset_name="toy")
    with pytest.raises(SyncError) as info:
        sync(build_source(seed_config(toy), options.source_options("rest_api")), options)
    message = str(info.value)
    assert "could not open the destination" in message, message
    assert "DESTINATION__DUCKDB__CREDENTIALS" in message and "unexpected" not in message, message
