"""Secrets never land in logs, dlt's state and traces, load packages or loaded data."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import dlt
import pytest

from restsync.emulators import EmulatorOptions, Faults, run_emulator
from restsync.errors import CredentialsError
from restsync.sync import SyncOptions, sync_connector

PASSWORD_MARK = "s3cret-pa55word-mark"


def test_no_secret_in_logs_state_trace_or_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "0.1")
    with run_emulator("feature_flags", EmulatorOptions(faults=Faults(fail_rate=0.3))) as emu:
        username = emu.credentials["username"]
        # a wrong password first (fails), then the right one: both must stay unseen
        wrong = {"base_url": emu.base_url, "username": username, "password": PASSWORD_MARK}
        destination = dlt.destinations.duckdb(str(tmp_path / "s.duckdb"))
        with pytest.raises(CredentialsError):
            sync_connector("feature_flags", wrong, SyncOptions(destination=destination))
        # the right one through dlt's config system, as users set it
        monkeypatch.setenv("SOURCES__FEATURE_FLAGS__USERNAME", username)
        monkeypatch.setenv("SOURCES__FEATURE_FLAGS__PASSWORD", emu.credentials["password"])
        base_url = {"base_url": emu.base_url}
        sync_connector("feature_flags", base_url, SyncOptions(destination=destination))
    secrets = [PASSWORD_MARK, emu.credentials["password"]]
    secrets += [base64.b64encode(f"{username}:{s}".encode()).decode() for s in list(secrets)]
    scanned = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"trace.pickle", "state.json", "s.duckdb"} <= scanned  # dlt's files are in reach
    for secret in secrets:
        assert secret not in caplog.text
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret!r} found in {path}"
