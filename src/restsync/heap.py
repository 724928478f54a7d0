"""The collector's view of a long run: objects that exist before it are frozen during it.

A sync allocates rows by the million, so the cyclic collector runs full passes, and each one
walked the ~100,000 objects of dlt, DuckDB and the imports: 1.0 s of a 13 s 200,000-row sync
here, 0.15 s frozen. An emulator's store is the same case: a full pass over 200,000 deployments
held every request for 0.2 to 0.3 s.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["frozen_heap"]

_lock = threading.Lock()
_runs = 0  # blocks inside the freeze this module made (0: none made, or the caller's own)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Skip the objects alive at the start in full GC passes until the block ends (speed)."""
    # Unfrozen at the end, so garbage among them is still collected then. Blocks side by side
    # share the first one's freeze; a heap frozen before the first block is left frozen.
    global _runs
    with _lock:
        ours = _runs > 0 or gc.get_freeze_count() == 0
        if ours:
            if _runs == 0:
                gc.freeze()
            _runs += 1
    try:
        yield
    finally:
        if ours:
            with _lock:
                _runs -= 1
                if _runs == 0:
                    gc.unfreeze()
