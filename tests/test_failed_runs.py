"""A failed or interrupted sync commits nothing, and the next run reads the API afresh."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.pipeline import Pipeline

from restsync.errors import SyncError
from restsync.source import SourceOptions, build_source
from restsync.sync import SyncOptions, sync
from tests.scripted_server import Reply, scripted_server
from tests.truth import query


def items_config(base_url: str) -> dict[str, Any]:
    return {
        "client": {"base_url": base_url},
        "resources": [
            {
                "name": "items",
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {"path": "/items", "data_selector": "data"},
            }
        ],
    }


def run(base_url: str, folder: Path) -> None:
    options = SyncOptions(
        destination=dlt.destinations.duckdb(str(folder / "items.duckdb")),
        pipelines_dir=str(folder / "pipelines"),
        dataset_name="api",
    )
    sync(build_source(items_config(base_url), SourceOptions(name="api")), options)


def ids(folder: Path) -> list[int]:
    rows = query(str(folder / "items.duckdb"), "SELECT id FROM api.items ORDER BY id")
    return [int(r[0]) for r in rows]


def test_rows_without_their_key_fail_clearly_and_block_no_later_run(tmp_path: Path) -> None:
    with scripted_server() as api:
        api.script("/items", Reply(body={"data": [{"id": 1}, {"id": 2}]}))
        run(api.base_url, tmp_path)
        # the next page has a record without `id`: the destination refuses the null key
        api.script("/items", Reply(body={"data": [{"id": 3}, {"name": "no key"}]}))
        with pytest.raises(SyncError) as caught:
            run(api.base_url, tmp_path)
        message = str(caught.value)
        assert "table 'items'" in message and "no value for id" in message
        assert "primary_key" in message and "This is unexpected" not in message
        assert ids(tmp_path) == [1, 2]  # the first run's rows are untouched
        api.script("/items", Reply(body={"data": [{"id": 4}]}))  # the API is healthy again
        run(api.base_url, tmp_path)
        assert api.hits["/items"] == 1  # read afresh, not blocked by the failed package
    assert ids(tmp_path) == [1, 2, 4]  # nothing of the failed run was loaded


def test_an_interrupt_after_extract_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scripted_server() as api:
        api.script("/items", Reply(body={"data": [{"id": 1}]}))
        run(api.base_url, tmp_path)
        api.script("/items", Reply(body={"data": [{"id": 2}]}))
        normalize = Pipeline.normalize

        def interrupted(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt  # Ctrl-C between extract and normalize

        monkeypatch.setattr(Pipeline, "normalize", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run(api.base_url, tmp_path)
        monkeypatch.setattr(Pipeline, "normalize", normalize)
        pipeline = dlt.attach("restsync_api", pipelines_dir=str(tmp_path / "pipelines"))
        assert not pipeline.has_pending_data  # the interrupted run's package is gone
        api.script("/items", Reply(body={"data": [{"id": 3}]}))
        run(api.base_url, tmp_path)
        assert api.hits["/items"] == 1
    assert ids(tmp_path) == [1, 3]


def b_fails_after_a(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> tuple[Any, dict[str, int], dict[str, bool]]:
    """A source of two appended tables whose load fails for `b` once `a` is in, with `error`:
    the source, how often `a` was extracted, and the switch that ends the failure."""
    from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob

    copy_job = DuckDbCopyJob.run
    failing, a_loaded = {"on": True}, threading.Event()

    def run_job(self: Any) -> Any:
        if failing["on"] and self.load_table_name == "b":
            a_loaded.wait(10)
            raise error("the destination refused table b")
        result = copy_job(self)
        if self.load_table_name == "a":
            a_loaded.set()
        return result

    monkeypatch.setattr(DuckDbCopyJob, "run", run_job)
    monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "2")
    monkeypatch.setenv("LOAD__WORKERS", "2")  # side by side: `b` fails after `a` is in
    extracts = {"a": 0}

    @dlt.source(name="src")
    def appended() -> Any:
        @dlt.resource(write_disposition="append")
        def a(cursor: Any = dlt.sources.incremental("id", initial_value=0)) -> Any:  # noqa: B008
            extracts["a"] += 1
            yield [{"id": i} for i in range(1, 11)]

        @dlt.resource(write_disposition="append")
        def b(cursor: Any = dlt.sources.incremental("id", initial_value=0)) -> Any:  # noqa: B008
            yield [{"id": i} for i in range(1, 11)]

        return a, b

    return appended, extracts, failing


@pytest.mark.parametrize("fails_again", [False, True])
def test_a_run_loaded_in_part_is_finished_not_aborted_unless_it_fails_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails_again: bool
) -> None:
    from dlt.common.destination.exceptions import DestinationTransientException

    appended, extracts, failing = b_fails_after_a(monkeypatch, DestinationTransientException)
    database = str(tmp_path / "x.duckdb")
    options = SyncOptions(
        destination=dlt.destinations.duckdb(database), pipelines_dir=str(tmp_path / "p")
    )
    with pytest.raises(SyncError, match="Part of this run's tables were already loaded"):
        sync(appended(), options)  # `a` loaded, `b` not: kept
    if fails_again:  # the kept run fails the same way: aborted, so later runs are not blocked
        with pytest.raises(SyncError, match=r"Part of this run was loaded \(tables a\)"):
            sync(appended(), options)
        failing["on"] = False
        sync(appended(), options)
        assert extracts["a"] == 2  # read again, not stuck on the kept run
        assert query(database, "SELECT COUNT(*) FROM src.a") == [(20,)]  # as the error warned
        return
    failing["on"] = False
    finished = sync(appended(), options)  # dlt loads the rest of the kept run
    assert finished.notes and "read nothing new" in finished.notes[0]
    sync(appended(), options)  # and nothing is read twice: the cursors moved with it
    for table in ("a", "b"):
        counts = query(database, f"SELECT COUNT(*), COUNT(DISTINCT id) FROM src.{table}")
        assert counts == [(10, 10)], (table, counts)  # aborted, `a` would hold 20 rows


def test_a_run_loaded_in_part_whose_job_failed_for_good_is_aborted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlt.common.destination.exceptions import DestinationTerminalException

    appended, extracts, failing = b_fails_after_a(monkeypatch, DestinationTerminalException)
    options = SyncOptions(
        destination=dlt.destinations.duckdb(str(tmp_path / "x.duckdb")),
        pipelines_dir=str(tmp_path / "p"),
    )
    with pytest.raises(SyncError, match="so it was aborted"):  # it could never load: not kept
        sync(appended(), options)
    pipeline = dlt.attach("restsync_src", pipelines_dir=str(tmp_path / "p"))
    assert not pipeline.has_pending_data  # nothing left to block the next run
    failing["on"] = False
    finished = sync(appended(), options)
    assert extracts["a"] == 2 and not finished.notes  # read afresh, not a kept run finished


def test_an_endpoint_without_error_handler_tries_as_often_as_dlts_runtime_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")
    with scripted_server() as api:
        api.script("/items", Reply(503))
        with pytest.raises(SyncError, match=r"after 3 attempts \(2 retries\)"):
            run(api.base_url, tmp_path)
        assert api.hits["/items"] == 3  # dlt's setting counts attempts, the first included


def test_the_location_shows_the_path_as_it_is_whatever_the_apis_secrets(tmp_path: Path) -> None:
    folder = tmp_path / "alice"  # the API's username is part of the path, by chance
    folder.mkdir()
    with scripted_server() as api:
        api.script("/items", Reply(body={"data": [{"id": 1}]}))
        options = SyncOptions(
            destination=dlt.destinations.duckdb(str(folder / "items.duckdb")),
            pipelines_dir=str(tmp_path / "pipelines"),
        )
        source = build_source(items_config(api.base_url), SourceOptions(name="api"))
        result = sync(source, options, secrets=["alice"])
    assert result.location == str(folder / "items.duckdb")


@pytest.mark.parametrize(
    ("bucket", "shown"),
    [
        ("sftp://user:p@ss@host/path", "sftp://host/path"),  # a password holding `@`
        ("sftp://u:ab/cd@host:22/p", "sftp://host:22/p"),  # or `/`
        ("s3://bucket/data?token=abc", "s3://bucket/data"),
        ("/srv/data", "/srv/data"),
    ],
)
def test_a_bucket_is_shown_without_user_password_or_query(bucket: str, shown: str) -> None:
    from restsync.sync import _without_secrets

    assert _without_secrets(bucket) == shown
