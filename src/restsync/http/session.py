"""The HTTP session every request of a source goes through: per-endpoint retry policy and redaction.

dlt's `rest_api` builds one `RESTClient` per resource but they all share `client.session`, so the
session cannot tell endpoints apart by itself. Each translated endpoint therefore carries a private
header naming its resource (`ENDPOINT_HEADER`); `send` reads it, removes it before anything leaves
the process, and applies that endpoint's `RetryPolicy`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec
from dlt.sources.helpers.requests import Session
from requests import PreparedRequest, Request, Response
from requests.adapters import BaseAdapter
from requests.exceptions import ChunkedEncodingError, HTTPError, Timeout
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import JSONDecodeError as RequestsJSONDecodeError
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPHeaderDict

from restsync.errors import CredentialsError, NotJsonError, RetriesExhaustedError
from restsync.http.budget import (
    QUOTA_HEADERS,
    TOO_MANY_REQUESTS,
    Clock,
    RateBudget,
    RateLimit,
    Sleep,
    pause_from_headers,
    remaining_from_headers,
)
from restsync.http.prepare import Templates
from restsync.http.redact import redact
from restsync.http.retry import RetryPolicy, parse_retry_after
from restsync.http.transport import Answer, LoopAdapter, Started, Unparsable, adapter_for

__all__ = ["DEFAULT_TIMEOUT", "ENDPOINT_HEADER", "RetryingSession", "scrub"]

log = logging.getLogger("restsync.http")

ENDPOINT_HEADER = "X-Restsync-Endpoint"
PREFETCH_HEADER = "X-Restsync-Prefetched"  # private: the token of a response already on its way
DEFAULT_TIMEOUT = 60.0
NOT_JSON_SHOWN = 80  # characters of a body that is not JSON, in its error
DEFAULT_POOL_SIZE = 16
WAIT_POLL_S = 1.0  # how often a wait for pages sent ahead checks that the session is open
PAGES_AHEAD_PER_WORKER = 4  # pages sent ahead and not yet claimed, at most, per pool slot
CREDENTIAL_STATUSES = frozenset({401, 403})
TRANSIENT_EXCEPTIONS = (RequestsConnectionError, Timeout, ChunkedEncodingError)


@dataclass(frozen=True)
class Wait:
    """A decided wait before a retry: for this request only, or for the whole host."""

    seconds: float
    host_wide: bool


class ParsedOnceResponse(Response):
    """A response that parses its JSON body once, however many readers ask, and fast.

    dlt's client parses a page for its data and a cursor paginator parses it again for the
    cursor: on 100-record pages that second parse was an eighth of the extract's CPU. The one
    parse is msgspec's (0.19 ms for a 40 kB hosting page where requests' simplejson takes 0.49)
    for a UTF-8 body; anything else, or anything msgspec refuses (NaN, a BOM, a number past a
    double, a lone surrogate), is parsed by requests as before. msgspec reads integers past
    64 bits exactly, as requests does (orjson reads them as floats: ruling them out
    first cost 0.08 ms a page, and sent the one hosting page in ten with 19 digits in a row
    inside a commit hash to simplejson).
    """

    def json(self, **kwargs: Any) -> Any:
        """The parsed body (parsed on the first call; later calls share it, read only)."""
        if kwargs:
            return super().json(**kwargs)
        if "_restsync_json" not in self.__dict__:
            self.__dict__["_restsync_json"] = self._parse()
        return self.__dict__["_restsync_json"]

    def _parse(self) -> Any:
        body = self.content
        encoding = (self.encoding or "utf-8").lower().replace("_", "-")
        if body and encoding in _UTF8_NAMES:
            try:
                return msgspec.json.decode(body)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                pass  # NaN, a BOM, bad UTF-8, bad JSON, too deep...: requests decides (and
                # raises as it would have for what it refuses too)
        try:
            return super().json()
        except RequestsJSONDecodeError:
            secrets = self.__dict__.get("_restsync_secrets", ())
            url = redact(str(self.url), secrets)
            kind = self.headers.get("Content-Type", "no Content-Type")
            start = redact(self.text[: 64 * NOT_JSON_SHOWN], secrets).strip()[:NOT_JSON_SHOWN]
            raise NotJsonError(
                f"expected JSON from {url} ({self.status_code} {self.reason}, {kind}), got"
                f" {start!r}: check base_url, the endpoint's path and the auth",
                status=self.status_code,
                url=url,
            ) from None


_UTF8_NAMES = frozenset({"utf-8", "utf8"})


class _Abandoned(RuntimeError):
    """A page sent ahead whose session closed before an answer worth retrying for came."""


@dataclass(frozen=True)
class _Prefetch:
    """A page sent ahead: its answer to come, and its request and send settings (its URL for
    the claiming request; all of it to send it there if no pool thread has started it).

    `started` is set if its first try went straight on the event loop (`_OnWire`); `future`
    is then that try's, and carries an `_OnWire` to take in, or a page-pool thread's future.
    """

    future: Future[Any]
    prepared: PreparedRequest
    settings: dict[str, Any]
    started: Started | None = None


@dataclass
class _OnWire:
    """A page's first try, put on the event loop by the thread that sent the page ahead.

    No page-pool thread waits for it: a big collection at 20 ms latency is CPU bound, and 16
    threads each waiting on the loop and handing the page over cost a sixth of its CPU. The
    try holds an in-flight slot and a grant of the host's budget, both taken without waiting
    (else the page goes to the page pool), and both given back in the loop's thread when it
    ends. What it ended in is then judged by the same retry loop as any other try (`_send`):
    by the claiming thread if it needs no retry or pause, else at once by a page-pool thread.
    """

    adapter: LoopAdapter
    endpoint: str | None
    generation: int  # the grant's, for `RateBudget.throttle`
    slots: threading.BoundedSemaphore  # the one its slot came from (close() makes a new one)
    sent_at: float
    answered_at: float = 0.0
    answer: Answer | None = None
    error: BaseException | None = None
    held: bool = False  # the host's pause (or slow-down) it called for is already applied
    abandoned: bool = False  # it needs a retry, and nobody will claim it
    retried: Future[Response] | None = None  # the page-pool thread retrying it


class _Claimed(PreparedRequest):
    """Stands in for a claimed page's request: its URL (for dlt's log) and its token."""

    def __init__(self, original: Request, url: str | None, token: str) -> None:
        super().__init__()
        self.original = original
        self.method = original.method
        self.url = url
        self.headers = CaseInsensitiveDict({PREFETCH_HEADER: token})


class RetryingSession(Session):
    """A requests session that retries by the policy of the endpoint each request belongs to."""

    def __init__(
        self,
        policies: Mapping[str, RetryPolicy] | None = None,
        default_policy: RetryPolicy | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        rate_limit: RateLimit | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        secrets: Iterable[str] = (),
        sleep: Sleep | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(timeout=timeout, raise_for_status=False)
        self.secrets = tuple(secrets)  # values masked in every error and log line it makes
        # the wire: one event-loop thread (transport.py); requests' pool is kept for what it
        # does not carry, one kept-alive connection per worker (its default 10 would reconnect)
        adapter = adapter_for(pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.policies: dict[str, RetryPolicy] = dict(policies or {})
        self.default_policy = default_policy or RetryPolicy()
        self.rate_limit = rate_limit
        self._wake = threading.Event()  # set by close(): every wait of this session ends
        self._sleep = self._wait if sleep is None else sleep  # waits close() interrupts
        self._running: set[str] = set()  # pages sent ahead and not finished (or cancelled)
        self._dropped: set[str] = set()  # of those, the ones discarded meanwhile
        self._clock = clock
        self._budgets: dict[str, RateBudget] = {}
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}
        self.pool_size = max(pool_size, 1)
        self._in_flight = threading.BoundedSemaphore(self.pool_size)  # requests on the wire
        self._prefetch_pool: ThreadPoolExecutor | None = None
        self._prefetched: dict[str, _Prefetch] = {}
        self._tokens = itertools.count()
        self._templates = Templates()
        self._lock = threading.RLock()  # reentrant: a window's finalizer may discard anywhere
        self._closes = 0  # close() calls so far: a page sent ahead before one stops retrying
        self._local = threading.local()  # in a page-pool thread: the closes when it was sent
        self.attempts_total = 0
        self.retries_total = 0
        self.headers["User-Agent"] = "restsync (dlt)"

    def __deepcopy__(self, memo: dict[int, Any]) -> RetryingSession:
        """The session itself: it is shared by design (one pool, one budget per host for
        every resource of a source), and dlt deep-copies configs that hold it to validate
        them; requests' own state copy would drop the policies, locks and timeout."""
        return self

    def get_adapter(self, url: str) -> BaseAdapter:
        """The event loop for pages sent ahead, requests' own adapter for the rest.

        Pages sent ahead are long collections, where the client is CPU bound and the loop
        reads a page for less CPU; a request dlt's client sends itself (a child, a first
        page) is latency bound, and one thread hop less is 0.3 to 1 ms less on each. A first
        try already on the wire (`_OnWire`) is taken in by an adapter that replays it.
        """
        fixed = getattr(self._local, "adapter", None)  # set for one send (a hook may send more)
        if fixed is not None:
            self._local.adapter = None
            return fixed  # type: ignore[no-any-return]
        adapter = super().get_adapter(url)
        if isinstance(adapter, LoopAdapter) and getattr(self._local, "closes", None) is None:
            return adapter.fallback
        return adapter

    def policy_for(self, endpoint: str | None) -> RetryPolicy:
        """The retry policy of a resource, or the source's default for untagged requests."""
        if endpoint is None:
            return self.default_policy
        return self.policies.get(endpoint, self.default_policy)

    def budget_for(self, url: str | None) -> RateBudget:
        """The rate budget shared by every request to this URL's host."""
        host = urlsplit(url or "").netloc
        with self._lock:
            budget = self._budgets.get(host)
            if budget is None:
                budget = RateBudget(self.rate_limit, clock=self._clock, sleep=self._sleep)
                self._budgets[host] = budget
            return budget

    def merge_environment_settings(  # type: ignore[override]
        self, url: str | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' proxy/CA settings from the environment, read once per host, not per call.

        requests re-reads every `*_proxy` variable on each request (~0.5 ms, a fifth of a
        request's CPU here); the environment does not change during a sync.
        """
        if proxies or stream is not None or verify is not None or cert is not None:
            return dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        parts = urlsplit(url or "")
        key = (parts.scheme, parts.netloc)
        settings = self._environment.get(key)
        if settings is None:
            settings = dict(super().merge_environment_settings(url, {}, None, None, None))
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def prefetch(self, request: Request) -> str:
        """Start sending `request` in the background; the token that claims its response."""
        token = self._send_ahead(request, bounded=False)
        assert token is not None
        return token

    def prefetch_if_room(self, request: Request) -> str | None:
        """`prefetch`, unless the pages sent ahead and not yet claimed fill their room: then
        None (the page is fetched when dlt's client gets to it).

        What is sent ahead stays in memory until claimed, so the windows of a source together
        hold at most `PAGES_AHEAD_PER_WORKER x pool_size` pages, however many are open. Time
        slices (`prefetch`) count against that room but are never refused: they hold at most
        one page per time range, `concurrency` ranges per resource.
        """
        return self._send_ahead(request, bounded=True)

    def _send_ahead(self, request: Request, *, bounded: bool) -> str | None:
        prepared = self.prepare_request(request)
        settings = self.merge_environment_settings(prepared.url, {}, None, None, None)
        with self._lock:
            if bounded and len(self._prefetched) >= PAGES_AHEAD_PER_WORKER * self.pool_size:
                return None
            token, closes = f"p{next(self._tokens)}", self._closes
            self._running.add(token)  # from now: a discard that cannot cancel marks it
        started = self._on_wire(token, closes, prepared, settings)
        with self._lock:
            if closes != self._closes:  # closed meanwhile: its claim fetches afresh
                self._running.discard(token)
                return token
            if started is not None:
                self._prefetched[token] = _Prefetch(started.future, prepared, settings, started)
                return token
            # the page pool: a thread sends it when a slot and a grant are free
            future = self._pool().submit(self._ahead, closes, token, prepared, settings)
            self._prefetched[token] = _Prefetch(future, prepared, settings)
        return token

    def _on_wire(
        self, token: str, closes: int, prepared: PreparedRequest, settings: dict[str, Any]
    ) -> Started | None:
        """Put a page's first try on the event loop now (see `_OnWire`), if the loop carries
        it and a slot and a grant are free without waiting; else None."""
        try:
            adapter = Session.get_adapter(self, prepared.url or "")
        except Exception:  # no adapter for the URL: the page pool raises it, for the claim
            return None
        timeout, stream, proxies = self.timeout, settings["stream"], settings["proxies"]
        if (
            not isinstance(adapter, LoopAdapter)
            or not adapter.carries(prepared, stream, timeout, proxies)
            or PREFETCH_HEADER in prepared.headers  # a claimed request sent again: _send strips it
        ):
            return None
        slots = self._in_flight
        if not slots.acquire(blocking=False):
            return None
        budget = self.budget_for(prepared.url)
        generation = budget.try_acquire()
        if generation is None:
            slots.release()
            return None
        endpoint = prepared.headers.pop(ENDPOINT_HEADER, None)  # never sent
        on_wire = _OnWire(adapter, endpoint, generation, slots, time.perf_counter())
        then = functools.partial(self._answered, token, closes, prepared, settings, on_wire, budget)
        started = None
        try:
            started = adapter.start(prepared, timeout, settings["verify"], settings["cert"], then)
        except Exception:  # a CA bundle not found, say: the page pool raises it, for the claim
            pass
        finally:
            if started is None:  # not on the wire (the loop was closed meanwhile, or Ctrl-C)
                if endpoint is not None:
                    prepared.headers[ENDPOINT_HEADER] = endpoint
                budget.release()
                slots.release()
        if started is not None:
            self._count(retry=False)
        return started

    def _answered(
        self,
        token: str,
        closes: int,
        prepared: PreparedRequest,
        settings: dict[str, Any],
        on_wire: _OnWire,
        budget: RateBudget,
        answer: Answer | None,
        error: BaseException | None,
    ) -> _OnWire:
        """A first try ended (in the loop's thread): give back its slot and grant, apply the
        host-wide pause it calls for, then leave it to its claim, or hand it to a page-pool
        thread to retry at once (`on_wire.retried`), unless nobody will claim it."""
        on_wire.answered_at = time.perf_counter()
        on_wire.answer, on_wire.error = answer, error
        on_wire.slots.release()
        quota = _quota(answer.headers) if answer is not None else {}
        if answer is None:
            budget.release()
        else:
            budget.release(remaining_from_headers(quota), answer.status)
        policy = self.policy_for(on_wire.endpoint)
        settled = answer is not None and not policy.should_retry_status(answer.status)
        with self._lock:
            dropped = closes != self._closes or token in self._dropped
            if dropped or settled:
                self._running.discard(token)
                self._dropped.discard(token)
        # the host-wide pauses `_send` would apply for this answer, applied now: a page-pool
        # thread may not be free for a while, and meanwhile the host must hold
        if settled:
            pause = pause_from_headers(quota)
            if pause:  # the API says none are left: hold the whole host, within the cap
                budget.pause(min(pause, policy.max_delay))
                on_wire.held = True
            return on_wire
        if dropped:  # a retry nobody would claim: none (as `_send` stops a dropped page)
            on_wire.abandoned = True
            return on_wire
        if answer is not None and policy.max_attempts > 1:
            headers = CaseInsensitiveDict(HTTPHeaderDict(answer.headers))
            wait = self._retry_wait(answer.status, headers, policy, 1)
            if wait.host_wide:
                budget.throttle(on_wire.generation)
                budget.pause(wait.seconds)
                on_wire.held = True
        with self._lock:
            if closes == self._closes:
                on_wire.retried = self._pool().submit(
                    self._ahead, closes, token, prepared, settings, on_wire
                )
            else:
                on_wire.abandoned = True
        return on_wire

    def _pool(self) -> ThreadPoolExecutor:
        """The page pool (started on first use; call with the lock held)."""
        if self._prefetch_pool is None:
            self._prefetch_pool = ThreadPoolExecutor(
                self.pool_size, thread_name_prefix="restsync-page"
            )
        return self._prefetch_pool

    def prepare_request(self, request: Request) -> PreparedRequest:
        """A claimed page's request was prepared when it was sent ahead: not a second time."""
        token = request.headers.get(PREFETCH_HEADER)
        if token is not None:
            with self._lock:
                prefetch = self._prefetched.get(token)
            if prefetch is not None:
                return _Claimed(request, prefetch.prepared.url, token)
            return super().prepare_request(request)  # dropped (closed): its token, a header
            # no other request has, would make a template of its own
        return self._templates.prepare(self, request, super().prepare_request)

    def claim(self, request: Request, token: str | None) -> None:
        """Mark `request` so that sending it returns the prefetched response (None: unmark)."""
        if token is None:
            request.headers.pop(PREFETCH_HEADER, None)
        else:
            request.headers[PREFETCH_HEADER] = token

    def first_done(self, tokens: list[str]) -> str:
        """Of these prefetches, one that has finished (waiting for the first if none has)."""
        with self._lock:
            futures = {self._prefetched[t].future: t for t in tokens if t in self._prefetched}
        if not futures:
            return tokens[0]  # already claimed or dropped: sending it will fetch afresh
        closes = self._closes
        while True:  # a first try on a loop stopped by close() may never be answered
            done, _ = wait(futures, timeout=WAIT_POLL_S, return_when=FIRST_COMPLETED)
            if done:
                return futures[next(iter(done))]
            if closes != self._closes:
                return tokens[0]  # its claim fetches afresh

    def discard(self, token: str) -> None:
        """Forget a prefetch nobody will claim; cancel it if it has not started, else let its
        request end without a retry (a page past the end must not cost a backoff or a pause)."""
        with self._lock:
            prefetch = self._prefetched.pop(token, None)
            retry = _retry_of(prefetch)
            if prefetch is not None and prefetch.started is None and prefetch.future.cancel():
                self._running.discard(token)  # never runs
            elif retry is not None and retry.cancel():  # a first try's retry, still queued
                self._running.discard(token)
            elif prefetch is not None and token in self._running:
                self._dropped.add(token)

    def _ahead(
        self,
        closes: int,
        token: str,
        prepared: PreparedRequest,
        settings: dict[str, Any],
        first: _OnWire | None = None,
    ) -> Response:
        """A page sent ahead, in the page pool (from its `first` try, if it was on the wire):
        it stops retrying once the session is closed or the page is discarded."""
        self._local.closes, self._local.token = closes, token
        try:
            return self._guarded(prepared, settings, first)
        finally:
            self._local.closes = self._local.token = None
            with self._lock:
                self._running.discard(token)
                self._dropped.discard(token)

    def _abandoned(self) -> bool:
        """True in a page-pool thread whose page was sent before the session was closed, or
        was discarded since."""
        closes = getattr(self._local, "closes", None)
        if closes is None:
            return False
        return closes != self._closes or getattr(self._local, "token", None) in self._dropped

    def _wait(self, seconds: float) -> None:
        """Sleep, unless the session is closed meanwhile: then the wait ends at once and the
        request with it (a Ctrl-C does not sit out a Retry-After, then send anyway)."""
        since = getattr(self._local, "since", None)  # close() calls when this request began

        def closed() -> bool:  # also a close() just before this wait began (on the old event)
            return since is not None and since != self._closes

        if closed() or self._wake.wait(seconds) or closed():
            raise _Abandoned("the session was closed while its requests waited")

    def close(self) -> None:
        """Close the connections and stop the page pool: pages not yet sent are dropped, and
        pages on the wire are not retried (nobody will claim them); reusable afterwards."""
        with self._lock:
            pool, self._prefetch_pool = self._prefetch_pool, None
            dropped = [p.future for p in self._prefetched.values() if p.started is None]
            wires = [p.future for p in self._prefetched.values() if p.started is not None]
            self._prefetched.clear()
            self._running.clear()  # pages still on the wire stop by `_closes`
            self._dropped.clear()
            self._closes += 1
            wake, self._wake = self._wake, threading.Event()
            # a fresh bound: a first try the stopped loop never ran cannot hold a slot for
            # ever (what ends later gives its slot back to the old one)
            self._in_flight = threading.BoundedSemaphore(self.pool_size)
        wake.set()  # waits in progress end; later ones (the session reopens) wait as usual
        for wire in wires:  # first tries on the loop: off the wire (their slots are given back
            wire.cancel()  # in the loop's thread; stopping the loop cancels any others)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            for future in dropped:  # taken off the queue unrun: tell whoever waits on them
                _notify_cancelled(future)
        super().close()

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        """Send with retries: only the policy's statuses, waits by backoff or Retry-After.

        An error leaving here, and every error it chains, names no secret: dlt keeps their
        messages in its trace file, and any caller may log them.
        """
        return self._guarded(request, kwargs)

    def _guarded(
        self, request: PreparedRequest, kwargs: dict[str, Any], first: _OnWire | None = None
    ) -> Response:
        outer, self._local.since = getattr(self._local, "since", None), self._closes
        try:
            return self._send(request, kwargs, first)
        except Exception as exc:
            scrub(exc, self.secrets)
            raise
        finally:
            self._local.since = outer

    def _send(
        self, request: PreparedRequest, kwargs: dict[str, Any], first: _OnWire | None = None
    ) -> Response:
        token = request.headers.pop(PREFETCH_HEADER, None)
        if token is not None:
            with self._lock:
                prefetch = self._prefetched.pop(token, None)
            if prefetch is not None and prefetch.started is not None:  # its first try's end
                first = self._first_try(prefetch.started, prefetch.prepared)
                if first.retried is not None and not first.retried.cancel():
                    return first.retried.result()  # retried by a page-pool thread
                if first.retried is not None:  # still queued: retried here, now
                    with self._lock:
                        self._running.discard(token)
                request, kwargs = prefetch.prepared, prefetch.settings
            elif prefetch is not None and not prefetch.future.cancel():
                return prefetch.future.result()  # type: ignore[no-any-return]  # or its error
            elif prefetch is not None:  # still queued behind pages sent ahead: send it now, here
                with self._lock:
                    self._running.discard(token)
                request, kwargs = prefetch.prepared, prefetch.settings
            elif isinstance(request, _Claimed):  # dropped meanwhile (closed): fetch it afresh
                request = super().prepare_request(request.original)
                request.headers.pop(PREFETCH_HEADER, None)
        # a redirect's hop carries no tag: it is judged by the policy of the request it follows
        endpoint = (
            request.headers.pop(ENDPOINT_HEADER, None)
            or (first.endpoint if first is not None else None)
            or getattr(self._local, "hop", None)
        )
        resend = None  # aiohttp refused the first try's answer: it is sent again, by requests'
        held = first is not None and first.held  # applied by the loop's thread, when it came
        if first is not None and isinstance(first.error, Unparsable):
            resend = first.adapter.fallback  # (as the loop's adapter does: one attempt)
            first = None
        policy = self.policy_for(endpoint)
        budget = self.budget_for(request.url)
        # redirects are followed here, each hop a request of its own, once this one has given
        # back its slot and grant: requests would send the hop from inside this one's send,
        # holding both (one slot: a deadlock; a quota nearly spent: a wait for ever)
        kwargs = dict(kwargs)
        follow = kwargs.pop("allow_redirects", True)
        wire = {**kwargs, "allow_redirects": False}
        attempt = 0
        while True:
            attempt += 1
            paused = held and attempt == 1  # the host-wide pause this answer calls for is on
            if attempt == 1 and first is not None:  # on the wire already: its answer
                generation = first.generation
                one_try = functools.partial(self._replayed, first, request, wire)
            else:
                if resend is None or attempt > 1:
                    self._count(retry=attempt > 1)
                generation = budget.acquire()
                via = resend if attempt == 1 else None
                one_try = functools.partial(self._attempt, budget, request, wire, via)
            try:
                response = one_try()
            except HTTPError as exc:  # raised by dlt's response hook for statuses >= 400
                if exc.response is None:
                    raise
                wait = self._wait_or_raise(exc, exc.response, policy, attempt, endpoint)
            except TRANSIENT_EXCEPTIONS as exc:
                if not policy.retry_connection_errors or attempt >= policy.max_attempts:
                    raise RetriesExhaustedError(
                        _exhausted_message(
                            endpoint,
                            self._safe(request),
                            _why(exc),
                            attempt,
                            reached=_reason(exc) is None,
                        ),
                        attempts=attempt,
                        status=None,
                        url=self._safe(request),
                    ) from exc
                wait = Wait(policy.delay(attempt), host_wide=False)
                self._log_retry(endpoint, request, type(exc).__name__, attempt, wait.seconds)
            else:
                # without raising hooks an error status comes back as a plain response
                if not policy.should_retry_status(response.status_code):
                    pause = pause_from_headers(response.headers) if not paused else None
                    if pause:  # the API says none are left: hold the whole host, within the cap
                        budget.pause(min(pause, policy.max_delay))
                    response.__class__ = ParsedOnceResponse
                    response.__dict__["_restsync_secrets"] = self.secrets  # for its errors
                    if follow and response.is_redirect:
                        return self._redirected(response, request, kwargs, endpoint)
                    return response
                wait = self._wait_or_raise(None, response, policy, attempt, endpoint)
            if self._abandoned():  # nobody will claim this page: no waiting, no retry
                raise _Abandoned(f"{self._safe(request)}: sent ahead, then the session was closed")
            if wait.host_wide and not paused:
                budget.throttle(generation)  # the real limit is lower than what was granted
                budget.pause(wait.seconds)  # the next acquire() holds this and every worker
            elif not wait.host_wide:
                self._sleep(wait.seconds)

    def _redirected(
        self,
        response: Response,
        request: PreparedRequest,
        settings: dict[str, Any],
        endpoint: str | None,
    ) -> Response:
        """The answer at the end of the redirects, as requests' own send would give it (with
        its history); requests' resolve_redirects sends each hop through `send`."""
        outer, self._local.hop = getattr(self._local, "hop", None), endpoint
        try:
            hops: list[Response] = list(self.resolve_redirects(response, request, **settings))
        finally:
            self._local.hop = outer
        if not hops:
            return response
        final = hops.pop()
        final.history = [response, *hops]
        return final

    def _first_try(self, started: Started, prepared: PreparedRequest) -> _OnWire:
        """What a first try on the loop ended in, for its claim (waiting for it if need be)."""
        try:
            first: _OnWire = started.result()
            if not first.abandoned:
                return first
        except CancelledError:  # taken off the wire by close(), as a page-pool thread's
            pass
        raise _Abandoned(f"{self._safe(prepared)}: sent ahead, then the session was closed")

    def _replayed(
        self, first: _OnWire, request: PreparedRequest, kwargs: dict[str, Any]
    ) -> Response:
        """A first try's answer, through requests' `send` as if it came now (hooks, cookies);
        its slot and grant were given back when it arrived."""
        self._local.adapter = first.adapter.replaying(first.answer, first.error)
        try:
            response: Response = super().send(request, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            self._local.adapter = None
        response.elapsed = timedelta(seconds=first.answered_at - first.sent_at)
        return response

    def _attempt(
        self,
        budget: RateBudget,
        request: PreparedRequest,
        kwargs: dict[str, Any],
        via: BaseAdapter | None = None,
    ) -> Response:
        """One try on the wire (by `via`, if given), after the host's budget granted it; the
        budget is told the end."""
        remaining, status = None, None  # no answer: the budget learns nothing of the quota
        try:
            with self._in_flight:  # concurrency bounds children and windows together
                self._local.adapter = via
                try:
                    response: Response = super().send(request, **kwargs)  # type: ignore[no-untyped-call]
                finally:
                    self._local.adapter = None
            remaining, status = remaining_from_headers(response.headers), response.status_code
            return response
        except HTTPError as exc:
            if exc.response is not None:
                answer = exc.response
                remaining, status = remaining_from_headers(answer.headers), answer.status_code
            raise
        finally:
            budget.release(remaining, status)

    def _wait_or_raise(
        self,
        exc: HTTPError | None,
        response: Response,
        policy: RetryPolicy,
        attempt: int,
        endpoint: str | None,
    ) -> Wait:
        """How long to wait before the next attempt, or the error that ends the request."""
        status = response.status_code
        request = response.request
        if status in CREDENTIAL_STATUSES and not policy.should_retry_status(status):
            raise CredentialsError(
                f"the API answered {status} {response.reason} for {self._safe(request)}: the"
                " credentials were rejected; check the username/password or token",
                status=status,
                url=self._safe(request),
            ) from exc
        if exc is not None and not policy.should_retry_status(status):
            raise exc
        if attempt >= policy.max_attempts:
            raise RetriesExhaustedError(
                _exhausted_message(endpoint, self._safe(request), f"HTTP {status}", attempt),
                attempts=attempt,
                status=status,
                url=self._safe(request),
            ) from exc
        wait = self._retry_wait(status, response.headers, policy, attempt)
        self._log_retry(endpoint, request, f"HTTP {status}", attempt, wait.seconds)
        return wait

    @staticmethod
    def _retry_wait(
        status: int, headers: Mapping[str, str], policy: RetryPolicy, attempt: int
    ) -> Wait:
        """The wait before retrying an answer of `status` with these headers."""
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is None and status == TOO_MANY_REQUESTS:  # GitHub's way: when it resets
            retry_after = pause_from_headers(headers) or None  # past: backoff
        seconds = policy.delay(attempt, retry_after)
        # a rate limit concerns the host, not this request: every worker waits it out
        return Wait(seconds, host_wide=status == TOO_MANY_REQUESTS or retry_after is not None)

    def _count(self, *, retry: bool) -> None:
        with self._lock:
            self.attempts_total += 1
            if retry:
                self.retries_total += 1

    def _log_retry(
        self, endpoint: str | None, request: PreparedRequest, why: str, attempt: int, wait: float
    ) -> None:
        log.warning(
            "resource %s: %s for %s (attempt %d), retrying in %.2fs",
            endpoint or "?",
            why,
            self._safe(request),
            attempt,
            wait,
        )

    def _safe(self, request: PreparedRequest | None) -> str:
        """The request's URL with secret query parameters and the source's secrets masked."""
        if request is None or request.url is None:
            return "<unknown url>"
        return redact(request.url, self.secrets)


def _quota(headers: list[tuple[str, str]]) -> Mapping[str, str]:
    """An answer's quota headers, as requests' headers would give them (repeats joined)."""
    pairs = [(name, value) for name, value in headers if name.lower() in QUOTA_HEADERS]
    return CaseInsensitiveDict(HTTPHeaderDict(pairs)) if pairs else {}


def _retry_of(prefetch: _Prefetch | None) -> Future[Response] | None:
    """The page-pool retry of a first try that has ended, if it called for one."""
    if prefetch is None or prefetch.started is None or not prefetch.future.done():
        return None
    if prefetch.future.cancelled() or prefetch.future.exception() is not None:
        return None
    on_wire: _OnWire = prefetch.future.result()
    return on_wire.retried


def _notify_cancelled(future: Future[Any]) -> None:
    """Wake the waiters of a future cancelled before it ran: `cancel()` alone leaves that to
    the worker that would have run it, and a pool shut down never will (`wait` would block)."""
    if future.cancelled():
        with contextlib.suppress(RuntimeError):  # already notified
            future.set_running_or_notify_cancel()


def scrub(exc: BaseException, secrets: Iterable[str]) -> None:
    """Mask secrets in the messages of `exc` and of every exception it chains, in place."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        safe = redact(text, secrets)
        if safe != text:
            current.args = (safe,)
        current = current.__cause__ or current.__context__


CONNECTION_REASONS = (  # what the socket said, and what the user can do about it
    (("Connection refused",), "connection refused: is the API at base_url up, its port right?"),
    (
        ("Name or service not known", "nodename nor servname", "name resolution"),
        "the host name does not resolve: check base_url",
    ),
    (("CERTIFICATE_VERIFY_FAILED",), "the TLS certificate was not trusted"),
)


def _reason(exc: BaseException) -> str | None:
    """Why a connection could not be made, where the socket named a cause the user can fix."""
    text = str(exc)
    for needles, reason in CONNECTION_REASONS:
        if any(needle in text for needle in needles):
            return reason
    return None


def _why(exc: BaseException) -> str:
    """A failed connection's kind, with its cause where the socket named one."""
    reason = _reason(exc)
    return f"{type(exc).__name__} ({reason})" if reason else type(exc).__name__


def _exhausted_message(
    endpoint: str | None, url: str, why: str, attempts: int, *, reached: bool = True
) -> str:
    """A request that kept failing: `reached`, the API answered or broke off (it is failing or
    limiting); else it could not be reached at all (the URL, network or TLS are wrong)."""
    who = f"resource '{endpoint}': " if endpoint else ""
    advice = (
        "the API is failing or rate limiting: try again later or raise max_retries in the"
        " endpoint's error_handler"
        if reached
        else "the API could not be reached: fix what is named above, then run again"
    )
    tries = f"{attempts} attempts ({attempts - 1} retries)"
    return f"{who}{why} for {url} persisted after {tries}; {advice}"
