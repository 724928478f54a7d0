"""The dlt settings a sync runs with: worker count from --concurrency, uncompressed local files."""

from __future__ import annotations

import os
from pathlib import Path

import dlt
import pytest

from restsync.emulators import run_emulator
from restsync.sync import (
    EXTRACT_UNCOMPRESSED_ENV,
    EXTRACT_WORKERS_ENV,
    NORMALIZE_UNCOMPRESSED_ENV,
    run_environment,
    run_settings,
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
