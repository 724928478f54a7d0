"""What every connector test does: sync a built-in connector against its running emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt

from restsync.emulators import Emulator
from restsync.sync import SyncOptions, SyncResult, sync_connector


def sync_emulated(name: str, emulator: Emulator, database: Path, **options: Any) -> SyncResult:
    """Sync `name` from the emulator into a DuckDB file, credentials and settings from it."""
    overrides = {"base_url": emulator.base_url, **emulator.credentials, **emulator.settings}
    destination = dlt.destinations.duckdb(str(database))
    return sync_connector(name, overrides, SyncOptions(destination=destination, **options))
