"""The dlt settings a sync runs with: worker count from --concurrency, uncompressed local files,
the heap frozen for the run."""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import Iterator
from pathlib import Path

import dlt
import pytest

from restsync.emulators import run_emulator
from restsync.sync import (
    EXTRACT_UNCOMPRESSED_ENV,
    EXTRACT_WORKERS_ENV,
    NORMALIZE_UNCOMPRESSED_ENV,
    SyncOptions,
    run_environment,
    run_settings,
    sync,
)
from tests.connectors.support import sync_emulated


def test_local_destinations_skip_compression(tmp_path: Path) -> None:
    pipeline = dlt.pipeline("settings_duckdb", destination="duckdb", pipelines_dir=str(tmp_path))
    settings = run_settings(pipeline, 16)
    assert settings[EXTRACT_WORKERS_ENV] == "16"
    assert settings[EXTRACT_UNCOMPRESSED_ENV] == settings[NORMALIZE_UNCOMPRESSED_ENV] == "true"


def test_filesystem_output_stays_compressed(tmp_path: Path) -> None:
    destination = dlt.destinations.filesystem(bucket_url=str(tmp_path / "bucket"))
    pipeline = dlt.pipeline("settings_fs", destination=destination, pipelines_dir=str(tmp_path))
    settings = run_settings(pipeline, 4)
    assert NORMALIZE_UNCOMPRESSED_ENV not in settings  # the files are what the user keeps
    assert settings[EXTRACT_UNCOMPRESSED_ENV] == "true"  # extract's files never leave


def test_the_environment_is_restored_and_the_users_choice_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NORMALIZE_UNCOMPRESSED_ENV, "false")
    monkeypatch.delenv(EXTRACT_UNCOMPRESSED_ENV, raising=False)
    monkeypatch.delenv(EXTRACT_WORKERS_ENV, raising=False)
    with run_emulator("feature_flags") as emu:
        result = sync_emulated("feature_flags", emu, tmp_path / "f.duckdb", concurrency=3)
    assert sum(result.table_rows.values()) > 0
    assert os.environ[NORMALIZE_UNCOMPRESSED_ENV] == "false"
    assert EXTRACT_UNCOMPRESSED_ENV not in os.environ
    assert EXTRACT_WORKERS_ENV not in os.environ


def test_dlt_reads_the_settings_extract_and_normalize_write_plain_files(tmp_path: Path) -> None:
    pipeline = dlt.pipeline("settings_files", destination="duckdb", pipelines_dir=str(tmp_path))
    with run_environment(run_settings(pipeline, 2)):
        pipeline.extract([{"a": i} for i in range(10)], table_name="t", loader_file_format="jsonl")
        extracted = {p.name: p.read_bytes() for p in tmp_path.glob("**/t.*") if p.is_file()}
        pipeline.normalize()
        normalized = {
            p.name: p.read_bytes() for p in tmp_path.glob("**/normalized/**/t.*") if p.is_file()
        }
    assert extracted and normalized
    for name, content in {**extracted, **normalized}.items():
        assert content[:2] != b"\x1f\x8b", f"{name} is gzipped"


class _Cycle:
    """Garbage only the cycle collector can free."""

    def __init__(self) -> None:
        self.me = self


def _sync_recording_freeze(tmp_path: Path, name: str) -> list[int]:
    """Sync a one-resource source; the freeze count the resource saw while extracted."""
    seen: list[int] = []

    @dlt.resource(name="rows")
    def rows() -> Iterator[dict[str, int]]:
        seen.append(gc.get_freeze_count())
        yield from ({"id": i} for i in range(10))

    @dlt.source(name=name)
    def source() -> object:
        return rows

    destination = dlt.destinations.duckdb(str(tmp_path / "runs.duckdb"))  # not the dataset name
    result = sync(source(), SyncOptions(destination=destination, pipelines_dir=str(tmp_path)))
    assert result.loaded_rows == {"rows": 10}
    return seen


def test_the_heap_is_frozen_during_a_run_and_its_garbage_collected_after(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    garbage = weakref.ref(_Cycle())  # unreachable, not yet collected: frozen with the rest
    seen = _sync_recording_freeze(tmp_path, "frozen")
    assert seen and seen[0] > 0  # full collections skipped the old heap while rows flowed
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert garbage() is None  # unfrozen afterwards: nothing leaks


def test_a_heap_the_caller_froze_stays_frozen(tmp_path: Path) -> None:
    garbage = weakref.ref(_Cycle())
    gc.freeze()
    try:
        _sync_recording_freeze(tmp_path, "callers")
        gc.collect()
        assert garbage() is not None  # still frozen: the run did not unfreeze the caller's heap
    finally:
        gc.unfreeze()
    gc.collect()
    assert garbage() is None
