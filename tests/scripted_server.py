"""A tiny real HTTP server whose answers are scripted per path, for retry and error tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

DROP = -1  # a scripted "status" that cuts the connection mid-response


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"data": []})
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Scripted:
    """Answers per path, in order; the last one repeats. Counts hits per path."""

    base_url: str = ""
    scripts: dict[str, deque[Reply]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seen_headers: list[dict[str, str]] = field(default_factory=list)  # per request, in order
    queries: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # per path

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = deque(replies)
        self.hits[path] = 0

    def next_reply(self, path: str) -> Reply:
        self.hits[path] += 1
        queue = self.scripts.get(path)
        if not queue:
            return Reply(404, {"error": "no script"})
        return queue.popleft() if len(queue) > 1 else queue[0]


def _app(state: Scripted) -> Any:
    """A raw ASGI app: no framework in the way of cutting a connection mid-response."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        state.seen_headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        state.queries[scope["path"]].append(scope["query_string"].decode())
        reply = state.next_reply(scope["path"])
        if reply.status == DROP:
            start = {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1000")],
            }
            await send(start)
            await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})
            raise ConnectionAbortedError("scripted drop")
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        extra = {k.lower(): v for k, v in reply.headers.items()}
        headers = [] if "content-type" in extra else [(b"content-type", b"application/json")]
        headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@contextmanager
def scripted_server() -> Iterator[Scripted]:
    """Run a scripted server on a free loopback port for the duration of the block."""
    # an explicit IPPROTO_TCP lets asyncio set TCP_NODELAY (else ~40 ms per response)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state = Scripted(base_url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(_app(state), log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextmanager
def silent_server(backlog: int = 8) -> Iterator[str]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers: a
    URL on it, for requests that must stay on the wire until a timeout or a close."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(backlog)
    try:
        yield f"http://127.0.0.1:{silent.getsockname()[1]}/page"
    finally:
        silent.close()
