"""bi_workspace end to end: HAL envelopes, a workspace setting, chains three levels deep."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from restsync.emulators import Emulator, EmulatorOptions, Faults, Outcome, run_emulator
from restsync.sync import SyncOptions, SyncResult, sync_connector
from tests.truth import diff, query, table_rows, truth_rows

CONNECTOR = "bi_workspace"
PAGE = 20
PAGED = ("report_runs", "datasets_runs", "field_descriptions")
# URL params each child keeps as columns (same names), so rows join back to their ancestors
PARENT_FIELDS: dict[str, tuple[str, ...]] = {
    "space_memberships": ("space_token",),
    "groups_memberships": ("group_token",),
    "reports": ("data_source_token",),
    "report_runs": ("report_token",),
    "queries": ("report_token",),
    "query_runs": ("report_token", "run_token"),
    "charts": ("report_token", "query_token"),
    "report_filters": ("report_token",),
    "datasets_runs": ("dataset_token",),
    "field_descriptions": ("dataset_token",),
    "reports_subscriptions": ("report_token",),
    "datasets_schedules": ("dataset_token",),
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with run_emulator(CONNECTOR) as emulator:
        yield emulator


def run(emulator: Emulator, folder: Path, **options: Any) -> SyncResult:
    overrides = {"base_url": emulator.base_url, **emulator.credentials, **emulator.settings}
    destination = dlt.destinations.duckdb(str(folder / "bi.duckdb"))
    return sync_connector(CONNECTOR, overrides, SyncOptions(destination=destination, **options))


def assert_equals_truth(emulator: Emulator, folder: Path) -> None:
    database = str(folder / "bi.duckdb")
    for resource in emulator.api.spec.resources:
        params = {p: p for p in PARENT_FIELDS.get(resource, ())}
        loaded, truth = (
            table_rows(database, CONNECTOR, resource),
            truth_rows(emulator, resource, params),
        )
        assert loaded == truth, f"{resource}: {diff(loaded, truth)}"


def test_full_sync_equals_truth_for_all_19_resources(emu: Emulator, tmp_path: Path) -> None:
    emu.requests.clear()
    result = run(emu, tmp_path)
    assert len(emu.api.spec.resources) == 19
    assert_equals_truth(emu, tmp_path)
    assert all(result.table_rows[r] == len(emu.truth(r)) for r in emu.api.spec.resources)


def test_page_numbers_only_where_the_api_pages_and_no_extra_requests(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.requests.clear()
    run(emu, tmp_path)
    for resource in emu.api.spec.resources:
        per_url = Counter(tuple(s.params.items()) for s in emu.truth(resource))
        urls = len(emu.store.keys(resource))
        requests = emu.requests.select(resource=resource, outcome=Outcome.SERVED)
        if resource in PAGED:  # pages 1, 2, ... until a short one; 20 runs cost two pages
            expected = sum(n // PAGE + 1 for n in per_url.values()) + (urls - len(per_url))
            assert all(r.query.get("page") for r in requests)
        else:  # one request per URL: no guessed paginator asks for more
            expected = urls
            assert not any("page" in r.query for r in requests)
        assert len(requests) == expected, resource


def test_two_ancestor_rows_join_back_to_both(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    database = str(tmp_path / "bi.duckdb")
    orphans = query(
        database,
        "SELECT COUNT(*) FROM bi_workspace.query_runs q"
        " LEFT JOIN bi_workspace.report_runs r"
        "   ON q.run_token = r.token AND q.report_token = r.report_token"
        " LEFT JOIN bi_workspace.reports p ON q.report_token = p.token"
        " WHERE r.token IS NULL OR p.token IS NULL",
    )
    assert orphans == [(0,)]
    orphans = query(
        database,
        "SELECT COUNT(*) FROM bi_workspace.charts c"
        " LEFT JOIN bi_workspace.queries q"
        "   ON c.query_token = q.token AND c.report_token = q.report_token"
        " LEFT JOIN bi_workspace.reports p ON c.report_token = p.token"
        " WHERE q.token IS NULL OR p.token IS NULL",
    )
    assert orphans == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM bi_workspace.query_runs") == [
        (len(emu.truth("query_runs")),)
    ]


def test_second_sync_adds_no_duplicates(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    run(emu, tmp_path)
    assert_equals_truth(emu, tmp_path)


def test_faults_and_rate_limit_still_equal_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "0.2")
    faults = Faults(fail_rate=0.2, rate_limit=100, rate_burst=10, quota_headers=False, seed=5)
    with run_emulator(CONNECTOR, EmulatorOptions(faults=faults)) as emulator:
        run(emulator, tmp_path)
        statuses = {e.status for e in emulator.requests.entries()}
        assert 429 in statuses and statuses & {500, 502, 503, 504}
        assert_equals_truth(emulator, tmp_path)


def test_scale_100_equals_truth(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR, EmulatorOptions(scale=100)) as emulator:
        run(emulator, tmp_path)
        assert_equals_truth(emulator, tmp_path)
