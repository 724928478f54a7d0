"""bi_workspace end to end: HAL envelopes, a workspace setting, chains three levels deep."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from restsync.emulators import Emulator, EmulatorOptions, Faults, Outcome, run_emulator
from restsync.errors import SyncError
from restsync.sync import SyncResult
from tests.connectors.support import sync_emulated
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
    return sync_emulated(CONNECTOR, emulator, folder / "bi.duckdb", **options)


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


def _add_run(
    emulator: Emulator, resource: str, params: tuple[str, ...], token: str, at: str
) -> None:
    template = copy.deepcopy(emulator.truth(resource)[0].record)
    template.update(token=token, created_at=at, completed_at=at, state="succeeded")
    emulator.store.add(resource, template, params)


def test_incremental_runs_read_only_what_is_new_or_was_open(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR) as emulator:
        run(emulator, tmp_path)
        open_runs = [s for s in emulator.truth("report_runs") if s.record["completed_at"] is None]
        assert open_runs, "the emulator has running runs to re-read"
        report = emulator.truth("report_runs")[0].params["report_token"]
        dataset = emulator.truth("datasets_runs")[0].params["dataset_token"]
        for n in range(3):
            at = f"2030-01-01T00:00:0{n}.000Z"
            _add_run(emulator, "report_runs", (report,), f"newrun{n}", at)
            query_run = {**copy.deepcopy(emulator.truth("query_runs")[0].record), "id": f"q{n}",
                         "token": f"newq{n}"}  # fmt: skip
            emulator.store.put("query_runs", [query_run], (report, f"newrun{n}"))
        _add_run(emulator, "datasets_runs", (dataset,), "newdsrun", "2030-01-01T00:00:00.000Z")
        finished = open_runs[0]
        emulator.store.update(
            "report_runs",
            {"token": finished.record["token"]},
            {"completed_at": "2029-12-31T23:59:59.000Z", "state": "succeeded"},
        )
        emulator.requests.clear()

        run(emulator, tmp_path)

        runs = emulator.requests.select(resource="report_runs", outcome=Outcome.SERVED)
        assert len(runs) == len(emulator.store.keys("report_runs"))  # page 1 per report only
        assert {r.query["page"] for r in runs} == {"1"}
        fetched = Counter(
            r.path.split("/runs/")[1].split("/")[0]
            for r in emulator.requests.select(resource="query_runs", outcome=Outcome.SERVED)
        )
        expected = {f"newrun{n}" for n in range(3)} | {s.record["token"] for s in open_runs}
        assert set(fetched) == expected and set(fetched.values()) == {1}
        datasets_runs = emulator.requests.select(resource="datasets_runs", outcome=Outcome.SERVED)
        assert len(datasets_runs) == len(emulator.store.keys("datasets_runs"))
        assert_equals_truth(emulator, tmp_path)


def test_a_finished_run_newer_than_an_open_one_is_read_once(tmp_path: Path) -> None:
    with run_emulator(CONNECTOR) as emulator:
        open_run = next(
            s for s in emulator.truth("report_runs") if s.record["completed_at"] is None
        )
        report = open_run.params["report_token"]
        _add_run(emulator, "report_runs", (report,), "newer", "2030-01-01T00:00:00.000Z")
        open_tokens = {
            s.record["token"] for s in emulator.truth("report_runs") if not s.record["completed_at"]
        }
        for _ in range(2):  # the second run re-reads only the open runs, not `newer`
            run(emulator, tmp_path)
        emulator.requests.clear()
        run(emulator, tmp_path)  # nor does the third: what the second saw moves nothing back
        fetched = {
            r.path.split("/runs/")[1].split("/")[0]
            for r in emulator.requests.select(resource="query_runs", outcome=Outcome.SERVED)
        }
    assert fetched == open_tokens


def test_full_refresh_reads_all_runs_again(emu: Emulator, tmp_path: Path) -> None:
    run(emu, tmp_path)
    emu.requests.clear()
    run(emu, tmp_path, full_refresh=True)
    per_url = Counter(tuple(s.params.items()) for s in emu.truth("report_runs"))
    pages = sum(n // PAGE + 1 for n in per_url.values())
    pages += len(emu.store.keys("report_runs")) - len(per_url)
    assert emu.requests.count(resource="report_runs", outcome=Outcome.SERVED) == pages


@pytest.mark.parametrize("concurrency", [1, 8, 32])
def test_equals_truth_at_any_concurrency_with_faults(
    concurrency: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "0.1")
    faults = Faults(fail_rate=0.15, drop_rate=0.05, latency_ms=5, seed=concurrency)
    with run_emulator(CONNECTOR, EmulatorOptions(scale=2, faults=faults)) as emulator:
        run(emulator, tmp_path, concurrency=concurrency)
        assert emulator.requests.count(outcome=Outcome.FAILED) > 0
        assert_equals_truth(emulator, tmp_path)


def test_a_wrong_workspace_is_named_in_the_404_error(emu: Emulator, tmp_path: Path) -> None:
    with pytest.raises(SyncError) as failed:
        sync_emulated(CONNECTOR, emu, tmp_path / "bi.duckdb", settings={"workspace": "acme-typo"})
    message = str(failed.value)
    assert "404" in message and "/acme-typo/" in message
    assert "check the `workspace` setting ('acme-typo'), base_url and" in message
