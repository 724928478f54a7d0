"""Running emulators: startup, shutdown, ports, the request log, the registry and `serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import restsync
from restsync.emulators import (
    Emulator,
    EmulatorOptions,
    Faults,
    Outcome,
    available,
    get_api,
    run_emulator,
)
from restsync.errors import UnknownConnectorError
from tests.emulators.toy_api import TOY_API, Client

TIMEOUT_S = 10
SEQUENTIAL_REQUESTS = 50
CONCURRENT_CONNECTIONS = 50


def _emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("emulator-toy")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_start_is_fast_and_stop_is_clean() -> None:
    before = len(_emulator_threads())
    started = time.monotonic()
    with run_emulator(TOY_API) as emu:
        assert time.monotonic() - started < 1.0
        assert emu.running
        assert Client(emu).get("/me").status_code == 200
        assert emu.base_url == f"http://127.0.0.1:{emu.port}/api"
        assert emu.host_url == f"http://127.0.0.1:{emu.port}"
    assert not emu.running
    assert len(_emulator_threads()) == before
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.base_url + "/me", timeout=TIMEOUT_S)


def test_a_second_emulator_starts_on_the_same_port_right_after() -> None:
    port = _free_port()
    for _ in range(2):
        with run_emulator(TOY_API, EmulatorOptions(port=port)) as emu:
            assert emu.port == port
            client = Client(emu)
            assert client.get("/me").status_code == 200  # leaves a keep-alive connection open
        client.session.close()


def test_two_emulators_side_by_side() -> None:
    with run_emulator(TOY_API) as first, run_emulator("feature_flags") as second:
        assert first.port != second.port
        assert Client(first).get("/me").status_code == 200
        assert Client(second).get("/organizations").status_code == 200


def test_stop_twice_and_start_twice() -> None:
    emu = Emulator(TOY_API)
    with pytest.raises(RuntimeError, match="not been started"):
        _ = emu.port
    emu.start()
    with pytest.raises(RuntimeError, match="already running"):
        emu.start()
    emu.stop()
    emu.stop()


def test_sequential_requests_are_fast(toy: Emulator, toy_client: Client) -> None:
    """Guards TCP_NODELAY: without it each response waits ~40 ms on Nagle and delayed ACKs."""
    started = time.monotonic()
    for _ in range(SEQUENTIAL_REQUESTS):
        toy_client.get("/me")
    assert time.monotonic() - started < 1.0


def test_fifty_concurrent_connections_with_latency(toy: Emulator) -> None:
    toy.set_faults(Faults(latency_ms=300))
    barrier = threading.Barrier(CONCURRENT_CONNECTIONS)

    def one(_: int) -> int:
        client = Client(toy)
        barrier.wait()
        return client.get("/items").status_code

    with ThreadPoolExecutor(CONCURRENT_CONNECTIONS) as pool:
        started = time.monotonic()
        statuses = list(pool.map(one, range(CONCURRENT_CONNECTIONS)))
    assert statuses == [200] * CONCURRENT_CONNECTIONS
    assert time.monotonic() - started < 3.0  # 15 s if served one at a time


def test_request_log_counts(toy: Emulator, toy_client: Client) -> None:
    toy_client.get("/items")
    toy_client.get("/items", offset=5)
    toy_client.get_url(toy.url("children", (1,)))
    toy_client.get("/me")
    toy_client.get("/nope")
    assert len(toy.requests) == 5
    assert toy.requests.count(resource="items") == 2
    assert toy.requests.count(path_prefix="/api/items") == 3
    assert toy.requests.count(resource="children") == 1
    assert toy.requests.count(status=404) == 1
    assert toy.requests.count(outcome=Outcome.SERVED) == 4
    entry = toy.requests.select(resource="items")[1]
    assert entry.method == "GET" and entry.path == "/api/items" and entry.query == {"offset": "5"}
    entries = toy.requests.entries()
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    toy.requests.clear()
    assert len(toy.requests) == 0


def test_reset_restores_data_log_and_faults(toy: Emulator, toy_client: Client) -> None:
    before = toy.truth("items")
    toy.store.add("items", {"id": 10_000, "updated": "2024-01-01 00:00:00"})
    toy.set_faults(Faults(fail_rate=1.0))
    toy_client.get("/me")
    toy.reset()
    assert toy.truth("items") == before
    assert len(toy.requests) == 0
    assert toy.faults == Faults()


def test_registry() -> None:
    assert "feature_flags" in available()
    assert available() == sorted(available())
    api = get_api("feature_flags")
    assert api.name == "feature_flags"
    assert set(api.credentials) == {"username", "password"}
    with pytest.raises(UnknownConnectorError, match="feature_flags"):
        get_api("nope")


@pytest.mark.parametrize("name", available())
def test_every_registered_api_serves_every_resource(name: str) -> None:
    with run_emulator(name) as emu:
        client = Client(emu)
        for resource in emu.api.spec.resources:
            keys = emu.store.keys(resource)
            assert keys, resource
            assert client.get_url(emu.url(resource, keys[0])).status_code == 200, resource


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="scale"):
        EmulatorOptions(scale=-1)
    with pytest.raises(ValueError, match="port"):
        EmulatorOptions(port=70_000)
    with pytest.raises(ValueError, match="no settings"):
        Emulator(TOY_API, EmulatorOptions(settings={"workspace": "x"}))


def test_settings_option_changes_urls() -> None:
    with run_emulator(TOY_API, EmulatorOptions(settings={"space": "team a"})) as emu:
        assert emu.url("pages") == f"{emu.base_url}/team%20a/pages"
        assert Client(emu).get_url(emu.url("pages")).status_code == 200


def test_serve_runs_until_ctrl_c() -> None:
    src = str(Path(restsync.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    code = "from restsync.emulators import serve; serve('feature_flags', port=0)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "feature_flags emulator serving at http://127.0.0.1:" in first
        base_url = first.rsplit(" ", 1)[1].strip()
        username = proc.stdout.readline().split(": ", 1)[1].strip()
        password = proc.stdout.readline().split(": ", 1)[1].strip()
        assert "Ctrl-C" in proc.stdout.readline()
        response = requests.get(
            base_url + "/organizations", auth=(username, password), timeout=TIMEOUT_S
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_values_orjson_cannot_encode_are_served_exactly(toy: Emulator, toy_client: Client) -> None:
    # the emulator encodes with orjson and falls back to the stdlib for what orjson refuses
    odd = {"id": 10_001, "updated": "2024-01-01 00:00:00", "big": 2**70, "name": "M\u00fcller"}
    toy.store.add("items", odd)
    offset, served = 0, []
    while page := toy_client.json("/items", offset=offset)["data"]:
        served += page
        offset += len(page)
    assert [item for item in served if item["id"] == odd["id"]] == [odd]
