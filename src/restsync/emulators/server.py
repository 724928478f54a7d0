"""Running an emulator: in a background thread for tests, or in the foreground for the CLI.

uvicorn serves the ASGI app on a socket bound here (port 0 picks a free port, known at once), in a
thread of its own with its own event loop; the thread installs no signal handlers, so Ctrl-C
reaches the caller. Stopping asks uvicorn to exit and joins the thread.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TextIO
from urllib.parse import quote

import uvicorn

from restsync.emulators.core import EmulatorApp
from restsync.emulators.faults import NO_FAULTS, Faults
from restsync.emulators.log import RequestLog
from restsync.emulators.registry import ApiDefinition, get_api
from restsync.emulators.spec import PLACEHOLDER
from restsync.emulators.store import Params, Served, Store
from restsync.heap import frozen_heap

__all__ = ["Emulator", "EmulatorOptions", "run_emulator", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SCALE = 1
DEFAULT_SEED = 0
DEFAULT_PORT = 0
MAX_PORT = 65535
STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.005
SERVE_POLL_S = 0.5
LIMIT_CONCURRENCY = 1024
BACKLOG = 2048
KEEP_ALIVE_S = 30  # long enough that a client waiting out Retry-After keeps its connection
GRACEFUL_SHUTDOWN_S = 2
LOG_LEVEL = "warning"


@dataclass(frozen=True)
class EmulatorOptions:
    """How big the data is, which seed draws it, what goes wrong, and where to listen."""

    scale: int = DEFAULT_SCALE
    seed: int = DEFAULT_SEED
    faults: Faults = NO_FAULTS
    port: int = DEFAULT_PORT
    settings: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scale < 0:
            raise ValueError(f"scale must be >= 0, got {self.scale}")
        if not 0 <= self.port <= MAX_PORT:
            raise ValueError(f"port must be within 0..{MAX_PORT}, got {self.port}")


def _resolve(api: str | ApiDefinition) -> ApiDefinition:
    return get_api(api) if isinstance(api, str) else api


class Emulator:
    """One emulated API: its data, request log and faults, and the server that serves them."""

    def __init__(self, api: str | ApiDefinition, options: EmulatorOptions | None = None) -> None:
        self._api = _resolve(api)
        self._options = options or EmulatorOptions()
        spec = self._api.spec
        unknown = sorted(set(self._options.settings) - set(spec.default_settings()))
        if unknown:
            known = sorted(spec.default_settings())
            raise ValueError(f"'{spec.name}' has no settings {unknown}; it has {known}")
        self._settings = {**spec.default_settings(), **self._options.settings}
        self.store: Store = self._api.build_store(self._options.seed, self._options.scale)
        self.requests = RequestLog()
        self._app = EmulatorApp(spec, self.store, self.requests, self._settings)
        self._app.set_faults(self._options.faults)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind the port and serve from a background thread; returns once it accepts requests."""
        if self._thread is not None:
            raise RuntimeError(f"emulator '{self.name}' is already running")
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets; without it every
        # response waits ~40 ms on Nagle's algorithm and delayed ACKs.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((DEFAULT_HOST, self._options.port))
        except OSError:
            sock.close()
            raise
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self._app,
            host=DEFAULT_HOST,
            port=self._port,
            http="auto",  # httptools and uvloop (pinned; pure-Python h11 where they are missing)
            loop="auto",
            lifespan="off",
            log_level=LOG_LEVEL,
            log_config=None,
            access_log=False,
            server_header=False,
            limit_concurrency=LIMIT_CONCURRENCY,
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"emulator-{self.name}", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        self._wait_started(server, thread, sock)
        return self

    def _wait_started(
        self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket
    ) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"emulator '{self.name}' did not start on port {self._port}")
            time.sleep(POLL_INTERVAL_S)

    def stop(self) -> None:
        """Stop serving and join the server thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start() if self._thread is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what a client and a test need ---------------------------------------------------------

    @property
    def name(self) -> str:
        """The API's name."""
        return self._api.name

    @property
    def api(self) -> ApiDefinition:
        """The API definition served."""
        return self._api

    @property
    def options(self) -> EmulatorOptions:
        """The options the emulator was created with."""
        return self._options

    @property
    def settings(self) -> dict[str, str]:
        """Every setting's value in force (defaults filled in), e.g. the workspace name."""
        return dict(self._settings)

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The bound port (the free one picked when options.port was 0)."""
        if self._port is None:
            raise RuntimeError(f"emulator '{self.name}' has not been started")
        return self._port

    @property
    def host_url(self) -> str:
        """`http://127.0.0.1:<port>`, without the API prefix."""
        return f"http://{DEFAULT_HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL a client's `base_url` should hold: host plus prefix (settings filled in)."""
        return self.host_url + self._fill(self._api.spec.prefix, {})

    @property
    def credentials(self) -> dict[str, str]:
        """What a client needs to authenticate, e.g. `{"username": ..., "password": ...}`."""
        return self._api.credentials

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._app.faults

    def set_faults(self, faults: Faults) -> None:
        """Change faults while running; the rate bucket refills and the fault draws restart."""
        self._app.set_faults(faults)

    @property
    def max_in_flight(self) -> int:
        """The most requests answered at once since start or the last reset."""
        return self._app.max_in_flight

    def truth(self, resource: str) -> list[Served]:
        """Every record the API serves for `resource`, with the params of the URL serving it."""
        return self.store.truth(resource)

    def url(self, resource: str, params: Params = ()) -> str:
        """The full URL serving one collection of `resource`, params filled in."""
        spec = self._api.spec
        key = self.store.key(resource, params)
        values = dict(zip(spec.params_of(resource), key, strict=True))
        return self.host_url + self._fill(spec.prefix + spec.endpoint(resource).path, values)

    def _fill(self, template: str, values: Mapping[str, str]) -> str:
        merged = {**self._settings, **values}
        return PLACEHOLDER.sub(lambda m: quote(merged[m.group(1)], safe=""), template)

    def reset(self) -> None:
        """Back to the start: regenerated data, an empty request log, the option's faults."""
        self.store.load(self._api.build_store(self._options.seed, self._options.scale))
        self.requests.clear()
        self._app.reset_in_flight()
        self._app.set_faults(self._options.faults)


@contextmanager
def run_emulator(
    api: str | ApiDefinition, options: EmulatorOptions | None = None
) -> Iterator[Emulator]:
    """Serve an API from a background thread for the duration of a `with` block (tests)."""
    emulator = Emulator(api, options)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def serve(
    api: str | ApiDefinition,
    options: EmulatorOptions | None = None,
    port: int | None = None,
    out: TextIO | None = None,
) -> None:
    """Serve an API in the foreground until Ctrl-C, printing where and with what credentials."""
    options = options or EmulatorOptions()
    if port is not None:
        options = replace(options, port=port)
    stream = out or sys.stdout
    with run_emulator(api, options) as emulator, frozen_heap():  # the store, built: frozen
        lines = [f"{emulator.name} emulator serving at {emulator.base_url}"]
        lines += [f"  {name}: {value}" for name, value in emulator.credentials.items()]
        lines += [f"  setting {name}: {value}" for name, value in emulator.settings.items()]
        lines.append("Press Ctrl-C to stop.")
        try:  # from the first line out: whoever reads it may press Ctrl-C at once
            print("\n".join(lines), file=stream, flush=True)
            while emulator.running:
                time.sleep(SERVE_POLL_S)
        except KeyboardInterrupt:
            pass
