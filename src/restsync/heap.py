"""The collector's view of a long run: objects that exist before it are frozen during it, and
young objects are collected every 50,000 allocations, not every 700.

A sync allocates rows by the million, so the cyclic collector runs full passes, and each one
walked the ~100,000 objects of dlt, DuckDB and the imports: 1.0 s of a 13 s 200,000-row sync
here, 0.15 s frozen. An emulator's store is the same case: a full pass over 200,000 deployments
held every request for 0.2 to 0.3 s.

Pages of parsed JSON live from their parse until dlt's writer flushes its buffer (5,000 rows).
At the default threshold (700 containers) a 100-record page set off a young collection or two
while it was alive, which moved it to the older generations, to be walked again there: 0.26 ms
of CPU a page of 2.8 here (hosting deployments at 20 ms, `benchmarks/bench.py volume20`). At
10,000 the extract still made 41 collections (0.10 s of its 4.6 s of CPU); at 50,000, none.
The garbage that only the collector frees (cycles) waits at most 50,000 allocations longer, a
few megabytes at most.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["frozen_heap"]

_lock = threading.Lock()
_runs = 0  # blocks inside the freeze this module made (0: none made, or the caller's own)
YOUNG_THRESHOLD = 50_000  # allocations between two young collections during a block
_thresholds: tuple[int, int, int] | None = None  # the collector's own, while a block changes it


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Skip the objects alive at the start in full GC passes, and collect young objects less
    often, until the block ends (speed)."""
    # Unfrozen at the end, so garbage among them is still collected then. Blocks side by side
    # share the first one's freeze; a heap frozen before the first block is left frozen.
    global _runs, _thresholds
    with _lock:
        ours = _runs > 0 or gc.get_freeze_count() == 0
        if ours:
            if _runs == 0:
                gc.freeze()
                _thresholds = gc.get_threshold()
                young, *older = _thresholds
                if young > 0:  # 0: the caller turned the collector off; it stays off
                    gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)
            _runs += 1
    try:
        yield
    finally:
        if ours:
            with _lock:
                _runs -= 1
                if _runs == 0:
                    gc.unfreeze()
                    if _thresholds is not None:
                        gc.set_threshold(*_thresholds)
                        _thresholds = None
