"""The heap frozen during a run: full GC passes skip what existed before it, young objects are
collected less often, and nothing leaks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dlt
import pytest

from restsync.errors import RestsyncError
from restsync.heap import YOUNG_THRESHOLD, frozen_heap
from restsync.sync import SyncOptions, sync


class _Cycle:
    """Garbage only the cycle collector can free."""

    def __init__(self) -> None:
        self.me = self


def _sync(
    tmp_path: Path, name: str, fail: bool = False, thresholds: list[tuple[int, ...]] | None = None
) -> list[int]:
    """Sync a one-resource source; the freeze counts (and into `thresholds`, the collector's
    thresholds) the resource saw while it was extracted."""
    seen: list[int] = []

    @dlt.resource(name="rows")
    def rows() -> Iterator[dict[str, int]]:
        seen.append(gc.get_freeze_count())
        if thresholds is not None:
            thresholds.append(gc.get_threshold())
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
    before = gc.get_threshold()
    with pytest.raises(RestsyncError):
        _sync(tmp_path, "failing", fail=True)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_a_sync_collects_young_objects_less_often_and_restores_the_thresholds(
    tmp_path: Path,
) -> None:
    before = gc.get_threshold()
    assert before[0] < YOUNG_THRESHOLD  # Python's default, 700
    seen: list[tuple[int, ...]] = []
    _sync(tmp_path, "young", thresholds=seen)
    assert seen == [(YOUNG_THRESHOLD, *before[1:])]
    assert gc.get_threshold() == before


@pytest.mark.parametrize("young", [0, 50_000])
def test_a_callers_own_young_threshold_is_kept_when_off_or_higher(young: int) -> None:
    before = gc.get_threshold()
    gc.set_threshold(young, *before[1:])
    try:
        with frozen_heap():
            assert gc.get_threshold()[0] == young
        assert gc.get_threshold()[0] == young
    finally:
        gc.set_threshold(*before)


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
    before = gc.get_threshold()
    with frozen_heap():
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0  # the inner block's end did not unfreeze the outer's
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # nor restore the thresholds
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_overlapping_blocks_keep_the_freeze_until_the_last_one_ends() -> None:
    before = gc.get_threshold()
    with ExitStack() as second_block:  # two syncs on two threads, say
        with ExitStack() as first_block:
            first_block.enter_context(frozen_heap())
            second_block.enter_context(frozen_heap())
        # the first has ended while the second still runs
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


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
