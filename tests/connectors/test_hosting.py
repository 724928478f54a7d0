"""hosting end to end: bearer auth, cursor pages, a single object, a bare list, incremental."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from restsync.cli import app
from restsync.emulators import Emulator, EmulatorOptions, Faults, Outcome, run_emulator
from restsync.sync import SyncResult
from tests.connectors.support import sync_emulated
from tests.truth import diff, query, table_rows, truth_rows

CONNECTOR = "hosting"
RESOURCES = (
    "projects", "teams", "user", "deployments", "environments", "auth_tokens", "aliases",
    "deployment_events", "teams_member",
)  # fmt: skip
# URL params the connector keeps as columns, so rows can be joined to their parent
PARENT_FIELDS = {"teams_member": {"team_id": "team_id"}, "environments": {"project": "project_id"}}


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with run_emulator(CONNECTOR) as emulator:
        yield emulator


def run(emulator: Emulator, folder: Path, **options: Any) -> SyncResult:
    return sync_emulated(CONNECTOR, emulator, folder / "host.duckdb", **options)


def assert_equals_truth(emulator: Emulator, folder: Path) -> None:
    database = str(folder / "host.duckdb")
    for resource in RESOURCES:
        loaded = table_rows(database, CONNECTOR, resource)
        truth = truth_rows(emulator, resource, PARENT_FIELDS.get(resource))
        assert loaded == truth, f"{resource}: {diff(loaded, truth)}"


def test_full_sync_equals_truth(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)
    limits = {e.query.get("limit") for e in emu.requests.select(resource="deployments")}
    assert limits == {"100"}


def test_second_sync_with_nothing_new_makes_one_deployments_request(
    emu: Emulator, tmp_path: Path
) -> None:
    run(emu, tmp_path)
    emu.requests.clear()
    run(emu, tmp_path)
    assert emu.requests.count(resource="deployments") == 1
    assert emu.requests.count(resource="deployment_events") == 0
    assert_equals_truth(emu, tmp_path)


def test_incremental_fetches_only_new_deployments_and_their_events(
    emu: Emulator, tmp_path: Path
) -> None:
    run(emu, tmp_path)
    newest = max(s.record["createdAt"] for s in emu.truth("deployments"))
    for n in range(1, 4):
        deployment = copy.deepcopy(emu.truth("deployments")[0].record)
        deployment.update(uid=f"dpl_new{n}", createdAt=newest + 1000 * n)
        emu.store.add("deployments", deployment)
        events = [
            {**copy.deepcopy(emu.truth("deployment_events")[0].record),
             "id": f"evt_new{n}_{i}", "deploymentId": f"dpl_new{n}"}
            for i in range(2)
        ]  # fmt: skip
        emu.store.put("deployment_events", events, (f"dpl_new{n}",))
    emu.requests.clear()

    run(emu, tmp_path)

    deployments = emu.requests.select(resource="deployments", outcome=Outcome.SERVED)
    assert [r.query.get("since") for r in deployments] == [str(newest)]
    fetched = emu.requests.select(resource="deployment_events", outcome=Outcome.SERVED)
    assert sorted(r.path.split("/")[3] for r in fetched) == ["dpl_new1", "dpl_new2", "dpl_new3"]
    assert_equals_truth(emu, tmp_path)


def test_member_in_two_teams_appears_once_per_team(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    per_user = query(
        str(tmp_path / "host.duckdb"),
        "SELECT uid, COUNT(*), COUNT(DISTINCT team_id) FROM hosting.teams_member GROUP BY uid",
    )
    assert any(teams == 2 for _, _, teams in per_user)
    assert all(rows == teams for _, rows, teams in per_user)


def test_bad_token_is_reported_as_403(emu: Emulator, tmp_path: Path) -> None:
    env = {"SOURCES__HOSTING__ACCESS_TOKEN": "not-the-token"}
    result = CliRunner().invoke(app, ["sync", CONNECTOR, "--base-url", emu.base_url], env=env)
    assert result.exit_code == 3
    assert "403" in result.output and "credentials were rejected" in result.output
    assert "not-the-token" not in result.output


def test_faults_and_rate_limit_still_equal_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "0.2")
    faults = Faults(fail_rate=0.2, rate_limit=50, rate_burst=5, quota_headers=False, seed=3)
    with run_emulator(CONNECTOR, EmulatorOptions(faults=faults)) as emulator:
        run(emulator, tmp_path)
        assert emulator.requests.count(status=429) > 0
        assert_equals_truth(emulator, tmp_path)


def test_scale_100_equals_truth(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR, EmulatorOptions(scale=100)) as emulator:
        run(emulator, tmp_path)
        assert_equals_truth(emulator, tmp_path)
