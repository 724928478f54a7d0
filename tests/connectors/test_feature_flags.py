"""feature_flags end to end: the connector against its emulator over real sockets, into DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest
from typer.testing import CliRunner

from restsync.cli import app
from restsync.emulators import Emulator, EmulatorOptions, Faults, Outcome, run_emulator
from restsync.sync import SyncOptions, SyncResult, sync_connector
from tests.connectors.support import sync_emulated
from tests.truth import diff, query, table_rows, truth_rows

CONNECTOR = "feature_flags"
# how each resource's rows relate to the emulator's records: URL params the connector adds
PARENT_FIELDS = {"organization_members": {"organizationId": "organizationId"}}
RESOURCES = ("organizations", "organization_members", "products", "tags", "environments")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_emulator(CONNECTOR) as emu:
        yield emu


def run(emu: Emulator, folder: Path, **options: Any) -> SyncResult:
    return sync_emulated(CONNECTOR, emu, folder / "ff.duckdb", **options)


def assert_equals_truth(emu: Emulator, database: Path) -> None:
    for resource in RESOURCES:
        loaded = table_rows(str(database), CONNECTOR, resource)
        truth = truth_rows(emu, resource, PARENT_FIELDS.get(resource))
        assert loaded == truth, f"{resource}: {diff(loaded, truth)}"


def test_full_sync_equals_ground_truth(emulator: Emulator, tmp_path: Path) -> None:
    result = run(emulator, tmp_path)
    assert_equals_truth(emulator, tmp_path / "ff.duckdb")
    assert result.table_rows == {r: len(emulator.truth(r)) for r in RESOURCES}


def test_member_of_two_organizations_is_loaded_once_per_organization(
    emulator: Emulator, tmp_path: Path
) -> None:
    run(emulator, tmp_path)
    per_user = query(
        str(tmp_path / "ff.duckdb"),
        "SELECT user_id, COUNT(*), COUNT(DISTINCT organization_id)"
        " FROM feature_flags.organization_members GROUP BY user_id",
    )
    assert any(orgs >= 2 for _, _, orgs in per_user)
    assert all(rows == orgs for _, rows, orgs in per_user)  # once per organization


def test_declared_column_types(emulator: Emulator, tmp_path: Path) -> None:
    run(emulator, tmp_path)
    types = dict(
        query(
            str(tmp_path / "ff.duckdb"),
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'feature_flags'",
        )
    )
    assert types["tags.tag_id"] == "BIGINT"
    assert types["products.order"] == "BIGINT"
    assert types["products.reason_required"] == "BOOLEAN"
    assert types["products.organization_id"] == "JSON"
    assert types["environments.environment_id"] == "VARCHAR"
    assert types["organization_members.organization_id"] == "VARCHAR"


def test_second_sync_adds_no_duplicates(emulator: Emulator, tmp_path: Path) -> None:
    run(emulator, tmp_path)
    second = run(emulator, tmp_path)
    assert second.loaded_rows["tags"] == len(emulator.truth("tags"))  # re-read, then merged
    assert_equals_truth(emulator, tmp_path / "ff.duckdb")


def test_resources_flag_loads_only_those(emulator: Emulator, tmp_path: Path) -> None:
    result = run(emulator, tmp_path, resources=("tags",))
    assert set(result.table_rows) == {"tags"}
    assert result.table_rows["tags"] == len(emulator.truth("tags"))


@pytest.mark.parametrize("announced", [False, True], ids=["429-only", "quota-headers"])
def test_faults_and_rate_limit_still_equal_ground_truth(
    announced: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the seed's backoff (2, 4, 8 s) is checked in tests/http; here only completeness matters
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "0.2")
    # seed 4 draws drops at the 1st, 6th, 9th and 23rd fault draws (seed 7 drew only one in
    # the first 100, and a draw meeting a URL at its streak cap passes: under load, no drop)
    faults = Faults(
        fail_rate=0.2, drop_rate=0.05, rate_limit=40, rate_burst=5, seed=4, quota_headers=announced
    )
    with run_emulator(CONNECTOR, EmulatorOptions(scale=2, faults=faults)) as emu:
        # one worker: when the API says `Remaining: 0`, nothing else is already in flight
        run(emu, tmp_path, **({"concurrency": 1} if announced else {}))
        assert_equals_truth(emu, tmp_path / "ff.duckdb")
        statuses = [e.status for e in emu.requests.entries()]
        assert set(statuses) & {500, 502, 503, 504}
        assert emu.requests.count(outcome=Outcome.DROPPED) > 0
        if announced:  # told `Remaining: 0`, the client pauses the host instead of hitting 429s
            assert statuses.count(429) <= 1
        else:
            assert 429 in statuses


def test_cli_sync_loads_the_server_at_base_url(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__USERNAME", emulator.credentials["username"])
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__PASSWORD", emulator.credentials["password"])
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "cli.duckdb"))
    result = CliRunner().invoke(app, ["sync", CONNECTOR, "--base-url", emulator.base_url])
    assert result.exit_code == 0, result.output
    assert "organization_members" in result.output
    assert_equals_truth(emulator, tmp_path / "cli.duckdb")


def test_wrong_credentials_fail_clearly_and_load_nothing(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-not-the-password"
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__USERNAME", "mallory")
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__PASSWORD", secret)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "bad.duckdb"))
    result = CliRunner().invoke(app, ["sync", CONNECTOR, "--base-url", emulator.base_url])
    assert result.exit_code == 3
    assert "401" in result.output and "credentials were rejected" in result.output
    # the two top-level resources run side by side: either may be the one that is reported
    named = [r for r in ("organizations", "products") if f"resource '{r}'" in result.output]
    assert named, result.output
    assert f"{emulator.base_url}/{named[0]}" in result.output
    assert secret not in result.output
    database = tmp_path / "bad.duckdb"
    if database.exists():
        tables = query(
            str(database),
            "SELECT table_name FROM information_schema.tables WHERE table_schema='feature_flags'"
            " AND table_name NOT LIKE '_dlt%'",
        )
        assert tables == []


def test_missing_credentials_name_the_env_vars(emulator: Emulator) -> None:
    result = CliRunner().invoke(app, ["sync", CONNECTOR, "--base-url", emulator.base_url])
    assert result.exit_code == 1
    assert "SOURCES__FEATURE_FLAGS__USERNAME" in result.output


def test_loads_into_postgres(emulator: Emulator, postgres_url: str) -> None:
    import psycopg2

    overrides = {"base_url": emulator.base_url, **emulator.credentials}
    destination = dlt.destinations.postgres(postgres_url)
    result = sync_connector(CONNECTOR, overrides, SyncOptions(destination=destination))
    assert result.table_rows == {r: len(emulator.truth(r)) for r in RESOURCES}
    server = postgres_url.split("@")[1]  # where the data is, without the password
    assert result.location.endswith(f"@{server}") and ":postgres@" not in result.location
    with psycopg2.connect(postgres_url) as con, con.cursor() as cur:  # type: ignore[no-untyped-call]
        cur.execute(
            "SELECT COUNT(DISTINCT (organization_id, user_id))"
            " FROM feature_flags.organization_members"
        )
        assert cur.fetchone() == (len(emulator.truth("organization_members")),)


def test_an_environment_without_its_id_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with run_emulator(CONNECTOR) as emu:  # its own: the store is edited
        keyless = emu.truth("environments")[0].record
        emu.store.update(
            "environments", {"environmentId": keyless["environmentId"]}, {"environmentId": None}
        )
        result = run(emu, tmp_path)  # the spec allows it: not a failed sync
        assert result.table_rows["environments"] == len(emu.truth("environments")) - 1
        ids = query(
            str(tmp_path / "ff.duckdb"), "SELECT environment_id FROM feature_flags.environments"
        )
        assert None not in {row[0] for row in ids}
    assert "no environmentId" in caplog.text and keyless["product"]["productId"] in caplog.text
    for resource in ("organizations", "products", "tags"):  # the rest loaded as ever
        assert result.table_rows[resource] == len(emu.truth(resource))
