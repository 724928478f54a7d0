"""restsync against plain dlt on the same emulated APIs, in one run: fan-out, rate limit, volume.

Run:  .venv/bin/python benchmarks/bench.py [fanout ratelimit volume volume20 pages child_pages]
      [--quick]
Prints a table and writes benchmarks/results/bench.json. The emulator runs in its own process
(`restsync emulate`) so that server and client do not share a GIL; each variant runs in its own
process too, so its peak RSS is its own. `--quick` shrinks every workload (for a smoke run).

- fanout: bi_workspace, ~2,000 child requests at 50 ms latency. restsync at its defaults vs
  plain dlt `rest_api_source` on the same (translated) config with its defaults (children one
  parent at a time) and with every tuning it offers (`parallelized` children, 20 workers);
  and restsync at 20 in flight too, like for like with that tuning. `flight` is the most
  requests the emulator saw in flight at once; each variant's served span is also set against
  its own floor (its requests x latency / that most in flight): dlt_tuned runs 20 to restsync's
  16, so where both come near their floors, dlt_tuned's is 16/20 of restsync's.
- ratelimit: the same with the emulator limited to 50 requests/s (announcing its quota in
  X-RateLimit-* headers); restsync told the limit, and not told (it reads the headers); and
  `restsync_silent`: not told, against an emulator that announces nothing until a 429.
- volume: hosting deployments only (~200,000 records), no latency, end to end into DuckDB; with
  restsync's peak RSS at the end of its extract step, before DuckDB's load adds its buffer pool.
- volume20: the same at 20 ms latency: restsync reads time ranges side by side, plain dlt one
  page after another; against the bound `pages x latency / concurrency`. `restsync_req` is
  restsync on requests' own transport adapter (`RESTSYNC_HTTP_TRANSPORT=requests`). Bare
  clients that load nothing read the same pages for scale: a requests client on 16 threads, on
  each transport, and the leanest Python client (asyncio tasks, aiohttp, orjson).
- pages: one long offset collection (commerce customers, 500 pages of 100) at 20 ms latency:
  restsync's pages ahead vs plain dlt's one page after another, against the bound
  `pages x latency / concurrency`; `served` is the emulator's first-to-last request span.
- child_pages: one parent's long child collection (product_analytics events at 2 a page: 116
  pages for the first product) at 20 ms: restsync's child windows vs plain dlt, default and
  tuned (dlt reads each parent's pages one after another), against the same bound.
  In these three, restsync runs 3 times (once with --quick): its row is the run with the median
  served span, and end-to-end ratios use the median of its seconds.
Against a bound, the CPU seconds of restsync's extract step (all threads) are printed beside its
wall seconds: near 100% of one core, the step is CPU bound (its threads share one GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from restsync.emulators.process import EmulatorProcess as Emulator

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
LATENCY_MS = 50
FANOUT_SCALE, FANOUT_QUICK = 14, 2  # bi_workspace: ~140 child requests per scale unit
RATE = 50
VOLUME_SCALE, VOLUME_QUICK = 4000, 200  # hosting: 50 deployments per scale unit
CONCURRENCY = 16
PAGES_LATENCY_MS = 20
PAGES_SCALE, PAGES_QUICK = 1351, 135  # commerce: 37 customers per scale unit, 100 a page
CHILD_PAGES = {"events": {"type": "offset", "limit": 2, "offset_param": "offset"}}
DLT_TUNED_WORKERS = 20
YARDSTICK_ROUNDS = 200
REPEATS = 3  # fanout's fast variants, and restsync in volume20 and pages: the median of 3 runs


def run_variant(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one sync in a fresh process; its seconds, rows and peak RSS."""
    done = subprocess.run(
        [sys.executable, __file__, "--variant", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"variant {spec['label']} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def timed_extract() -> dict[str, float]:
    """Time dlt's extract step in this process, in wall and CPU seconds (all threads), and the
    peak RSS when it ends: the dict is filled in when the step ends. CPU near wall means the step
    is CPU bound; the RSS is the sync's own before DuckDB's load adds its buffer pool."""
    from dlt.pipeline.pipeline import Pipeline

    spent: dict[str, float] = {}
    extract = Pipeline.extract

    def timed(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return extract(self, *args, **kwargs)
        finally:
            spent["extract_seconds"] = time.perf_counter() - wall
            spent["extract_cpu_seconds"] = time.process_time() - cpu
            spent["extract_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    Pipeline.extract = timed  # type: ignore[method-assign]
    return spent


def variant(spec: dict[str, Any]) -> None:
    """Inside the variant's process: build the source restsync's or plain dlt's way, sync."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    from restsync.config.dialect import translate
    from restsync.connectors import get_connector
    from restsync.emulators import get_api
    from restsync.http.budget import RateLimit
    from restsync.http.guard import SelectorGuard
    from restsync.http.transport import TRANSPORT_ENV
    from restsync.source import build_source
    from restsync.sync import SyncOptions, sync

    name = spec["api"]
    values = {"base_url": spec["base_url"], **get_api(name).credentials, **spec["settings"]}
    destination = dlt.destinations.duckdb(str(Path(spec["folder"]) / f"{spec['label']}.duckdb"))
    spent = timed_extract()
    started = time.perf_counter()
    seed_config = get_connector(name).config(values)
    for item in seed_config["resources"]:  # a page size other than the connector's
        if item["name"] in spec.get("paginators", {}):
            item["endpoint"]["paginator"] = spec["paginators"][item["name"]]
    if spec.get("transport"):  # read when the session is made
        os.environ[TRANSPORT_ENV] = spec["transport"]
    if spec["mode"] == "restsync":
        rate = RateLimit(spec["rate"], 1) if spec.get("rate") else None
        concurrency = spec.get("concurrency", CONCURRENCY)
        options = SyncOptions(
            destination=destination, full_refresh=True, rate_limit=rate, concurrency=concurrency
        )
        selection = tuple(spec.get("resources", ()))  # the big collection alone: no children
        source_options = replace(options.source_options(name), resources=selection)
        source = build_source(seed_config, source_options)
        if selection:  # past check_selection: no later sync of this dataset needs the children
            source = source.with_resources(*selection)
        result = sync(source, options)
        rows = sum(result.loaded_rows.values())
    else:  # plain dlt on the translated config: dlt's session, paging and extract pool
        config = translate(seed_config).config
        for item in config["resources"]:  # restsync's selector check is not plain dlt's
            paginator = item["endpoint"].get("paginator")
            if isinstance(paginator, SelectorGuard):
                item["endpoint"]["paginator"] = paginator.inner
        if spec["mode"] == "dlt_tuned":
            os.environ["EXTRACT__WORKERS"] = str(DLT_TUNED_WORKERS)
            for item in config["resources"]:
                params = item["endpoint"].get("params") or {}
                if any(isinstance(v, dict) and v.get("type") == "resolve" for v in params.values()):
                    item["parallelized"] = True
        source = rest_api_source(config, name=name)  # type: ignore[arg-type]
        if spec.get("resources"):
            source = source.with_resources(*spec["resources"])
        pipeline = dlt.pipeline(
            f"plain_{spec['label']}", destination=destination, dataset_name=name
        )
        pipeline.run(source, refresh="drop_sources")
        counts = pipeline.last_trace.last_normalize_info.row_counts  # type: ignore[union-attr]
        rows = sum(n for t, n in counts.items() if not t.startswith("_dlt"))
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "rss_mb": rss_mb, **spent}))


def measure(emulator: Emulator, base: dict[str, Any], label: str, **extra: Any) -> dict[str, Any]:
    """One variant against a running emulator, with the requests the emulator saw."""
    emulator.stats(clear=True)
    result = run_variant({**base, "label": label, **extra})
    stats = emulator.stats(clear=True)
    result.update(
        requests=stats["requests"],
        rate_limited=stats["status"].get("429", 0),
        served_seconds=stats["seconds"],
        in_flight=stats["max_in_flight"],
    )
    return result


def repeated(
    emulator: Emulator,
    base: dict[str, Any],
    variants: dict[str, dict[str, Any]],
    times: int,
    key: str = "seconds",
) -> dict[str, Any]:
    """Each variant `times` times, interleaved (so drift hits all alike); the median run of each
    by `key` (end to end, or `served_seconds` where the target is on the served span).

    On a shared 2-core machine one run of an 8 s variant varies by a second or more.
    """
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
    for _ in range(times):
        for label, extra in variants.items():
            runs[label].append(measure(emulator, base, label, **extra))
    out: dict[str, Any] = {}
    for label, results in runs.items():
        ordered = sorted(results, key=lambda r: r[key])
        seconds = sorted(r["seconds"] for r in results)[len(results) // 2]
        out[label] = {**ordered[len(ordered) // 2], "median_of": key,
                      "all": [r[key] for r in results], "median_seconds": seconds}  # fmt: skip
    return out


def fanout(folder: str, quick: bool, rate: float | None = None) -> dict[str, Any]:
    """bi_workspace fan-out: restsync vs plain dlt (default and tuned), and the latency bound."""
    scale = FANOUT_QUICK if quick else FANOUT_SCALE
    args = ["--scale", str(scale), "--latency-ms", str(LATENCY_MS)]
    if rate:
        args += ["--rate-limit", str(rate)]
    emulator = Emulator("bi_workspace", *args)
    base = {"api": "bi_workspace", "base_url": emulator.base_url, "folder": folder,
            "settings": {"workspace": "acme"}}  # fmt: skip
    try:
        if rate is not None:  # told the limit (--rate-limit), and left to read the quota headers
            out: dict[str, Any] = {
                "restsync": measure(emulator, base, "restsync", mode="restsync", rate=rate),
                "restsync_untold": measure(emulator, base, "rl_untold", mode="restsync"),
            }
            emulator.close()  # and an API that says nothing until it answers 429
            emulator = Emulator("bi_workspace", *args, "--no-quota-headers")
            silent = {**base, "base_url": emulator.base_url}
            out["restsync_silent"] = measure(emulator, silent, "rl_silent", mode="restsync")
        else:
            variants: dict[str, dict[str, Any]] = {
                "restsync": {"mode": "restsync"},
                "dlt_tuned": {"mode": "dlt_tuned"},
                f"restsync_{DLT_TUNED_WORKERS}": {  # like for like: 20 in flight each
                    "mode": "restsync",
                    "concurrency": DLT_TUNED_WORKERS,
                },
            }
            out = repeated(emulator, base, variants, 1 if quick else REPEATS)
            out["dlt_default"] = measure(emulator, base, "dlt_default", mode="dlt_default")
    finally:
        emulator.close()
    requests_made = out["restsync"]["requests"]
    if rate is None:  # each variant's own floor: its requests x latency / its most in flight
        out["latency_ms"] = LATENCY_MS
    out["bound_seconds"] = (
        requests_made / rate if rate else requests_made * LATENCY_MS / 1000 / CONCURRENCY
    )
    return out


def volume(folder: str, quick: bool, latency_ms: int = 0) -> dict[str, Any]:
    """hosting deployments end to end into DuckDB: records/s and peak RSS; with a latency, the
    bound `pages x latency / concurrency` for the one big collection."""
    scale = VOLUME_QUICK if quick else VOLUME_SCALE
    emulator = Emulator("hosting", "--scale", str(scale), "--latency-ms", str(latency_ms))
    base = {"api": "hosting", "base_url": emulator.base_url, "folder": folder, "settings": {},
            "resources": ["deployments"]}  # fmt: skip
    try:
        ours = {"vol_restsync": {"mode": "restsync"}}
        if latency_ms:  # restsync on requests' own adapter: what its transport is worth
            ours["vol_on_requests"] = {"mode": "restsync", "transport": "requests"}
        times = REPEATS if latency_ms and not quick else 1  # the served-span target: a median
        runs = repeated(emulator, base, ours, times, "served_seconds")
        out: dict[str, Any] = {"restsync": runs["vol_restsync"]}
        if latency_ms:
            out["restsync_req"] = runs["vol_on_requests"]
        out["dlt_default"] = measure(emulator, base, "vol_dlt", mode="dlt_default")
        if latency_ms:  # what a bare requests client does on these pages, dlt aside
            from latency_floor import per_page, per_page_asyncio  # it imports this module

            url, n = emulator.base_url, CONCURRENCY
            out["bare_client_ms_per_page"] = per_page(url, n, loop=False, first=0)[0]
            out["bare_loop_ms_per_page"] = per_page(url, n, loop=True, first=n)[0]
            out["bare_asyncio_ms_per_page"] = per_page_asyncio(url, n, first=2 * n)[0]
    finally:
        emulator.close()
    if latency_ms:
        pages_needed = out["dlt_default"]["requests"]  # one chain: exactly the pages needed
        out["bound_seconds"] = pages_needed * latency_ms / 1000 / CONCURRENCY
        out["bare_client_seconds"] = pages_needed * out["bare_client_ms_per_page"] / 1000
        out["bare_loop_seconds"] = pages_needed * out["bare_loop_ms_per_page"] / 1000
        out["bare_asyncio_seconds"] = pages_needed * out["bare_asyncio_ms_per_page"] / 1000
    return out


def pages(folder: str, quick: bool) -> dict[str, Any]:
    """One long offset collection at 20 ms: pages fetched ahead vs one after another."""
    scale = PAGES_QUICK if quick else PAGES_SCALE
    extra = {"resources": ["customers"]}
    return long_collection(folder, quick, ("commerce", scale), extra, ["dlt_default"])


def child_pages(folder: str, quick: bool) -> dict[str, Any]:
    """One parent's long child collection at 20 ms: a child window vs dlt's one page at a time."""
    extra = {"resources": ["products", "events"], "paginators": CHILD_PAGES}
    workload = ("product_analytics", 1)
    return long_collection(folder, quick, workload, extra, ["dlt_tuned", "dlt_default"])


def long_collection(
    folder: str, quick: bool, workload: tuple[str, int], extra: dict[str, Any], plain: list[str]
) -> dict[str, Any]:
    """An API at a scale (`workload`) at 20 ms: restsync (the run with the median served span
    of REPEATS) vs plain dlt's `plain` modes, against `pages x latency / concurrency`."""
    api, scale = workload
    emulator = Emulator(api, "--scale", str(scale), "--latency-ms", str(PAGES_LATENCY_MS))
    base = {"api": api, "base_url": emulator.base_url, "folder": folder, "settings": {}, **extra}
    try:
        ours = {f"{api}_restsync": {"mode": "restsync"}}
        times = 1 if quick else REPEATS  # the served-span target: a median
        out = {
            "restsync": repeated(emulator, base, ours, times, "served_seconds")[f"{api}_restsync"]
        }
        for mode in plain:
            out[mode] = measure(emulator, base, f"{api}_{mode}", mode=mode)
    finally:
        emulator.close()
    needed = out["dlt_default"]["requests"]  # plain dlt asks for exactly the pages needed
    out["bound_seconds"] = needed * PAGES_LATENCY_MS / 1000 / CONCURRENCY
    return out


def floor_ratio(run: dict[str, Any], latency_ms: float) -> float:
    """A run's served span over its own floor (its requests x latency / the most it had in
    flight): how near a variant came to the best its concurrency allows."""
    floor = run["requests"] * latency_ms / 1000 / run["in_flight"]
    return float(run["served_seconds"] / floor)


def yardstick() -> float:
    """Milliseconds of CPU this machine takes to parse a 37 kB JSON page of 50 records and walk
    its rows: the same code ran 3x slower on some days than others, so CPU-bound figures from
    two days compare only beside this."""
    rows = [
        {"id": i, "name": f"record {i}", "tags": ["a", "b", "c"], "at": "2024-05-04T20:17:55Z",
         "meta": {"n": i * 7, "ok": i % 2 == 0, "note": "x" * 600}}
        for i in range(50)
    ]  # fmt: skip
    page = json.dumps({"data": rows})
    best = float("inf")
    for _ in range(3):  # the best of 3, so another process's burst does not count
        started = time.process_time()
        for _ in range(YARDSTICK_ROUNDS):
            for row in json.loads(page)["data"]:
                {key: value for key, value in row.items() if value is not None}
        best = min(best, time.process_time() - started)
    return best * 1000 / YARDSTICK_ROUNDS


def report(results: dict[str, Any], speed: float) -> None:
    """The table: seconds, rows, requests, 429s, RSS; ratios against plain dlt."""
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, CPU yardstick {speed:.3f} ms (a 37 kB JSON page"
          " parsed and walked; lower is faster)")  # fmt: skip
    for bench, runs in results.items():
        bound = runs.get("bound_seconds")
        print(f"\n{bench}" + (f"  (bound {bound:.1f} s)" if bound else ""))
        print(f"  {'variant':<16}{'seconds':>9}{'served':>8}{'rows':>9}{'requests':>10}"
              f"{'429s':>6}{'req/s':>8}{'flight':>7}{'RSS MB':>8}{'rows/s':>10}")  # fmt: skip
        for label, r in runs.items():
            if not isinstance(r, dict):
                continue
            rps = r["requests"] / r["seconds"] if r["seconds"] else 0
            print(f"  {label:<16}{r['seconds']:>9.1f}{r['served_seconds']:>8.1f}{r['rows']:>9}"
                  f"{r['requests']:>10}"
                  f"{r['rate_limited']:>6}{rps:>8.1f}{r['in_flight']:>7}{r['rss_mb']:>8.0f}"
                  f"{r['rows'] / r['seconds']:>10.0f}")  # fmt: skip
        for label, r in runs.items():
            if isinstance(r, dict) and len(r.get("all", ())) > 1:
                what = "served span" if r["median_of"] == "served_seconds" else "seconds"
                values = ", ".join(f"{x:.1f}" for x in r["all"])
                print(f"  {label}: the median {what} of {values} s")
        ours = runs["restsync"].get("median_seconds", runs["restsync"]["seconds"])
        for label in ("dlt_default", "dlt_tuned"):
            if label in runs:
                print(f"  restsync is {runs[label]['seconds'] / ours:.2f}x faster than {label}")
        same = runs.get(f"restsync_{DLT_TUNED_WORKERS}")
        if same and "dlt_tuned" in runs:
            ratio = runs["dlt_tuned"]["seconds"] / same["seconds"]
            print(f"  at {DLT_TUNED_WORKERS} in flight each, restsync is {ratio:.2f}x faster"
                  " than dlt_tuned")  # fmt: skip
        if latency := runs.get("latency_ms"):
            floors = ", ".join(
                f"{label} {floor_ratio(r, latency):.2f} ({r['in_flight']} in flight)"
                for label, r in runs.items()
                if isinstance(r, dict) and r.get("in_flight")
            )
            print("  served span / each variant's own floor (its requests x latency / the most it"
                  f" had in flight):\n    {floors}")  # fmt: skip
        if bound:
            served = runs["restsync"]["served_seconds"]
            print(f"  restsync / bound = {ours / bound:.2f} end to end,"
                  f" {served / bound:.2f} served span")  # fmt: skip
        extract_rss = runs["restsync"].get("extract_rss_mb")
        if extract_rss and not bound:  # the volume run: what is left is DuckDB's load
            print(f"  restsync's peak RSS by the end of its extract step: {extract_rss:.0f} MB"
                  f" (the rest of its {runs['restsync']['rss_mb']:.0f} MB is normalize and"
                  " DuckDB's load)")  # fmt: skip
        cpu = runs["restsync"].get("extract_cpu_seconds")
        if cpu and bound:  # on one GIL, a step near 100% of one core is CPU bound
            wall = runs["restsync"]["extract_seconds"]
            print(f"  restsync's extract step: {cpu:.1f} s of CPU in {wall:.1f} s"
                  f" ({cpu / wall:.0%} of one core)")  # fmt: skip
        on_requests = runs.get("restsync_req")
        if on_requests:
            ratio = on_requests["served_seconds"] / runs["restsync"]["served_seconds"]
            print(f"  restsync's transport: a served span {ratio:.2f}x shorter than on requests'"
                  " own adapter")  # fmt: skip
        bare, loop = runs.get("bare_client_seconds"), runs.get("bare_loop_seconds")
        if bare and loop and bound:
            print(f"  a bare requests client ({CONCURRENCY} threads, JSON parsed, nothing"
                  f" loaded) would take {bare:.1f} s on requests' adapter: {bare / bound:.2f}x"
                  f" the bound; {loop:.1f} s on restsync's: {loop / bound:.2f}x")  # fmt: skip
        lean = runs.get("bare_asyncio_seconds")
        if lean and bound:
            print(f"  the leanest client ({CONCURRENCY} asyncio tasks on one thread, aiohttp and"
                  f" orjson, nothing loaded) would take {lean:.1f} s: {lean / bound:.2f}x the"
                  " bound")  # fmt: skip


def main() -> None:
    """Parse the benchmarks to run, run them, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "benchmarks",
        nargs="*",
        default=["fanout", "ratelimit", "volume", "volume20", "pages", "child_pages"],
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        variant(json.loads(args.variant))
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # dlt's pipeline folders and DuckDB files stay in the temp dir
        if "fanout" in args.benchmarks:
            results["fanout"] = fanout(folder, args.quick)
        if "ratelimit" in args.benchmarks:
            results["ratelimit"] = fanout(folder, args.quick, rate=RATE)
        if "volume" in args.benchmarks:
            results["volume"] = volume(folder, args.quick)
        if "volume20" in args.benchmarks:
            results["volume20"] = volume(folder, args.quick, latency_ms=PAGES_LATENCY_MS)
        if "pages" in args.benchmarks:
            results["pages"] = pages(folder, args.quick)
        if "child_pages" in args.benchmarks:
            results["child_pages"] = child_pages(folder, args.quick)
    speed = yardstick()
    report(results, speed)
    RESULTS.mkdir(exist_ok=True)
    machine = {"cores": os.cpu_count(), "yardstick_ms": speed}
    (RESULTS / "bench.json").write_text(json.dumps({**results, "machine": machine}, indent=2))


if __name__ == "__main__":
    main()
