"""What every connector test does: sync a built-in connector against its running emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt

from restsync.emulators import Emulator, get_api
from restsync.emulators.process import EmulatorProcess
from restsync.sync import SyncOptions, SyncResult, sync_connector

JITTER = 2  # requests that may arrive together beyond the budget: the OS schedules both sides


def sync_emulated(
    name: str,
    emulator: Emulator,
    database: Path,
    *,
    settings: dict[str, str] | None = None,
    **options: Any,
) -> SyncResult:
    """Sync `name` from the emulator into a DuckDB file, credentials and settings from it (and
    `settings` over them)."""
    given = {**emulator.credentials, **emulator.settings, **(settings or {})}
    return _sync(name, {"base_url": emulator.base_url, **given}, database, **options)


def sync_from_process(
    name: str, emulator: EmulatorProcess, database: Path, **options: Any
) -> SyncResult:
    """`sync_emulated` against an emulator in its own process (its defaults' settings)."""
    api = get_api(name)
    given = {**api.credentials, **api.spec.default_settings()}
    return _sync(name, {"base_url": emulator.base_url, **given}, database, **options)


def _sync(name: str, overrides: dict[str, str], database: Path, **options: Any) -> SyncResult:
    destination = dlt.destinations.duckdb(str(database))
    return sync_connector(name, overrides, SyncOptions(destination=destination, **options))


def assert_within_budget(arrivals: list[float], rate: float, burst: int) -> None:
    """No window of the server's arrivals holds more than burst + rate x its length."""
    for i, start in enumerate(arrivals):
        for j in range(i, len(arrivals)):
            count, allowed = j - i + 1, burst + rate * (arrivals[j] - start) + JITTER
            assert count <= allowed, f"{count} requests in {arrivals[j] - start:.4f} s"
