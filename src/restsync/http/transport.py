"""The wire under requests: one event-loop thread with aiohttp's C parser carries a request.

requests' own adapter reads each answer in the thread that asked for it, in Python. With 16
threads on one GIL a 40 kB page cost 1.67 ms of CPU here (prepared, sent and parsed), where
16 threads waiting on one event-loop thread cost 0.44 ms (sent and parsed, the page read in C).
A big collection at 20 ms latency is CPU bound, and this was its biggest share not dlt's.

`RetryingSession` mounts it and sends the pages it fetches ahead through it (CPU bound); a
request dlt's client sends itself goes by requests' adapter (`fallback`): latency bound, and
the hop to the loop thread costs 0.3 to 1 ms a request at 16 in flight.

requests stays the API: dlt's client, hooks, cookies, redirects and restsync's retries and
rate budget all run as before. Only the transport adapter, requests' public hook for the wire,
changes. Whatever this adapter would not carry exactly as requests does (a method other than
GET, HEAD or OPTIONS, a body, a proxy, a streamed answer, a header that is not ASCII, a scheme
other than http(s)) goes to requests' HTTPAdapter.
`RESTSYNC_HTTP_TRANSPORT=requests` puts everything back on requests' adapter.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import math
import os
import ssl
import threading
import weakref
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.exceptions import (
    ChunkedEncodingError,
    ConnectTimeout,
    ContentDecodingError,
    InvalidURL,
    ReadTimeout,
    RequestException,
    SSLError,
)
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers, select_proxy
from urllib3 import HTTPHeaderDict
from urllib3.util.ssl_ import create_urllib3_context
from yarl import URL

from restsync.errors import ConfigError

__all__ = ["TRANSPORT_ENV", "Answer", "LoopAdapter", "Started", "Unparsable", "adapter_for"]

TRANSPORT_ENV = "RESTSYNC_HTTP_TRANSPORT"
CLOSE_TIMEOUT_S = 5.0
# the headers aiohttp would add on its own; requests' prepared request carries its own or none
_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_MAX_LINE, _MAX_HEADERS = 65536, 100  # what http.client (requests' parser) accepts
_POLL_S = 1.0  # how often a waiting caller checks that its loop still runs
# only these go on the loop: sending one again through requests (an answer aiohttp's parser
# refuses) or after close() is harmless; every other method goes by requests' adapter
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def adapter_for(pool_size: int) -> BaseAdapter:
    """The adapter a session mounts: the event-loop one unless the environment asks for
    requests' own (`RESTSYNC_HTTP_TRANSPORT=requests`)."""
    fallback = HTTPAdapter(pool_connections=pool_size, pool_maxsize=max(pool_size, 1))
    choice = os.environ.get(TRANSPORT_ENV, "aiohttp").strip().lower()
    if choice == "requests":
        return fallback
    if choice != "aiohttp":
        raise ConfigError(f"{TRANSPORT_ENV}={choice!r}: use 'aiohttp' (the default) or 'requests'")
    return LoopAdapter(fallback)


class _Stopped(Exception):
    """The event loop stopped with the request still on it."""


def _wait(future: concurrent.futures.Future[Answer], wire: _Loop) -> Answer:
    """The answer; checked against a stopped loop every second, so that no caller waits
    forever on a request its closed loop will never finish."""
    while True:
        try:
            return future.result(_POLL_S)
        except concurrent.futures.TimeoutError:
            if wire.stopped:
                raise _Stopped() from None


class Unparsable(Exception):
    """aiohttp's parser refused the answer; requests' own adapter may read it."""


@dataclass(frozen=True)
class Answer:
    """An answer as it came off the wire: status line, headers in order, body read whole."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Started:
    """A request `LoopAdapter.start` put on the wire: its answer to come (or what the
    `then` it was started with made of it), or the error it ended in."""

    future: concurrent.futures.Future[Any]
    wire: _Loop

    def result(self) -> Any:
        """Wait for it; a stopped loop (its session closed) ends the wait as a cancel does."""
        try:
            return _wait(self.future, self.wire)
        except _Stopped:
            raise concurrent.futures.CancelledError() from None


Then = Callable[[Answer | None, BaseException | None], Any]


class _Replay(BaseAdapter):
    """Gives the answer (or the error) a request already on the wire ended in, for one `send`."""

    def __init__(
        self, adapter: LoopAdapter, answer: Answer | None, error: BaseException | None
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.adapter = adapter
        self.answer = answer
        self.error = error

    def send(  # type: ignore[override]
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """The started request's response, or the error it ended in."""
        settings = _settings(stream, timeout, verify, cert, proxies)
        return self.adapter.respond(request, self.answer, self.error, settings)

    def close(self) -> None:
        """Nothing of its own to close."""


class _Raw:
    """Stands in for urllib3's response after the body was read: what requests reads from
    `response.raw` (its headers, for cookies) and what it may call on it (close, read)."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self._original_response: Any = None
        if any(name.lower() == "set-cookie" for name, _ in headers):
            message = Message()
            for name, value in headers:
                message[name] = value
            self._original_response = _Original(message)

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        """The body was read whole already: nothing is left."""
        return b""

    def close(self) -> None:
        """Nothing to close: the connection went back to the pool when the body was read."""

    def release_conn(self) -> None:
        """As close()."""


@dataclass(frozen=True)
class _Original:
    msg: Message  # what requests' MockResponse reads Set-Cookie headers from


class _Loop:
    """An event loop in a daemon thread and the aiohttp session that lives in it."""

    def __init__(self) -> None:
        self.loop = _new_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="restsync-wire", daemon=True
        )
        self.thread.start()
        self.stopped = False
        self.pid = os.getpid()
        self.session: aiohttp.ClientSession = asyncio.run_coroutine_threadsafe(
            _open_session(), self.loop
        ).result()

    def stop(self) -> None:
        """Cancel what is on the wire, close the connections, end the thread."""
        self.stopped = True
        if self.pid != os.getpid() or not self.loop.is_running():  # a forked child's copy
            return
        if threading.current_thread() is self.thread:  # a finalizer run by the loop's own GC
            task = self.loop.create_task(_shutdown(self.session))
            task.add_done_callback(lambda _: self.loop.stop())
            return
        try:
            done = asyncio.run_coroutine_threadsafe(_shutdown(self.session), self.loop)
            done.result(CLOSE_TIMEOUT_S)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass  # the loop is stopping anyway
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(CLOSE_TIMEOUT_S)
        if not self.thread.is_alive():
            self.loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # not on Windows: asyncio's own loop
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _open_session() -> aiohttp.ClientSession:
    # no connection limit, like urllib3's non-blocking pools: the session's in-flight
    # semaphore bounds the requests; idle connections are kept alive for reuse
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    return aiohttp.ClientSession(
        connector=connector,
        max_line_size=_MAX_LINE,  # http.client's limits, not aiohttp's stricter 8 kB
        max_field_size=_MAX_LINE,
        max_headers=_MAX_HEADERS,
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),  # requests keeps the cookies
        skip_auto_headers=_AUTO_HEADERS,
        trust_env=False,  # requests decided proxies: a proxied request never comes here
    )


async def _shutdown(session: aiohttp.ClientSession) -> None:
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is not current:
            task.cancel()
    await session.close()


class LoopAdapter(BaseAdapter):
    """A requests transport adapter that sends through one event-loop thread (aiohttp)."""

    def __init__(self, fallback: HTTPAdapter) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.fallback = fallback
        self._lock = threading.Lock()
        self._wire: _Loop | None = None
        self._pid = os.getpid()
        self._contexts: dict[tuple[Any, Any], ssl.SSLContext] = {}
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """A copy (dlt deep-copies configs) carries the settings, not the running loop."""
        return {"fallback": self.fallback}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["fallback"])  # type: ignore[misc]

    def send(  # type: ignore[override]
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Send on the event loop; anything it would not carry as requests does, by requests."""
        settings = _settings(stream, timeout, verify, cert, proxies)
        started = None
        if self.carries(request, stream, timeout, proxies):
            started = self.start(request, timeout, verify, cert)
        if started is None:
            return self.fallback.send(request, **settings)
        return self.finish(request, started, settings)

    def carries(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> bool:
        """True if the loop would carry this request exactly as requests' adapter would."""
        url = request.url or ""
        return not (
            stream
            or _timeouts(timeout) is None
            or url.partition(":")[0].lower() not in ("http", "https")
            or (request.method or "GET").upper() not in _SAFE_METHODS
            or request.body is not None
            or not _plain_headers(request.headers)
            or (proxies and select_proxy(url, proxies))
        )

    def start(
        self,
        request: PreparedRequest,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        then: Then | None = None,
    ) -> Started | None:
        """Put a request `carries` accepts on the wire now and return at once; None if the
        loop was closed meanwhile (requests' adapter is for it then).

        `then`, if given, is called in the loop's thread with the answer or the error (a
        cancel too) as soon as the request ends, and the future carries what it returns
        or raises: its waiters wake only after it ran, and no other thread touches the
        future meanwhile (a callback added from another thread contends for its lock with
        the loop, and a thread that waits for a lock then waits for the GIL).
        """
        limits = _timeouts(timeout)
        assert limits is not None  # carries() said so
        https = (request.url or "").partition(":")[0].lower() == "https"
        ssl_option = self._ssl(verify, cert) if https else True
        wire = self._running()
        coroutine: Coroutine[Any, Any, Any] = _fetch(wire.session, request, limits, ssl_option)
        if then is not None:
            coroutine = _then(coroutine, then)
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, wire.loop)
        except RuntimeError:  # closed by another thread since _running()
            coroutine.close()
            return None
        return Started(future, wire)

    def finish(
        self, request: PreparedRequest, started: Started, settings: Mapping[str, Any]
    ) -> Response:
        """The response to a request `start` put on the wire (waiting for it if need be), as
        requests' adapter would give it, or the error requests' adapter would raise;
        `settings` are the keyword arguments of an adapter's `send`."""
        try:
            answer = started.result()
        except Exception as exc:  # what the wire ended in, or a cancel (closed meanwhile)
            error: BaseException = exc
        except BaseException:  # Ctrl-C while waiting: the request leaves the wire too
            started.future.cancel()
            raise
        else:
            return self._response(request, answer)
        return self.respond(request, None, error, settings)

    def respond(
        self,
        request: PreparedRequest,
        answer: Answer | None,
        error: BaseException | None,
        settings: Mapping[str, Any],
    ) -> Response:
        """What requests' adapter would give for a request that ended in `answer` or `error`
        on the loop: the response, or requests' error (`settings` as for `finish`)."""
        if isinstance(error, Unparsable):  # llhttp refused what http.client may take: a safe
            return self.fallback.send(request, **settings)  # method
        if isinstance(error, (concurrent.futures.CancelledError, asyncio.CancelledError)):
            raise RequestsConnectionError(
                "the connection was closed: its session was closed", request=request
            ) from error
        if error is not None:
            raise error
        assert answer is not None
        return self._response(request, answer)

    def replaying(self, answer: Answer | None, error: BaseException | None) -> BaseAdapter:
        """An adapter whose one `send` gives what a request `start` put on the wire ended in:
        a session hands it to requests' `Session.send`, which then does the rest as usual."""
        return _Replay(self, answer, error)

    def _running(self) -> _Loop:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                if self._finalizer is not None:
                    self._finalizer.detach()  # the parent's loop is the parent's to stop
                self._wire, self._pid, self._finalizer = None, os.getpid(), None
            if self._wire is None:
                self._wire = _Loop()
                self._finalizer = weakref.finalize(self, self._wire.stop)
            return self._wire

    def _ssl(self, verify: bool | str, cert: Any) -> ssl.SSLContext | bool:
        """requests' TLS settings as an SSL context: its CA bundle, a path, or no check."""
        key = (verify, cert if not isinstance(cert, list) else tuple(cert))
        with self._lock:
            context = self._contexts.get(key)
        if context is not None:
            return context
        context = create_urllib3_context()  # the context requests' own adapter starts from
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            where = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
            if not os.path.exists(where):
                raise OSError(
                    f"Could not find a suitable TLS CA certificate bundle, invalid path: {where}"
                )
            if os.path.isdir(where):
                context.load_verify_locations(capath=where)
            else:
                context.load_verify_locations(cafile=where)
        if cert:
            if isinstance(cert, (tuple, list)):
                context.load_cert_chain(cert[0], cert[1])
            else:
                context.load_cert_chain(cert)
        with self._lock:
            self._contexts[key] = context
        return context

    def _response(self, request: PreparedRequest, answer: Answer) -> Response:
        """A requests Response as requests' HTTPAdapter.build_response makes it, body read."""
        response = Response()
        response.status_code = answer.status
        # repeated headers joined by ", " as urllib3's own header dict gives them to requests
        response.headers = CaseInsensitiveDict(HTTPHeaderDict(answer.headers))
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = _Raw(answer.headers)
        response.reason = answer.reason
        url = request.url
        response.url = url.decode("utf-8") if isinstance(url, bytes) else (url or "")
        extract_cookies_to_jar(response.cookies, request, response.raw)  # type: ignore[no-untyped-call]
        response.request = request
        response.connection = self  # type: ignore[assignment]  # requests types it HTTPAdapter
        response._content = answer.body
        response._content_consumed = True  # type: ignore[attr-defined]
        return response

    def close(self) -> None:
        """Stop the event loop (requests on the wire fail with a ConnectionError) and close
        requests' adapter; the next request starts a new loop."""
        with self._lock:
            wire, self._wire = self._wire, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if wire is not None and self._pid == os.getpid():
            wire.stop()
        self.fallback.close()


def _settings(
    stream: bool, timeout: Any, verify: bool | str, cert: Any, proxies: Mapping[str, str] | None
) -> dict[str, Any]:
    """An adapter `send`'s keyword arguments, to hand on as they came."""
    return {
        "stream": stream,
        "timeout": timeout,
        "verify": verify,
        "cert": cert,
        "proxies": proxies,
    }


def _timeouts(timeout: Any) -> aiohttp.ClientTimeout | None:
    """requests' timeout (seconds, or (connect, read)) in aiohttp's terms: the connect limit
    on opening the socket, the read limit between two reads, as in urllib3 (made once for
    each timeout: a request asks for it twice, and the timeout is the session's)."""
    try:
        return _shared_timeouts(timeout)
    except TypeError:  # unhashable (a list, say): requests decides what it means
        return _timeouts_of(timeout)


@functools.lru_cache(maxsize=64)
def _shared_timeouts(timeout: Any) -> aiohttp.ClientTimeout | None:
    return _timeouts_of(timeout)


def _timeouts_of(timeout: Any) -> aiohttp.ClientTimeout | None:
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    for limit in (connect, read):
        if limit is not None and (not isinstance(limit, (int, float)) or not limit > 0):
            return None  # a urllib3 Timeout, or one requests itself rejects: requests decides
    return aiohttp.ClientTimeout(
        total=None,
        connect=None,
        sock_connect=connect,
        sock_read=read,
        ceil_threshold=math.inf,  # to the millisecond, as urllib3 (aiohttp rounds up from 5 s)
    )


async def _fetch(
    session: aiohttp.ClientSession,
    request: PreparedRequest,
    timeout: aiohttp.ClientTimeout,
    ssl_option: ssl.SSLContext | bool,
) -> Answer:
    """One request on the wire, its body read whole; aiohttp's errors as requests' own."""
    try:
        async with session.request(
            request.method or "GET",
            _target(request.url or ""),
            headers=dict(request.headers),
            allow_redirects=False,  # requests follows redirects itself
            timeout=timeout,
            ssl=ssl_option,
        ) as answer:
            try:
                content = await answer.read()
            except aiohttp.ClientPayloadError as exc:
                if isinstance(exc.__cause__, ContentEncodingError):  # as urllib3's DecodeError
                    raise ContentDecodingError(exc, request=request) from exc
                raise ChunkedEncodingError(exc, request=request) from exc  # cut mid-body
            headers = [(_latin1(k), _latin1(v)) for k, v in answer.raw_headers]
            reason = (answer.reason or "").encode("utf-8", "surrogateescape").decode("latin-1")
            return Answer(answer.status, reason, headers, content)
    except RequestException:  # raised above, as requests would
        raise
    except aiohttp.ConnectionTimeoutError as exc:
        raise ConnectTimeout(exc, request=request) from exc
    except (TimeoutError, aiohttp.SocketTimeoutError) as exc:
        raise ReadTimeout(exc, request=request) from exc
    except aiohttp.ClientSSLError as exc:
        raise SSLError(exc, request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise InvalidURL(exc, request=request) from exc
    except aiohttp.ClientResponseError as exc:  # the answer's status line or headers
        raise Unparsable(exc) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise RequestsConnectionError(exc, request=request) from exc
    except RuntimeError as exc:  # "Session is closed": closed while this was scheduled
        raise RequestsConnectionError(exc, request=request) from exc


async def _then(fetch: Coroutine[Any, Any, Answer], then: Then) -> Any:
    """`fetch`, then `then` on what it ended in, in the loop's thread (see `start`)."""
    try:
        answer = await fetch
    except asyncio.CancelledError as exc:  # taken off the wire: told, and cancelled still
        with contextlib.suppress(Exception):  # (nobody would read what it raised)
            then(None, exc)
        raise
    except Exception as exc:
        return then(None, exc)
    return then(answer, None)


def _target(url: str) -> URL:
    """The URL as requests quoted it (sent as is), without user:password (requests made
    those an Authorization header; urllib3 never sends them)."""
    target = URL(url, encoded=True)
    if target.user is not None or target.password is not None:
        target = target.with_user(None)
    return target


def _plain_headers(headers: Mapping[str, Any]) -> bool:
    """True if every header is an ASCII str (http.client sends others as Latin-1 or bytes)."""
    return all(
        isinstance(name, str) and isinstance(value, str) and name.isascii() and value.isascii()
        for name, value in headers.items()
    )


def _latin1(raw: bytes) -> str:
    """A header as http.client decodes it."""
    return raw.decode("latin-1")
