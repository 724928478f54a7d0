"""Shared fixtures: isolated dlt state per test, and a throwaway PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import find_pg_bin, postgres_cluster


@pytest.fixture(autouse=True)
def isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in its own folder: no dlt state, DuckDB file or secrets leak between tests."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_data"))
    for name in ("RUNTIME__LOG_LEVEL",):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on loopback for the whole session (skipped where none is installed)."""
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries are not installed")
    with postgres_cluster() as url:
        yield url
