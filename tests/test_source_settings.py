"""Concurrency and rate budget per source, from dlt's config: `sources.<name>.concurrency`,
`.rate_limit`, `.burst` (env or .dlt/config.toml); the flags and options win where set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dlt
import pytest

from restsync.connectors import get_connector
from restsync.emulators import EmulatorOptions, Faults, Outcome, run_emulator
from restsync.emulators.process import EmulatorProcess
from restsync.errors import ConfigError
from restsync.http.budget import RateLimit
from restsync.source import DEFAULT_CONCURRENCY, SourceOptions, build_source
from restsync.sync import SyncOptions, connector_source, rate_budget, sync, sync_connector
from tests.connectors.support import assert_within_budget, sync_emulated, sync_from_process

SCALE = 30  # commerce: 1,110 customers, 12 pages of 100
PAGE = 100
LATENCY = Faults(latency_ms=20)
RATE, BURST = 40.0, 4


def customers_in_flight(tmp_path: Path, **options: Any) -> tuple[int, list[int]]:
    """Sync commerce's customers; the most requests in flight, and the offsets asked for."""
    with run_emulator("commerce", EmulatorOptions(scale=SCALE, faults=LATENCY)) as emu:
        sync_emulated("commerce", emu, tmp_path / "c.duckdb", resources=("customers",), **options)
        served = emu.requests.select(resource="customers", outcome=Outcome.SERVED)
        return emu.max_in_flight, [int(e.query["offset"]) for e in served]


@pytest.mark.parametrize("setting", [1, 4])
def test_a_sources_concurrency_setting_bounds_its_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: int
) -> None:
    monkeypatch.setenv("SOURCES__COMMERCE__CONCURRENCY", str(setting))
    most, offsets = customers_in_flight(tmp_path)
    assert most <= setting
    if setting == 1:  # one page at a time: exactly the pages needed, in order
        assert offsets == [PAGE * i for i in range(SCALE * 37 // PAGE + 1)]
    else:
        assert most > 1


def test_the_option_wins_over_the_sources_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__COMMERCE__CONCURRENCY", "1")
    most, _ = customers_in_flight(tmp_path, concurrency=4)
    assert 1 < most <= 4


def test_a_sources_rate_limit_setting_is_its_hosts_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__BI_WORKSPACE__RATE_LIMIT", str(RATE))
    monkeypatch.setenv("SOURCES__BI_WORKSPACE__BURST", str(BURST))
    with EmulatorProcess("bi_workspace", "--latency-ms", "5") as emu:
        sync_from_process("bi_workspace", emu, tmp_path / "b.duckdb")
        stamps = emu.stats(arrivals=True)["arrivals"]
    assert len(stamps) > 100
    assert_within_budget(stamps, RATE, BURST)


def test_unset_settings_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("CONCURRENCY", "RATE_LIMIT", "BURST"):
        monkeypatch.delenv(f"SOURCES__COMMERCE__{key}", raising=False)
    assert SyncOptions().http_settings("commerce") == (DEFAULT_CONCURRENCY, None)
    monkeypatch.setenv("SOURCES__COMMERCE__RATE_LIMIT", "2.5")
    assert SyncOptions().http_settings("commerce") == (DEFAULT_CONCURRENCY, RateLimit(2.5, 1))
    given = SyncOptions(concurrency=3, rate_limit=RateLimit(9, 2))
    assert given.http_settings("commerce") == (3, RateLimit(9, 2))


@pytest.mark.parametrize(("value", "message"), [("abc", "must be a number"), ("0", "above 0")])
def test_a_bad_setting_says_where_it_was_read(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SOURCES__COMMERCE__CONCURRENCY", value)
    with pytest.raises(ConfigError, match=message) as raised:
        SyncOptions().http_settings("commerce")
    assert "SOURCES__COMMERCE__CONCURRENCY" in str(raised.value)


def test_each_flag_wins_over_its_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__COMMERCE__RATE_LIMIT", "3")
    monkeypatch.setenv("SOURCES__COMMERCE__BURST", "7")
    assert rate_budget("commerce") == RateLimit(3, 7)
    assert rate_budget("commerce", rate=2) == RateLimit(2, 7)  # the configured burst stays
    assert rate_budget("commerce", burst=5) == RateLimit(3, 5)  # the configured rate stays
    monkeypatch.delenv("SOURCES__COMMERCE__RATE_LIMIT")
    assert rate_budget("commerce") is None  # a burst alone sets no budget
    with pytest.raises(ConfigError, match="needs a rate"):
        rate_budget("commerce", burst=5)
    with pytest.raises(ConfigError, match="above 0"):
        rate_budget("commerce", rate=0)
    monkeypatch.setenv("SOURCES__COMMERCE__RATE_LIMIT", "nan")
    with pytest.raises(ConfigError, match="above 0"):
        rate_budget("commerce")
    with pytest.raises(ConfigError, match="at least 1"):
        SyncOptions(concurrency=0)


def test_the_extract_pool_is_as_wide_as_the_sources_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTRACT__WORKERS", raising=False)
    with run_emulator("commerce", EmulatorOptions(scale=1)) as emu:
        values = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        config = get_connector("commerce").config(values)
        source = build_source(config, SourceOptions("commerce", concurrency=3))
        workers: set[str | None] = set()

        def seen(row: dict[str, object]) -> dict[str, object]:
            workers.add(os.environ.get("EXTRACT__WORKERS"))  # read while the sync runs
            return row

        source.resources["customers"].add_map(seen)
        destination = dlt.destinations.duckdb(str(tmp_path / "w.duckdb"))
        sync(source.with_resources("customers"), SyncOptions(destination=destination))
    assert workers == {"3"}  # not the 16 SyncOptions would have chosen on its own


def test_a_config_file_reads_the_settings_under_its_source_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with run_emulator("commerce", EmulatorOptions(scale=SCALE, faults=LATENCY)) as emu:
        values = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        path = tmp_path / "shop.json"
        config = get_connector("commerce").config(values)  # as a user's file: no functions
        path.write_text(json.dumps(config, default=lambda function: None))
        monkeypatch.setenv("SOURCES__SHOP__CONCURRENCY", "1")
        destination = dlt.destinations.duckdb(str(tmp_path / "s.duckdb"))
        options = SyncOptions(destination=destination, resources=("customers",))
        sync_connector(str(path), {}, options)
        assert emu.max_in_flight == 1


def test_dlts_request_timeout_setting_bounds_a_request_that_never_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket
    import time

    from restsync.errors import SyncError

    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "0.5")
    silent = socket.socket()  # accepts connections (the kernel's backlog), never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    handler = {"retry_on_status_codes": [500], "max_retries": 0, "backoff_factor": 0}
    config = {
        "client": {"base_url": f"http://127.0.0.1:{port}"},
        "resources": [{"name": "items", "endpoint": {"path": "/items", "error_handler": handler}}],
    }
    options = SyncOptions(destination=dlt.destinations.duckdb(str(tmp_path / "t.duckdb")))
    started = time.monotonic()
    try:
        with pytest.raises(SyncError, match="ReadTimeout"):
            sync(build_source(config, SourceOptions(name="silent")), options)
    finally:
        silent.close()
    assert time.monotonic() - started < 20  # dlt's default (60 s) would still be waiting


@pytest.mark.parametrize(
    ("connector", "selected", "missing"),
    [
        ("hosting", ("deployments",), "deployment_events"),  # an incremental parent alone
        ("hosting", ("deployment_events",), "deployments"),  # its child alone: it runs too
        ("bi_workspace", ("reports", "report_runs"), "query_runs"),  # per-parent history
    ],
)
def test_a_selection_that_would_lose_children_for_good_is_refused(
    connector: str, selected: tuple[str, ...], missing: str
) -> None:
    values = {"base_url": "http://127.0.0.1:1", "access_token": "t", "api_token": "t"}
    values |= {"api_secret": "s", "workspace": "w"}
    source, _ = connector_source(connector, values)
    with pytest.raises(ConfigError, match=missing) as caught:
        sync(source, SyncOptions(resources=selected))
    assert "--resources" in str(caught.value)


def test_a_selection_that_leaves_out_a_grandchild_is_refused() -> None:
    from restsync.source import SourceOptions, build_source
    from restsync.sync import check_selection

    since = {"type": "incremental", "cursor_path": "updated", "initial_value": 0}
    config: dict[str, Any] = {
        "client": {"base_url": "http://127.0.0.1:1"},
        "resources": [
            {"name": "a", "endpoint": {"path": "/a", "params": {"since": since}}},
            {"name": "b", "endpoint": {"path": "/a/{resources.a.id}/b"}},
            {"name": "c", "endpoint": {"path": "/b/{resources.b.id}/c"}},
        ],
    }
    source = build_source(config, SourceOptions(name="family"))
    with pytest.raises(ConfigError, match=r"\['c'\]"):  # `a` moves on; `c` would never be read
        check_selection(source, ("a", "b"))
    check_selection(source, ("a", "b", "c"))


def test_a_selection_of_whole_families_or_stateless_parents_runs() -> None:
    from restsync.sync import check_selection

    hosting, _ = connector_source("hosting", {"base_url": "http://x", "access_token": "t"})
    check_selection(hosting, ("deployments", "deployment_events", "projects"))
    flags_values = {"base_url": "http://x", "username": "u", "password": "p"}
    flags, _ = connector_source("feature_flags", flags_values)
    check_selection(flags, ("products",))  # no state: its children are read in full next time
