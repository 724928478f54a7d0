"""The `restsync` command as a user meets it: list, demo, emulate as a process, secrets files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from restsync.cli import app
from restsync.emulators import get_api
from tests.truth import query

EMULATOR_START_TIMEOUT_S = 20
URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+\S*)")


def test_list_shows_connectors_and_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0
    assert "feature_flags" in result.output and "organization_members" in result.output


def test_demo_loads_a_duckdb_file_and_prints_rows_per_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "restsync_demo.duckdb").exists()
    counts = dict(
        query(
            str(tmp_path / "restsync_demo.duckdb"),
            "SELECT 'organizations', COUNT(*) FROM feature_flags.organizations",
        )
    )
    assert counts["organizations"] > 0
    assert re.search(r"organizations\s*│\s*\d+", result.output)


def test_demo_writes_into_the_folder_it_runs_in_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):  # one dlt state for both, as on a user's machine
        folder.mkdir()
        monkeypatch.chdir(folder)
        result = CliRunner().invoke(app, ["demo"])
        assert result.exit_code == 0, result.output
    assert (second / "restsync_demo.duckdb").exists()  # not the first run's folder again
    assert f"loaded into {second / 'restsync_demo.duckdb'}" in result.output


def test_unknown_connector_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["sync", "nope"])
    assert result.exit_code == 1
    assert "no built-in connector 'nope'" in result.output and "feature_flags" in result.output


def test_emulate_runs_as_a_process_and_sync_reads_secrets_toml(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "restsync"
    process = subprocess.Popen(
        [str(exe), "emulate", "feature_flags", "--port", "0", "--scale", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base_url = _wait_for_url(process)
        assert requests.get(f"{base_url}/organizations", timeout=5).status_code == 401
        credentials = get_api("feature_flags").credentials
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "secrets.toml").write_text(
            "[sources.feature_flags]\n"
            f'username = "{credentials["username"]}"\n'
            f'password = "{credentials["password"]}"\n'
            f'base_url = "{base_url}"\n'
        )
        env = {**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "p.duckdb")}
        done = subprocess.run(
            [str(exe), "sync", "feature_flags"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        organizations = query(
            str(tmp_path / "p.duckdb"), "SELECT COUNT(*) FROM feature_flags.organizations"
        )
        assert organizations == [(6,)]  # scale 2
        assert f"loaded into {tmp_path / 'p.duckdb'}" in done.stdout  # where to find it
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + EMULATOR_START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = URL_LINE.search(line)
        if match:
            return match.group(1).rstrip("/")
        if process.poll() is not None:
            break
    raise AssertionError("the emulator printed no URL")


def test_masked_logging_never_raises_into_the_caller() -> None:
    import io
    import logging

    from restsync import cli

    cli._setup_logging(False)
    written = io.StringIO()
    logger = logging.getLogger("restsync.test.masked")
    logger.propagate = False  # pytest's own handler raises on a bad call; a user's does not
    logger.addHandler(logging.StreamHandler(written))
    cli._MaskingRecords.secrets = ("hunter22",)
    try:
        logger.error("value %d", "not a number")  # a bad call: logging's own error, not ours
        logger.error("password is %s", "hunter22")
    finally:
        cli._MaskingRecords.secrets = ()
    assert "password is ***" in written.getvalue() and "hunter22" not in written.getvalue()


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["sync", "feature_flags"], {"RUNTIME__REQUEST_TIMEOUT": "abc"}, "request_timeout"),
        (["sync", "feature_flags"], {"RESTSYNC_HTTP_TRANSPORT": "curl"}, "use 'aiohttp'"),
        (["emulate", "feature_flags", "--fail-rate", "2"], {}, "fail_rate"),
    ],
)
def test_a_bad_setting_is_one_error_line_not_a_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], said: str
) -> None:
    exe = Path(sys.executable).parent / "restsync"
    credentials = {
        f"SOURCES__FEATURE_FLAGS__{name.upper()}": value
        for name, value in get_api("feature_flags").credentials.items()
    }
    settings = {
        **os.environ,
        **credentials,
        "SOURCES__FEATURE_FLAGS__BASE_URL": "http://127.0.0.1:9",
        **env,
    }
    done = subprocess.run(
        [str(exe), *args], cwd=tmp_path, env=settings, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "error:" in done.stderr, done.stderr
    assert said in done.stderr, done.stderr


def test_emulate_on_a_taken_port_says_so() -> None:
    import socket

    exe = Path(sys.executable).parent / "restsync"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(exe), "emulate", "feature_flags", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_lint_refuses_an_unknown_format() -> None:
    result = CliRunner().invoke(app, ["lint", "feature_flags", "--format", "xml"])
    assert result.exit_code == 2
    assert "use text or json" in result.output


def test_a_clean_sync_prints_no_dlt_warnings(tmp_path: Path) -> None:
    """dlt's own log lines (here: a column that only ever held nulls) stay out of a clean run's
    output unless --debug or dlt's log level asks for them."""
    from restsync.emulators import run_emulator

    exe = Path(sys.executable).parent / "restsync"
    with run_emulator("product_analytics") as emu:
        settings = {
            f"SOURCES__PRODUCT_ANALYTICS__{name.upper()}": value
            for name, value in emu.credentials.items()
        }
        env = {**os.environ, **settings, "DLT_DATA_DIR": str(tmp_path / "dlt")}
        env.pop("RUNTIME__LOG_LEVEL", None)
        command = [str(exe), "sync", "product_analytics", "--base-url", emu.base_url]
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        assert "WARNING" not in done.stderr, done.stderr
        debug = subprocess.run(
            [*command, "--debug"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert debug.returncode == 0, debug.stderr
    assert "did not receive any data" in debug.stderr  # the warning is dlt's, and real


def test_sync_resources_runs_only_those_named_spaces_and_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restsync.emulators import run_emulator

    with run_emulator("feature_flags") as emu:
        for name, value in emu.credentials.items():
            monkeypatch.setenv(f"SOURCES__FEATURE_FLAGS__{name.upper()}", value)
        database = str(tmp_path / "ff.duckdb")
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", database)
        command = ["sync", "feature_flags", "--base-url", emu.base_url]
        result = CliRunner().invoke(app, [*command, "--resources", " organizations , tags"])
    assert result.exit_code == 0, result.output
    tables = query(
        database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'feature_flags'"
        " AND table_name NOT LIKE '_dlt%'",
    )
    assert {t for (t,) in tables} == {"organizations", "tags"}
