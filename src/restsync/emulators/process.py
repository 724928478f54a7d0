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
import time
from pathlib import Path
from typing import Any

import requests

from restsync.emulators.core import STATS_PATH

__all__ = ["EmulatorProcess"]

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+\S*)")


class EmulatorProcess:
    """`restsync emulate API ARGS...` on a free port; its URL, and its request log over HTTP."""

    def __init__(self, api: str, *args: str) -> None:
        command = [str(Path(sys.executable).parent / "restsync"), "emulate", api, "--port", "0"]
        self.process = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        self.base_url = ""
        while time.monotonic() < deadline and not self.base_url:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            match = URL_LINE.search(line)
            if match:
                self.base_url = match.group(1).rstrip("/")
        host = re.match(r"http://[^/]+", self.base_url)
        if host is None:
            self.close()
            raise RuntimeError(f"`restsync emulate {api}` printed no URL")
        self.host = host.group(0)

    def stats(self, clear: bool = False, arrivals: bool = False) -> dict[str, Any]:
        """The request log, counted (`clear`: then emptied; `arrivals`: with each arrival)."""
        asked = {"clear": "1"} if clear else {}
        asked |= {"arrivals": "1"} if arrivals else {}
        answer = requests.get(f"{self.host}{STATS_PATH}", params=asked, timeout=STOP_TIMEOUT_S)
        result: dict[str, Any] = answer.json()
        return result

    def close(self) -> None:
        """Stop the server process."""
        self.process.terminate()
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
