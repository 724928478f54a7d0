"""The server core: a raw ASGI app that serves any `ApiSpec` from a `Store`, with faults.

A request goes through these stages, in this order; the first that answers ends it:

1. latency     `Faults.latency_ms`, an asyncio sleep (every request: it stands for the network)
2. auth        a wrong or missing credential -> `unauthorized_status` + body; nothing else applies
3. route       no endpoint matches -> 404; a method other than GET -> 405
4. rate limit  an empty token bucket -> 429 + `Retry-After` (the request spends no fault draw)
5. faults      one seeded draw: a 5xx answer, or a connection cut mid-body (a "drop")
6. data        a malformed query -> 400; a child URL no parent record leads to -> 404;
               else 200 with the page in its envelope

From stage 4 on, every answer carries the API's rate-limit headers when a rate limit is set.
Every request is appended to the `RequestLog` before it is answered.

A drop sends the status line, headers with the full `Content-Length` and half the body, then
closes the connection: `requests` raises `requests.exceptions.ChunkedEncodingError` (wrapping
urllib3's `ProtocolError`/`IncompleteRead`) while reading the body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from restsync.emulators.faults import FaultPlan, Faults, Quota, TokenBucket, Verdict
from restsync.emulators.log import LoggedRequest, Outcome, RequestLog
from restsync.emulators.paging import BadRequest, filtered_page, render
from restsync.emulators.spec import PLACEHOLDER, ApiSpec, Auth, BasicAuth, EndpointSpec
from restsync.emulators.spec import SingleObject as _SingleObject
from restsync.emulators.store import Store

__all__ = ["STATS_PATH", "EmulatorApp", "Reply", "Request"]

STATS_PATH = "/__emulator__/stats"  # GET; `clear=1` also empties the log, `arrivals=1` adds
# each request's arrival time (the server's time.monotonic()), for windows measured in-process

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
ALLOWED_METHOD = "GET"
DROPPED_BODY_FRACTION = 0.5
MS_PER_S = 1000.0

_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# uvicorn logs an error when an app returns mid-body; for a deliberate drop that is noise.
_UVICORN_INCOMPLETE = "ASGI callable returned without completing response."
_DROPPING: contextvars.ContextVar[bool] = contextvars.ContextVar("emulator_drop", default=False)


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_DROPPING.get() and record.getMessage() == _UVICORN_INCOMPLETE)


_QUIET_DROPS = _QuietDrops()
logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)


@dataclass(frozen=True)
class Request:
    """What the pipeline reads from an HTTP request."""

    method: str
    path: str
    query_string: str
    authorization: str | None


@dataclass(frozen=True)
class Reply:
    """What the pipeline answers; `drop` cuts the connection mid-body instead of finishing."""

    status: int
    body: bytes
    outcome: Outcome
    resource: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False


@dataclass(frozen=True)
class _Route:
    endpoint: EndpointSpec
    pattern: re.Pattern[str]
    params: tuple[str, ...]


def _routes(spec: ApiSpec, settings: Mapping[str, str]) -> list[_Route]:
    routes = []
    for endpoint in spec.endpoints:
        template = spec.prefix + endpoint.path
        regex, pos = "", 0
        for match in PLACEHOLDER.finditer(template):
            regex += re.escape(template[pos : match.start()])
            name = match.group(1)
            regex += re.escape(settings[name]) if name in settings else f"(?P<{name}>[^/]+)"
            pos = match.end()
        regex += re.escape(template[pos:])
        routes.append(_Route(endpoint, re.compile(regex), spec.params_of(endpoint.resource)))
    return routes


def _json(value: Any) -> bytes:
    """Compact UTF-8 JSON: orjson (a 100-record page in 0.03 ms, not 0.24), else the stdlib.

    Serving is the emulator's main CPU cost; on a small machine that shares its cores with the
    client under test, a slow emulator would be measured as a slow client.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # what orjson refuses (integers past 64 bits, non-string keys)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _error(status: int, message: str, outcome: Outcome, resource: str | None = None) -> Reply:
    body = _json({"error": {"status": status, "message": message}})
    return Reply(status, body, outcome, resource)


def _authorized(auth: Auth, header: str | None) -> bool:
    if header is None:
        return False
    scheme, _, value = header.partition(" ")
    if isinstance(auth, BasicAuth):
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        expected_user, expected_password = auth.username.encode(), auth.password.encode()
        same_user = hmac.compare_digest(user, expected_user)
        return bool(sep) and same_user & hmac.compare_digest(password, expected_password)
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), auth.token.encode()
    )


class _FaultState:
    """The live faults with their mutable machinery; swapped whole by `set_faults`."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.plan = FaultPlan(faults)
        self.bucket: TokenBucket | None = None
        if faults.rate_limit is not None:
            self.bucket = TokenBucket(faults.rate_limit, faults.burst, faults.retry_after)


class EmulatorApp:
    """An ASGI app serving one API from a store, with the configured faults."""

    def __init__(
        self, spec: ApiSpec, store: Store, log: RequestLog, settings: Mapping[str, str]
    ) -> None:
        self._spec = spec
        self._store = store
        self._log = log
        self._routes = _routes(spec, settings)
        self._state = _FaultState(Faults())
        self._in_flight = 0  # requests being answered now (one event loop: no lock needed)
        self.max_in_flight = 0  # the most answered at once since the last reset_in_flight()

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._state.faults

    def set_faults(self, faults: Faults) -> None:
        """Change faults at runtime; the bucket refills and the fault sequence restarts."""
        self._state = _FaultState(faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == STATS_PATH:  # for benchmarks: the request log of another process
            asked = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            await _send_reply(
                self._stats(asked.get("clear") == "1", asked.get("arrivals") == "1"), send
            )
            return
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            await self._answer(scope, send)
        finally:
            self._in_flight -= 1

    def reset_in_flight(self) -> None:
        """Start counting `max_in_flight` afresh."""
        self.max_in_flight = self._in_flight

    async def _answer(self, scope: Scope, send: Send) -> None:
        arrived = time.monotonic()  # before the latency sleep, whose wake-ups can bunch
        state = self._state
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / MS_PER_S)
        authorization = None
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                authorization = value.decode("latin-1")
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query_string=scope["query_string"].decode("latin-1"),
            authorization=authorization,
        )
        reply = self.handle(request, state, arrived)
        await _send_reply(reply, send)

    def _stats(self, clear: bool, arrivals: bool = False) -> Reply:
        """Counts of the request log by status, outcome and resource (unauthenticated); with
        `arrivals`, when each request arrived, in order."""
        entries = self._log.entries()
        max_in_flight = self.max_in_flight
        if clear:
            self._log.clear()
            self.reset_in_flight()
        counts: dict[str, dict[str, int]] = {"status": {}, "outcome": {}, "resource": {}}
        for entry in entries:
            for kind, value in (
                ("status", entry.status),
                ("outcome", entry.outcome),
                ("resource", entry.resource),
            ):
                bucket = counts[kind]
                bucket[str(value)] = bucket.get(str(value), 0) + 1
        first = min((e.at for e in entries), default=0.0)
        last = max((e.at for e in entries), default=0.0)
        body = {
            "requests": len(entries),
            "seconds": last - first,
            "max_in_flight": max_in_flight,
            **counts,
        }
        if arrivals:
            body["arrivals"] = sorted(e.at for e in entries)
        return Reply(200, _json(body), Outcome.SERVED, None)

    def handle(
        self, request: Request, state: _FaultState | None = None, arrived: float | None = None
    ) -> Reply:
        """Run the pipeline for one request and log it; the reply is sent by the caller."""
        state = state or self._state
        arrived = time.monotonic() if arrived is None else arrived
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.query_string, keep_blank_values=True):
            query.setdefault(name, value)
        reply = self._pipeline(request, query, state)
        self._log.append(
            LoggedRequest(
                method=request.method,
                path=request.path,
                query=query,
                status=reply.status,
                at=arrived,
                resource=reply.resource,
                outcome=reply.outcome,
            )
        )
        return reply

    def _pipeline(self, request: Request, query: dict[str, str], state: _FaultState) -> Reply:
        spec = self._spec
        route, match = self._match(request.path)  # only to log the resource of a refusal
        resource = route.endpoint.resource if route else None
        if not _authorized(spec.auth, request.authorization):
            headers: tuple[tuple[str, str], ...] = ()
            if isinstance(spec.auth, BasicAuth):
                headers = (("WWW-Authenticate", f'Basic realm="{spec.name}"'),)
            body = _json(spec.unauthorized_body)
            status = spec.unauthorized_status
            return Reply(status, body, Outcome.UNAUTHORIZED, resource, headers)
        if route is None or match is None:
            return _error(404, f"no endpoint at {request.path}", Outcome.NOT_FOUND)
        if request.method != ALLOWED_METHOD:
            reply = _error(405, "only GET is allowed", Outcome.METHOD_NOT_ALLOWED, resource)
            return _with_headers(reply, (("Allow", ALLOWED_METHOD),))
        quota = state.bucket.take() if state.bucket else None
        quota_headers = self._quota_headers(quota)
        if quota is not None and not quota.allowed:
            reply = _error(429, "rate limit exceeded", Outcome.RATE_LIMITED, resource)
            return _with_headers(reply, (("Retry-After", str(quota.retry_after)), *quota_headers))
        if not state.faults.quota_headers:
            quota_headers = ()  # the limit shows itself only through 429s
        url = f"{request.path}?{request.query_string}"
        decision = state.plan.decide(url)
        if decision.verdict is Verdict.FAIL:
            reply = _error(decision.status, _REASONS[decision.status], Outcome.FAILED, resource)
            return _with_headers(reply, quota_headers)
        reply = self._data(route, match, query, url if request.query_string else request.path)
        reply = _with_headers(reply, quota_headers)
        return _as_drop(reply) if decision.verdict is Verdict.DROP else reply

    def _match(self, path: str) -> tuple[_Route | None, re.Match[str] | None]:
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                return route, match
        return None, None

    def _quota_headers(self, quota: Quota | None) -> tuple[tuple[str, str], ...]:
        if quota is None:
            return ()
        names = self._spec.rate_limit_headers
        headers = [(names.remaining, str(quota.remaining)), (names.reset, str(quota.reset_epoch))]
        if names.limit is not None:
            headers.insert(0, (names.limit, str(quota.limit)))
        return tuple(headers)

    def _data(self, route: _Route, match: re.Match[str], query: dict[str, str], href: str) -> Reply:
        endpoint = route.endpoint
        resource = endpoint.resource
        key = tuple(match.group(name) for name in route.params)
        with self._store.lock:
            records = self._store.served_list(resource, key)
            if records is None:
                return _error(404, f"no such {resource} parent: {key}", Outcome.NOT_FOUND, resource)
            try:
                page = filtered_page(records, endpoint.filters, endpoint.paging, query)
            except BadRequest as exc:
                return _error(400, str(exc), Outcome.BAD_REQUEST, resource)
            if isinstance(endpoint.envelope, _SingleObject) and not page.records:
                return _error(404, f"no {resource}", Outcome.NOT_FOUND, resource)
            body = _json(render(endpoint.envelope, page, href))
        return Reply(200, body, Outcome.SERVED, resource)


def _with_headers(reply: Reply, headers: tuple[tuple[str, str], ...]) -> Reply:
    if not headers:
        return reply
    return Reply(reply.status, reply.body, reply.outcome, reply.resource, reply.headers + headers)


def _as_drop(reply: Reply) -> Reply:
    if reply.status != 200:
        return reply
    return Reply(reply.status, reply.body, Outcome.DROPPED, reply.resource, reply.headers, True)


async def _send_reply(reply: Reply, send: Send) -> None:
    headers = [
        (b"content-type", JSON_CONTENT_TYPE.encode()),
        (b"content-length", str(len(reply.body)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in reply.headers
        ),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reply.drop:
        cut = int(len(reply.body) * DROPPED_BODY_FRACTION)
        await send({"type": "http.response.body", "body": reply.body[:cut], "more_body": True})
        _DROPPING.set(True)  # read by _QuietDrops in this task once the app returns
        return
    await send({"type": "http.response.body", "body": reply.body})
