"""Concurrent syncs against the emulator: the host's budget holds, pauses hold every worker,
and Ctrl-C ends a sync promptly."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from restsync.emulators import EmulatorOptions, Faults, get_api, run_emulator
from restsync.emulators.process import EmulatorProcess
from restsync.http.budget import RateLimit
from tests.connectors.support import assert_within_budget, sync_emulated, sync_from_process

API = "bi_workspace"
RATE, BURST = 40.0, 4


def test_the_budget_bounds_every_window_of_the_emulators_log(tmp_path: Path) -> None:
    with EmulatorProcess(API, "--latency-ms", "5") as emu:  # its clock apart from the client's
        sync_from_process(API, emu, tmp_path / "b.duckdb", rate_limit=RateLimit(RATE, BURST))
        stamps = emu.stats(arrivals=True)["arrivals"]
    assert len(stamps) > 100
    assert_within_budget(stamps, RATE, BURST)
    assert len(stamps) / (stamps[-1] - stamps[0]) > 0.8 * RATE  # and it does run near the rate


def test_a_retry_after_pauses_every_worker(tmp_path: Path) -> None:
    faults = Faults(rate_limit=30, rate_burst=10, retry_after=1, quota_headers=False)
    with run_emulator(API, EmulatorOptions(faults=faults)) as emu:
        sync_emulated(API, emu, tmp_path / "p.duckdb", concurrency=16)
        entries = sorted(emu.requests.entries(), key=lambda e: e.at)
    limited = [e.at for e in entries if e.status == 429]
    assert limited, "the emulator's limit was reached"
    first = limited[0]
    # after the first 429 (Retry-After: 1), only requests already in flight may arrive
    in_flight = 16
    early = [e for e in entries if first < e.at < first + 0.9]
    assert len(early) <= in_flight


def test_an_announced_quota_is_kept_without_being_told_the_limit(tmp_path: Path) -> None:
    faults = Faults(latency_ms=20, rate_limit=50, rate_burst=10, quota_headers=True)
    with run_emulator(API, EmulatorOptions(scale=2, faults=faults)) as emu:
        result = sync_emulated(API, emu, tmp_path / "q.duckdb", concurrency=16)  # no rate given
        answered = len(emu.requests.entries())
        refused = emu.requests.count(status=429)
        truth = {r: len(emu.truth(r)) for r in ("reports", "report_runs", "query_runs")}
    # 16 workers against a bucket of 10: without reading X-RateLimit-Remaining most of the
    # first burst would be refused; keeping in flight < remaining refuses (almost) none
    assert refused <= answered // 100, f"{refused} of {answered} refused"
    assert {r: result.table_rows.get(r) for r in truth} == truth


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_ends_a_concurrent_sync_promptly(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "restsync"
    with run_emulator(API, EmulatorOptions(scale=5, faults=Faults(latency_ms=200))) as emu:
        creds = get_api(API).credentials
        env = {
            **os.environ,
            "SOURCES__BI_WORKSPACE__API_TOKEN": creds["api_token"],
            "SOURCES__BI_WORKSPACE__API_SECRET": creds["api_secret"],
            "SOURCES__BI_WORKSPACE__WORKSPACE": "acme",
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "c.duckdb"),
        }
        process = subprocess.Popen(
            [str(exe), "sync", API, "--base-url", emu.base_url],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(2.0)  # well into the fan-out
        assert process.poll() is None, "the sync should still be running"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
        elapsed = time.monotonic() - started
    assert process.returncode == 130, output
    assert "interrupted" in output
    assert elapsed < 10


def test_a_silent_api_is_not_read_one_request_at_a_time_after_its_429s(tmp_path: Path) -> None:
    # the API announces X-RateLimit-Remaining only on its 429s; once the pause is over, the
    # workers must overlap again (one at a time, arrivals would be >= the 100 ms latency apart)
    faults = Faults(
        latency_ms=100, rate_limit=50, rate_burst=10, retry_after=1, quota_headers=False
    )
    with run_emulator(API, EmulatorOptions(faults=faults)) as emu:
        result = sync_emulated(API, emu, tmp_path / "s.duckdb", concurrency=16)
        entries = sorted(emu.requests.entries(), key=lambda e: e.at)
        truth = {r: len(emu.truth(r)) for r in ("reports", "report_runs", "query_runs")}
    limited = [e.at for e in entries if e.status == 429]
    assert limited, "the emulator's limit was reached"
    after = [e.at for e in entries if e.status == 200 and e.at > limited[0] + 1.0]
    assert len(after) > 10
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert min(gaps) < 0.05, f"arrivals at least {min(gaps):.3f} s apart: one request at a time"
    assert {r: result.table_rows.get(r) for r in truth} == truth
