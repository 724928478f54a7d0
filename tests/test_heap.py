"""The heap frozen during a run: full GC passes skip what existed before it, and nothing leaks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import dlt
import pytest

from restsync.errors import RestsyncError
from restsync.heap import frozen_heap
from restsync.sync import SyncOptions, sync


class _Cycle:
    """Garbage only the cycle collector can free."""

    def __init__(self) -> None:
        self.me = self


def _sync(tmp_path: Path, name: str, fail: bool = False) -> list[int]:
    """Sync a one-resource source; the freeze counts the resource saw while it was extracted."""
    seen: list[int] = []

    @dlt.resource(name="rows")
    def rows() -> Iterator[dict[str, int]]:
        seen.append(gc.get_freeze_count())
        yield {"id": 1}
        if fail:
            raise ValueError("the API broke mid-run")
        yield {"id": 2}

    @dlt.source(name=name)
    def source() -> object:
        return rows

    destination = dlt.destinations.duckdb(str(tmp_path / "runs.duckdb"))  # not a dataset's name
    result = sync(source(), SyncOptions(destination=destination, pipelines_dir=str(tmp_path)))
    assert result.loaded_rows == {"rows": 2}
    return seen


def test_a_sync_extracts_with_the_old_heap_frozen_and_unfreezes_it(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    seen = _sync(tmp_path, "frozen")
    assert seen and seen[0] > 0
    assert gc.get_freeze_count() == 0


def test_a_failed_sync_unfreezes_the_heap(tmp_path: Path) -> None:
    with pytest.raises(RestsyncError):
        _sync(tmp_path, "failing", fail=True)
    assert gc.get_freeze_count() == 0


def test_garbage_frozen_in_a_block_is_collected_after_it() -> None:
    cycle = _Cycle()
    garbage = weakref.ref(cycle)
    with frozen_heap():
        del cycle
        gc.collect()
        assert garbage() is not None  # frozen: full passes skip it
    gc.collect()
    assert garbage() is None  # unfrozen at the end: nothing leaks


def test_blocks_side_by_side_share_one_freeze() -> None:
    with frozen_heap():
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0  # the inner block's end did not unfreeze the outer's
    assert gc.get_freeze_count() == 0


def test_a_heap_the_caller_froze_stays_frozen(tmp_path: Path) -> None:
    cycle = _Cycle()
    garbage = weakref.ref(cycle)
    gc.freeze()
    try:
        del cycle
        _sync(tmp_path, "callers")
        gc.collect()
        assert garbage() is not None  # still frozen: the run did not unfreeze the caller's heap
    finally:
        gc.unfreeze()
    gc.collect()
    assert garbage() is None
