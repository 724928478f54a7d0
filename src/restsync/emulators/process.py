"""An emulator in a process of its own: `restsync emulate` as a subprocess, read over HTTP.

`run_emulator` serves from a thread of the caller's process, which is what most tests want (the
store and the request log are right there). But that thread shares the GIL with the client under
test: when a sync keeps a dozen threads busy, the server reads queued requests late and stamps
them together. Timing measured at the server (the benchmarks; a rate bound over every window)
needs the server's clock to run apart from the client, so it runs the emulator here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from typing import IO, Any

import requests

from restsync.emulators.core import STATS_PATH

__all__ = ["EmulatorProcess"]

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+\S*)")
# the CLI of the restsync this process imported, whatever scripts are on PATH or beside Python
CLI = "from restsync.cli import main; main()"


class EmulatorProcess:
    """`restsync emulate API ARGS...` on a free port; its URL, and its request log over HTTP."""

    def __init__(self, api: str, *args: str) -> None:
        command = [sys.executable, "-c", CLI, "emulate", api, "--port", "0", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.base_url = ""
        self._started = threading.Event()
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        try:
            self._reader.start()  # reads its output to the end: a full pipe blocks the server
            self._started.wait(START_TIMEOUT_S)
            host = re.match(r"http://[^/]+", self.base_url)
            if host is None:
                raise RuntimeError(f"`restsync emulate {api}` printed no URL")
            self.host = host.group(0)
        except BaseException:  # Ctrl-C or a timeout while starting: no server left behind
            self.close()
            raise

    def _read(self, stream: IO[str]) -> None:
        """Find the URL line, then drain the rest; the start is over when either ends."""
        for line in stream:
            match = URL_LINE.search(line)
            if match and not self.base_url:
                self.base_url = match.group(1).rstrip("/")
                self._started.set()
        self._started.set()  # the process ended (or closed its output) before printing one

    def stats(self, clear: bool = False, arrivals: bool = False) -> dict[str, Any]:
        """The request log, counted (`clear`: then emptied; `arrivals`: with each arrival)."""
        asked = {"clear": "1"} if clear else {}
        asked |= {"arrivals": "1"} if arrivals else {}
        answer = requests.get(f"{self.host}{STATS_PATH}", params=asked, timeout=STOP_TIMEOUT_S)
        result: dict[str, Any] = answer.json()
        return result

    def close(self) -> None:
        """Stop the server process (killed if it does not stop in time), close its output."""
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(STOP_TIMEOUT_S)  # the output ends with the process
        if self.process.stdout is not None and not self._reader.is_alive():
            self.process.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
