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


QUERY_MARK = "q-s3cret/value+mark"  # quoted as %2F and %2B on the wire


def _yaml_config(tmp_path: Path, base_url: str) -> Path:
    import yaml

    config = {
        "client": {"base_url": base_url},
        "resources": [
            {
                "name": "items",
                "endpoint": {
                    "path": "/items",
                    "data_selector": "data",
                    "params": {"sig": 'dlt.secrets["sig"]'},  # a name dlt does not mask
                    "error_handler": {
                        "retry_on_status_codes": [500],
                        "max_retries": 1,
                        "backoff_factor": 0,
                    },
                },
            }
        ],
    }
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _files_hold(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.parametrize("status", [500, 404])
def test_a_secret_query_param_of_any_name_stays_out_of_errors_logs_and_dlts_trace(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    from typer.testing import CliRunner

    from restsync.cli import app
    from tests.scripted_server import Reply, scripted_server

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SOURCES__Q__SIG", QUERY_MARK)
    with scripted_server() as api:
        api.script("/items", Reply(status, {"error": "no"}))
        result = CliRunner().invoke(
            app, ["sync", str(_yaml_config(tmp_path, api.base_url)), "--debug"]
        )
    assert result.exit_code == 1
    advice = "check base_url and the endpoint's path" if status == 404 else "persisted after 2"
    assert advice in result.output
    forms = [QUERY_MARK, "q-s3cret%2Fvalue%2Bmark", "s3cret"]
    for form in forms:
        assert form not in result.output and form not in caplog.text
        assert not _files_hold(tmp_path, form), form  # trace.pickle, state, packages


def test_user_and_password_in_base_url_become_basic_auth_and_stay_unwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from restsync.cli import app
    from tests.scripted_server import Reply, scripted_server

    monkeypatch.setenv("SOURCES__Q__SIG", QUERY_MARK)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "items.duckdb"))
    with scripted_server() as api:
        api.script("/items", Reply(body={"data": [{"id": 1}]}))
        with_userinfo = api.base_url.replace("http://", f"http://bob:{PASSWORD_MARK}@")
        path = _yaml_config(tmp_path, "http://unused.invalid")
        result = CliRunner().invoke(app, ["sync", str(path), "--base-url", with_userinfo])
        sent = api.seen_headers[-1]["authorization"]
    assert result.exit_code == 0, result.output
    assert base64.b64decode(sent.removeprefix("Basic ")).decode() == f"bob:{PASSWORD_MARK}"
    assert not _files_hold(tmp_path, PASSWORD_MARK)
    assert not _files_hold(tmp_path, sent.removeprefix("Basic "))


def test_an_answer_that_is_not_json_says_what_came_and_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from restsync.cli import app
    from tests.scripted_server import Reply, scripted_server

    monkeypatch.setenv("SOURCES__Q__SIG", QUERY_MARK)
    html = Reply(body=b"<html>Sign in</html>", headers={"Content-Type": "text/html"})
    with scripted_server() as api:
        api.script("/items", html)
        result = CliRunner().invoke(app, ["sync", str(_yaml_config(tmp_path, api.base_url))])
    assert result.exit_code == 1
    assert "expected JSON from" in result.output and "text/html" in result.output
    assert "<html>Sign in</html>" in result.output and "check base_url" in result.output
    assert "This is unexpected" not in result.output and QUERY_MARK not in result.output
