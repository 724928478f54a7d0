"""Requests per sync, per connector: a full sync, then a second (incremental) sync with nothing new.

Run: .venv/bin/python benchmarks/request_counts.py [--scale N]
Prints a table and writes benchmarks/results/request_counts.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import dlt

from restsync.connectors import available
from restsync.emulators import EmulatorOptions, Outcome, run_emulator
from restsync.sync import SyncOptions, sync_connector

RESULTS = Path(__file__).parent / "results"


def measure(name: str, scale: int, folder: Path) -> dict[str, int]:
    """Served requests of a full sync and of a second sync right after it."""
    with run_emulator(name, EmulatorOptions(scale=scale)) as emu:
        overrides = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        options = SyncOptions(
            destination=dlt.destinations.duckdb(str(folder / f"{name}_db.duckdb")),
            pipelines_dir=str(folder / "pipelines"),
        )
        sync_connector(name, overrides, options)
        full = emu.requests.count(outcome=Outcome.SERVED)
        emu.requests.clear()
        sync_connector(name, overrides, options)
        second = emu.requests.count(outcome=Outcome.SERVED)
        rows = sum(len(emu.truth(r)) for r in emu.api.spec.resources)
    return {"rows": rows, "full_sync_requests": full, "second_sync_requests": second}


def main() -> None:
    """Measure every built-in connector and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in available():
            results[name] = measure(name, args.scale, Path(tmp))
    print(f"scale {args.scale}")
    print(f"{'connector':<20}{'rows':>10}{'full sync':>12}{'2nd sync':>12}")
    for name, r in results.items():
        print(
            f"{name:<20}{r['rows']:>10}{r['full_sync_requests']:>12}{r['second_sync_requests']:>12}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"request_counts_scale{args.scale}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
