"""The emulator's real time per request at a nominal latency: the floor under every bound.

Run:  .venv/bin/python benchmarks/latency_floor.py [--latency-ms 50]
A bare `requests` loop (no dlt, no restsync) against `restsync emulate bi_workspace`, with one
thread and with 16: the milliseconds a request really takes, and so the fastest any client can
do `requests x latency / 16`.
"""

from __future__ import annotations

import argparse
import threading
import time

import requests
from requests.adapters import HTTPAdapter

from bench import CONCURRENCY, Emulator

ROUNDS = 40  # requests per thread


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


if __name__ == "__main__":
    main()
