"""The emulator's real time per request at a nominal latency: the floor under every bound.

Run:  .venv/bin/python benchmarks/latency_floor.py [--latency-ms 50]
A bare `requests` loop (no dlt, no restsync) against `restsync emulate bi_workspace`, with one
thread and with 16: the milliseconds a request really takes, and so the fastest any client can
do `requests x latency / 16`.

Then the same bare client on full pages: hosting deployments, 100 records (40 kB) a page at
20 ms, 16 threads, each page's JSON parsed and nothing else done with it, once on requests' own
transport adapter and once on restsync's (`http/transport.py`: one event-loop thread). Its wall
time per page against the bound's `latency / 16` is how close a client on that transport can
come to `pages x latency / concurrency` on this machine, before dlt has touched a row.

Two more floors under the 20 ms target, from below:
- the same pages read by the leanest client Python offers: 16 asyncio tasks on aiohttp, parsed
  by orjson, one thread, no requests, no threads to hand pages between; with the emulator's own
  CPU per page (it shares this machine's cores);
- dlt's extract of those rows alone, no HTTP at all: the same page 2,000 times through a dlt
  resource with the connector's incremental cursor and key, into dlt's (uncompressed) files.
A full sync needs at least the first plus the second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from typing import Any

import aiohttp
import orjson
import requests
from requests.adapters import HTTPAdapter

from bench import CONCURRENCY, PAGES_LATENCY_MS
from restsync.emulators import get_api
from restsync.emulators.process import EmulatorProcess as Emulator
from restsync.heap import frozen_heap
from restsync.http.transport import LoopAdapter
from restsync.sync import EXTRACT_UNCOMPRESSED_ENV, run_environment

ROUNDS = 40  # requests per thread
PAGE_ROUNDS = 60  # pages per thread
PAGE_SCALE = 2000  # hosting: 100,000 deployments, far more than the pages asked for
HOUR_MS = 3_600_000


def per_request_ms(url: str, threads: int) -> float:
    """Wall time per request, each of `threads` threads sending ROUNDS requests in a row."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=threads))
    session.get(url, timeout=30)  # connect once before timing

    def work() -> None:
        for _ in range(ROUNDS):
            session.get(url, timeout=30)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.perf_counter() - started) / ROUNDS * 1000


def per_page(base_url: str, threads: int, loop: bool, first: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per full page, `threads` threads each reading PAGE_ROUNDS,
    on requests' adapter or (`loop`) on restsync's event-loop one; thread n reads time range
    `first + n` (a range no earlier run read, so no answer is served from a warm cache)."""
    token = get_api("hosting").credentials["access_token"]
    session = requests.Session()
    adapter = HTTPAdapter(pool_maxsize=threads)
    session.mount("http://", LoopAdapter(adapter) if loop else adapter)
    session.headers["Authorization"] = f"Bearer {token}"
    url = base_url + "/v6/deployments"
    newest = session.get(url, params={"limit": 1}, timeout=30).json()["deployments"][0]

    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(PAGE_ROUNDS):  # distinct time ranges: no answer is a repeat
                until = newest["createdAt"] - ((first + offset) * PAGE_ROUNDS + i) * HOUR_MS
                page = session.get(url, params={"limit": 100, "until": until}, timeout=30).json()
                if len(page["deployments"]) != 100:
                    raise RuntimeError("asked past the oldest deployment: raise PAGE_SCALE")
        except BaseException as exc:  # a thread's error would otherwise vanish
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    session.close()
    if errors:
        raise errors[0]
    pages = threads * PAGE_ROUNDS
    wall_ms = (time.perf_counter() - started) / pages * 1000
    return wall_ms, (time.process_time() - cpu) / pages * 1000


def per_page_asyncio(base_url: str, tasks: int, first: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per full page on one asyncio loop (aiohttp, orjson): `tasks`
    tasks each reading PAGE_ROUNDS pages of time ranges from `first` on, as `per_page` does."""
    token = get_api("hosting").credentials["access_token"]
    url = base_url + "/v6/deployments"

    async def read_all() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=tasks)
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            async with session.get(url, params={"limit": 1}) as response:
                newest = orjson.loads(await response.read())["deployments"][0]["createdAt"]

            async def work(offset: int) -> None:
                for i in range(PAGE_ROUNDS):
                    until = newest - ((first + offset) * PAGE_ROUNDS + i) * HOUR_MS
                    params = {"limit": 100, "until": until}
                    async with session.get(url, params=params) as response:
                        page = orjson.loads(await response.read())
                    if len(page["deployments"]) != 100:
                        raise RuntimeError("asked past the oldest deployment: raise PAGE_SCALE")

            await asyncio.gather(*(work(n) for n in range(tasks)))

    started, cpu = time.perf_counter(), time.process_time()
    asyncio.run(read_all())
    pages = tasks * PAGE_ROUNDS
    wall_ms = (time.perf_counter() - started) / pages * 1000
    return wall_ms, (time.process_time() - cpu) / pages * 1000


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds process `pid` has used (Linux' /proc), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def dlt_extract_ms(page: list[dict[str, Any]], pages: int = 2000) -> float:
    """CPU milliseconds per page of dlt's extract alone: `page` (with distinct keys and cursor
    values) `pages` times through a resource keyed and cursored as the hosting connector's,
    extracted as restsync runs it (files not gzipped, the heap frozen)."""
    import dlt

    batches = []
    for n in range(pages):
        batch = orjson.loads(orjson.dumps(page))
        for i, row in enumerate(batch):
            row["uid"], row["createdAt"] = f"d{n}_{i}", 10**12 - (n * len(batch) + i) * 1000
        batches.append(batch)

    cursor = dlt.sources.incremental("createdAt", initial_value=0)

    @dlt.resource(name="deployments", primary_key="uid", write_disposition="merge")
    def deployments(since: Any = cursor) -> Any:
        yield from batches

    uncompressed = {EXTRACT_UNCOMPRESSED_ENV: "true"}
    with tempfile.TemporaryDirectory() as folder, run_environment(uncompressed), frozen_heap():
        pipeline = dlt.pipeline("extract_floor", pipelines_dir=folder, destination="duckdb")
        try:
            cpu = time.process_time()
            pipeline.extract(deployments())
            return (time.process_time() - cpu) / pages * 1000
        finally:
            pipeline.deactivate()  # its folder goes with this block


def main() -> None:
    """Start the emulator, time a bare client at 1 and 16 threads, print the floor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    emulator = Emulator("bi_workspace", "--latency-ms", str(args.latency_ms))
    try:
        url = emulator.base_url + "/groups"  # unauthenticated: a 401 after the same latency
        for threads in (1, CONCURRENCY):
            ms = per_request_ms(url, threads)
            print(f"{threads:>2} threads: {ms:.1f} ms a request at a nominal {args.latency_ms} ms"
                  f" ({ms / args.latency_ms:.3f}x)")  # fmt: skip
    finally:
        emulator.close()
    emulator = Emulator(
        "hosting", "--scale", str(PAGE_SCALE), "--latency-ms", str(PAGES_LATENCY_MS)
    )
    allowed = PAGES_LATENCY_MS / CONCURRENCY
    try:
        transports = ((False, "requests' adapter"), (True, "restsync's transport"))
        for n, (loop, transport) in enumerate(transports):
            wall_ms, cpu_ms = per_page(emulator.base_url, CONCURRENCY, loop, n * CONCURRENCY)
            print(f"full pages at {PAGES_LATENCY_MS} ms, {CONCURRENCY} threads, {transport}:"
                  f" {wall_ms:.2f} ms a page (client CPU {cpu_ms:.2f} ms), where the bound"
                  f" allows {allowed:.2f}: {wall_ms / allowed:.2f}x the bound before dlt"
                  " touches a row")  # fmt: skip
        before = process_cpu_s(emulator.process.pid)
        wall_ms, cpu_ms = per_page_asyncio(emulator.base_url, CONCURRENCY, 2 * CONCURRENCY)
        after = process_cpu_s(emulator.process.pid)
        served = ""
        if before is not None and after is not None:
            server_ms = (after - before) * 1000 / (CONCURRENCY * PAGE_ROUNDS)
            served = f", emulator CPU {server_ms:.2f} ms"
        print(f"full pages at {PAGES_LATENCY_MS} ms, {CONCURRENCY} asyncio tasks (aiohttp, orjson,"
              f" one thread): {wall_ms:.2f} ms a page (client CPU {cpu_ms:.2f} ms{served}):"
              f" {wall_ms / allowed:.2f}x the bound, the leanest Python client")  # fmt: skip
        token = get_api("hosting").credentials["access_token"]
        page = requests.get(
            emulator.base_url + "/v6/deployments",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["deployments"]
    finally:
        emulator.close()
    extract_ms = dlt_extract_ms(page)
    print(f"dlt's extract alone (incremental cursor, merge key, no HTTP): {extract_ms:.2f} ms"
          f" of CPU a page, {extract_ms / allowed:.2f}x the bound's time a page")  # fmt: skip


if __name__ == "__main__":
    main()
