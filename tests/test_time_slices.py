"""Time slices: hosting's deployments (a newest-first time cursor with a `since` bound) read as
disjoint time ranges side by side: every record once, within the concurrency bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from dlt.destinations import duckdb
from dlt.sources.helpers.rest_client.client import RESTClient
from typer.testing import CliRunner

from restsync.cli import app
from restsync.config.dialect import translate
from restsync.config.lint import lint_file
from restsync.emulators import EmulatorOptions, Faults, run_emulator
from restsync.errors import ConfigError
from restsync.http.session import RetryingSession
from restsync.http.slices import TimeCursorPaginator, TimeSlices, time_cursor
from restsync.sync import SyncOptions, connector_source, sync
from tests.scripted_server import Reply, scripted_server
from tests.truth import diff, table_rows, truth_rows

API = "hosting"
SCALE = 40  # 2,000 deployments: 20 pages of 100


def sync_deployments(tmp_path: Path, concurrency: int) -> tuple[int, int, int, int]:
    """Rows extracted (before merge), records served, requests, the most requests at once."""
    with run_emulator(API, EmulatorOptions(scale=SCALE, faults=Faults(latency_ms=10))) as emu:
        database = tmp_path / "h.duckdb"
        overrides = {"base_url": emu.base_url, **emu.credentials}
        options = SyncOptions(destination=duckdb(str(database)), concurrency=concurrency)
        source, _ = connector_source(API, overrides, options.source_options(API))
        # deployments alone, through dlt's own selection: `resources=` would refuse to move
        # their cursor without their events (check_selection)
        result = sync(source.with_resources("deployments"), options)
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


def test_a_record_at_a_split_time_is_read_once(tmp_path: Path) -> None:
    with run_emulator(API, EmulatorOptions(scale=SCALE, faults=Faults(latency_ms=5))) as emu:
        records = emu.store.records("deployments")
        for offset, record in enumerate(records):  # one a millisecond from the epoch on:
            record["createdAt"] = offset + 1  # halving [0, until) lands on records
        emu.store.put("deployments", records)
        database = tmp_path / "h.duckdb"
        overrides = {"base_url": emu.base_url, **emu.credentials}
        options = SyncOptions(destination=duckdb(str(database)), concurrency=8)
        source, _ = connector_source(API, overrides, options.source_options(API))
        result = sync(source.with_resources("deployments"), options)
        loaded = table_rows(str(database), API, "deployments")
        truth = truth_rows(emu, "deployments")
    assert loaded == truth, diff(loaded, truth)
    assert result.loaded_rows["deployments"] == len(records)  # none missed, none twice


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


def deployments_yaml(disposition: str = "merge", **paginator: Any) -> str:
    """hosting's deployments as a user writes them, the cursor a time bounded by `since`."""
    cursor = {"type": "cursor", "cursor_path": "pagination.next", "cursor_param": "until",
              "limit": 100, **paginator}  # fmt: skip
    return yaml.safe_dump(
        {
            "client": {
                "base_url": 'dlt.config["base_url"]',
                "auth": {"type": "bearer", "token": 'dlt.secrets["access_token"]'},
            },
            "resources": [
                {
                    "name": "deployments",
                    "primary_key": "uid",
                    "write_disposition": disposition,
                    "endpoint": {
                        "path": "/v6/deployments",
                        "data_selector": "deployments",
                        "paginator": cursor,
                    },
                }
            ],
        }
    )


def test_a_user_config_asks_for_time_ranges_with_since_param(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hosting_mine.yaml"
    path.write_text(deployments_yaml("append", since_param="since"))  # a repeat would stay
    findings = {f.rule: f for f in lint_file(path)}
    assert "RS101" not in findings  # a key the dialect knows
    assert "time ranges read side by side" in findings["RS102"].message
    database = tmp_path / "mine.duckdb"
    with run_emulator(API, EmulatorOptions(scale=SCALE, faults=Faults(latency_ms=10))) as emu:
        monkeypatch.setenv("SOURCES__HOSTING_MINE__BASE_URL", emu.base_url)
        monkeypatch.setenv("SOURCES__HOSTING_MINE__ACCESS_TOKEN", emu.credentials["access_token"])
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(database))
        result = CliRunner().invoke(app, ["sync", str(path), "--concurrency", "8"])
        assert result.exit_code == 0, result.output
        truth = truth_rows(emu, "deployments")
        sent = emu.requests.select(resource="deployments")
        most = emu.max_in_flight
    loaded = table_rows(str(database), "hosting_mine", "deployments")
    assert loaded == truth, diff(loaded, truth)
    assert 1 < most <= 8  # ranges side by side, within the concurrency
    assert len(sent) <= -(-len(truth) // 100) + 8


@pytest.mark.parametrize(
    ("paginator", "key", "says"),
    [
        (
            {"since_param": "since", "cursor_param": None},
            "endpoint.paginator.cursor_param",
            "needs `cursor_param`",
        ),
        (
            {"since_param": "since", "cursor_body_path": "next"},
            "endpoint.paginator.cursor_body_path",
            "in the body",
        ),
        ({"since_param": 7}, "endpoint.paginator.since_param", "lower bound"),
        ({"since_param": "until"}, "endpoint.paginator.since_param", "both `until`"),
        ({"since_param": "since", "stop_at": 3}, "endpoint.paginator", "stop_at"),
    ],
)
def test_a_time_cursor_that_cannot_work_is_a_config_error(
    paginator: dict[str, Any], key: str, says: str, tmp_path: Path
) -> None:
    config = yaml.safe_load(deployments_yaml(**paginator))
    config["client"] = {"base_url": "http://127.0.0.1:1"}
    cursor = config["resources"][0]["endpoint"]["paginator"]
    for name, value in paginator.items():
        if value is None:
            del cursor[name]
    with pytest.raises(ConfigError, match=says) as raised:
        translate(config)
    assert raised.value.resource == "deployments" and raised.value.key == key
    if "stop_at" not in paginator:  # lint says so too, at the same key, as an error
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(config))
        errors = [f for f in lint_file(path) if f.rule in ("RS103", "RS104")]
        assert [f.path.rsplit(".", 1)[-1] for f in errors] == [key.rsplit(".", 1)[-1]]


def test_since_param_at_the_client_is_an_error_in_lint_and_in_translation(
    tmp_path: Path,
) -> None:
    config = yaml.safe_load(deployments_yaml())
    cursor = config["resources"][0]["endpoint"].pop("paginator")
    config["client"] = {
        "base_url": "http://127.0.0.1:1",
        "paginator": {**cursor, "since_param": "s"},
    }
    with pytest.raises(ConfigError, match=r"resource_defaults\.endpoint\.paginator") as raised:
        translate(config)
    assert raised.value.key == "client.paginator.since_param"
    path = tmp_path / "client.yaml"
    path.write_text(yaml.safe_dump(config))
    assert [(f.rule, f.path) for f in lint_file(path) if f.rule == "RS103"] == [
        ("RS103", "client.paginator.since_param")
    ]


def test_since_param_makes_the_translated_paginator_a_time_cursor() -> None:
    config = yaml.safe_load(deployments_yaml(since_param="since", has_more_path="more"))
    config["client"] = {"base_url": "http://127.0.0.1:1"}
    translation = translate(config)
    cursor = time_cursor(translation.config["resources"][0]["endpoint"]["paginator"])
    assert cursor is not None
    assert (cursor.cursor_param, cursor.since_param) == ("until", "since")
    assert cursor.has_more_path is not None  # dlt's own options are kept
    assert translation.config["resources"][0]["endpoint"]["params"] == {"limit": 100}
    assert any("since_param" in note for note in translation.notes)
