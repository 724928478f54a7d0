"""The event-loop transport against real sockets: it answers as requests' own adapter does.

A raw socket server writes each answer byte for byte, so the tests can send what a framework
would tidy away: repeated headers, a 20 kB header, gzip, a body cut short, a malformed answer.
"""

from __future__ import annotations

import copy
import gzip
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Timeout

from restsync.errors import ConfigError
from restsync.http.session import RetryingSession
from restsync.http.transport import TRANSPORT_ENV, LoopAdapter, adapter_for

Answer = Callable[[str, bytes], bytes]  # (path, request body) -> the raw answer


def _ok(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _answers(path: str, body: bytes) -> bytes:
    if path == "/json":
        return _ok(b'{"data": [1, 2]}', "Content-Type: application/json; charset=utf-8")
    if path == "/cookie":
        return _ok(b"set", "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; Path=/")
    if path == "/redirect":
        return _ok(b"", "Location: /json", status="302 Found")
    if path == "/gzip":
        packed = gzip.compress(b'{"zipped": true}')
        return _ok(packed, "Content-Encoding: gzip", "Content-Type: application/json")
    if path == "/repeated":
        return _ok(b"", "X-Repeated: one", "X-Repeated: two")
    if path == "/big-header":
        return _ok(b"big", "X-Big: " + "x" * 20_000)
    if path == "/cut":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b'{"data": ['
    if path == "/slow":
        time.sleep(1.5)
        return _ok(b"late")
    if path == "/echo":
        return _ok(body)
    if path == "/lenient":  # http.client reads it; aiohttp's parser refuses the space
        return b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Odd : v\r\n\r\nlenient"
    if path == "/latin1-header":  # raw bytes: é in Latin-1, and é in UTF-8
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-L: caf\xe9\r\nX-U: caf\xc3\xa9\r\n\r\n"
    if path == "/latin1-cookie":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nSet-Cookie: c=caf\xe9; Path=/\r\n\r\n"
    if path == "/latin1":
        return _ok("caf\u00e9".encode("latin-1"), "Content-Type: text/plain; charset=ISO-8859-1")
    return _ok(b"not found", status="404 Not Found")


class _Handler(socketserver.StreamRequestHandler):
    """Reads requests on one kept-alive connection and writes the scripted raw answers."""

    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        while True:
            line = self.rfile.readline()
            if not line.strip():
                return
            server.request_lines.append(line.decode().strip())
            headers: dict[str, str] = {}
            while (header := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode("latin-1").partition(":")  # as http.client
                headers[name.strip().lower()] = value.strip()
            server.request_headers.append(headers)
            body = self.rfile.read(int(headers.get("content-length", "0")))
            target = line.split()[1].decode()
            path = target.split("?")[0] if target.startswith("/") else "/proxied"
            answer = _ok(target.encode()) if path == "/proxied" else server.answer(path, body)
            self.wfile.write(answer)
            self.wfile.flush()
            if path == "/cut":
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.request_lines: list[str] = []
        self.request_headers: list[dict[str, str]] = []


@contextmanager
def raw_server(answer: Answer = _answers, tls: ssl.SSLContext | None = None) -> Iterator[_Server]:
    """A raw answering server on loopback (TLS if given a context) for the block."""
    server = _Server(answer)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: _Server, path: str, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}{path}"


@pytest.fixture
def fallback_sends() -> list[str]:
    """The URLs the event-loop adapter handed to requests' own adapter (the session fixture's)."""
    return []


@pytest.fixture
def session(fallback_sends: list[str]) -> Iterator[requests.Session]:
    """A plain requests session on the event-loop adapter: requests' own errors come through."""
    with requests.Session() as plain:
        adapter = adapter_for(4)
        assert isinstance(adapter, LoopAdapter)
        to_requests = adapter.fallback.send

        def counted(
            request: requests.PreparedRequest, *args: object, **kwargs: object
        ) -> requests.Response:
            fallback_sends.append(request.url or "")
            return to_requests(request, *args, **kwargs)  # type: ignore[arg-type]

        adapter.fallback.send = counted  # type: ignore[method-assign,assignment]
        plain.mount("http://", adapter)
        plain.mount("https://", adapter)
        yield plain


def test_restsync_sessions_send_through_the_event_loop_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RetryingSession() as default:
        assert isinstance(default.adapters["https://"], LoopAdapter)
        assert isinstance(default.adapters["http://"], LoopAdapter)
    monkeypatch.setenv(TRANSPORT_ENV, "requests")
    with RetryingSession() as plain:
        assert type(plain.adapters["https://"]) is HTTPAdapter
    monkeypatch.setenv(TRANSPORT_ENV, "curl")
    with pytest.raises(ConfigError, match="RESTSYNC_HTTP_TRANSPORT='curl'"):
        RetryingSession()


def test_pages_sent_ahead_go_through_the_loop_and_the_rest_through_requests() -> None:
    with raw_server() as server, RetryingSession(pool_size=4) as session:
        loop = session.adapters["http://"]
        assert isinstance(loop, LoopAdapter)
        by_requests: list[str] = []
        to_requests = loop.fallback.send

        def counted(
            request: requests.PreparedRequest, *args: object, **kwargs: object
        ) -> requests.Response:
            by_requests.append(request.url or "")
            return to_requests(request, *args, **kwargs)  # type: ignore[arg-type]

        loop.fallback.send = counted  # type: ignore[method-assign,assignment]
        ahead = requests.Request("GET", _url(server, "/json"), params={"page": 2})
        token = session.prefetch(ahead)
        claimed = requests.Request("GET", _url(server, "/json"), params={"page": 2})
        session.claim(claimed, token)
        assert session.send(session.prepare_request(claimed)).json() == {"data": [1, 2]}
        assert by_requests == []  # the page sent ahead went through the event loop
        assert session.get(_url(server, "/json"), params={"page": 1}).ok
        assert by_requests == [_url(server, "/json?page=1")]  # dlt's own request: requests'
    assert server.request_lines.count("GET /json?page=2 HTTP/1.1") == 1


def test_an_answer_reads_as_requests_reads_it(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as server:
        answer = session.get(_url(server, "/json"), params={"q": "a b"}, timeout=5)
        assert answer.status_code == 200 and answer.reason == "OK"
        assert answer.json() == {"data": [1, 2]}
        assert answer.encoding == "utf-8"
        assert answer.url == _url(server, "/json?q=a+b")
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        latin = session.get(_url(server, "/latin1"), timeout=5)
        assert latin.text == "caf\u00e9"
        repeated = session.get(_url(server, "/repeated"), timeout=5)
        assert repeated.headers["X-Repeated"] == "one, two"  # as urllib3 joins them
        zipped = session.get(_url(server, "/gzip"), timeout=5)
        assert zipped.json() == {"zipped": True}
        big = session.get(_url(server, "/big-header"), timeout=5)
        assert len(big.headers["X-Big"]) == 20_000
        missing = session.get(_url(server, "/nothing"), timeout=5)
        assert missing.status_code == 404 and missing.text == "not found"
    # the request went out as requests prepared it: its query as quoted, its headers as set
    assert server.request_lines[0] == "GET /json?q=a+b HTTP/1.1"
    sent = server.request_headers[0]
    assert sent["user-agent"].startswith("python-requests/")
    assert sent["accept-encoding"] == requests.utils.DEFAULT_ACCEPT_ENCODING
    assert fallback_sends == []  # all of it went through the event loop


def test_an_answer_aiohttp_cannot_parse_is_read_again_by_requests(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as server:
        answer = session.get(_url(server, "/lenient"), timeout=5)
        assert answer.status_code == 200 and answer.text == "lenient"
        assert fallback_sends == [_url(server, "/lenient")]
        posted = session.post(_url(server, "/lenient"), data=b"once", timeout=5)
        assert posted.text == "lenient"  # a POST goes by requests' adapter only, never twice
    assert server.request_lines.count("GET /lenient HTTP/1.1") == 2
    assert server.request_lines.count("POST /lenient HTTP/1.1") == 1


def test_requests_keeps_cookies_and_follows_redirects(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as server:
        set_cookie = session.get(_url(server, "/cookie"), timeout=5)
        assert set_cookie.cookies.get_dict() == {"a": "1", "b": "2"}
        assert session.cookies.get_dict() == {"a": "1", "b": "2"}
        session.get(_url(server, "/echo"), timeout=5)
        assert server.request_headers[-1]["cookie"] in ("a=1; b=2", "b=2; a=1")
        moved = session.get(_url(server, "/redirect"), timeout=5)
        assert moved.json() == {"data": [1, 2]}
        assert [r.status_code for r in moved.history] == [302]
    assert fallback_sends == []


PARITY_PATHS = ["/json", "/repeated", "/gzip", "/big-header", "/latin1", "/latin1-header",
                "/latin1-cookie", "/cookie", "/redirect", "/nothing"]  # fmt: skip


@pytest.mark.parametrize("path", PARITY_PATHS)
def test_an_answer_equals_requests_own_adapters_answer(
    session: requests.Session, fallback_sends: list[str], path: str
) -> None:
    with raw_server() as server, requests.Session() as plain:
        ours = session.get(_url(server, path), timeout=5, allow_redirects=False)
        theirs = plain.get(_url(server, path), timeout=5, allow_redirects=False)
    assert (ours.status_code, ours.reason, ours.url) == (
        theirs.status_code, theirs.reason, theirs.url
    )  # fmt: skip
    assert dict(ours.headers) == dict(theirs.headers)
    assert (ours.content, ours.encoding) == (theirs.content, theirs.encoding)
    assert ours.cookies.get_dict() == theirs.cookies.get_dict()
    assert session.cookies.get_dict() == plain.cookies.get_dict()
    assert ours.is_redirect == theirs.is_redirect
    assert fallback_sends == []


def test_what_the_loop_does_not_carry_goes_to_requests(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as server:
        echoed = session.post(_url(server, "/echo"), json={"a": [1, "é"]}, timeout=5)
        assert echoed.json() == {"a": [1, "é"]}
        form = session.post(_url(server, "/echo"), data={"k": "v w"}, timeout=5)
        assert form.text == "k=v+w"
        raw = session.get(_url(server, "/json"), headers={"X-Raw": b"v"}, timeout=5)
        assert raw.ok and server.request_headers[-1]["x-raw"] == "v"
        streamed = session.get(_url(server, "/json"), stream=True, timeout=5)
        assert streamed.json() == {"data": [1, 2]}
        assert session.get(_url(server, "/json"), timeout=Timeout(5)).ok  # type: ignore[arg-type]
    assert len(fallback_sends) == 5  # every one of them, by requests' adapter
    with raw_server() as server:  # user:password in the URL: requests made it a header
        netloc = f"u:p@127.0.0.1:{server.server_address[1]}"
        assert session.get(f"http://{netloc}/json", timeout=5).ok
    assert server.request_headers[-1]["authorization"] == "Basic dTpw"
    assert server.request_lines[-1] == "GET /json HTTP/1.1"
    assert len(fallback_sends) == 5


def test_a_body_or_a_header_the_loop_would_send_otherwise_goes_to_requests(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as server:
        echoed = session.get(_url(server, "/echo"), json={"q": 1}, timeout=5)  # a GET's body
        assert echoed.json() == {"q": 1}
        named = session.get(_url(server, "/json"), headers={"X-Name": "café"}, timeout=5)
        assert named.ok and server.request_headers[-1]["x-name"] == "café"  # Latin-1, as requests
    assert len(fallback_sends) == 2


def test_wire_failures_are_requests_errors(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as server:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            session.get(_url(server, "/cut"), timeout=5)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.get(_url(server, "/slow"), timeout=(5, 0.3))
        assert time.monotonic() - started < 1.2
        assert session.get(_url(server, "/json"), timeout=5).status_code == 200  # still usable
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"http://127.0.0.1:{port}/json", timeout=5)
    assert fallback_sends == []


def test_a_proxy_is_left_to_requests_own_adapter(
    session: requests.Session, fallback_sends: list[str]
) -> None:
    with raw_server() as proxy:
        proxies = {"http": f"http://127.0.0.1:{proxy.server_address[1]}"}
        answer = session.get("http://api.invalid/v1/things?x=1", proxies=proxies, timeout=5)
    assert answer.text == "http://api.invalid/v1/things?x=1"  # the proxy got the absolute URL
    assert fallback_sends == ["http://api.invalid/v1/things?x=1"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_is_verified_as_requests_verifies_it(
    session: requests.Session, certificate: tuple[Path, Path], fallback_sends: list[str]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with raw_server(tls=context) as server:
        url = _url(server, "/json", scheme="https")
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url, timeout=5)  # not signed by a CA of requests' bundle
        assert session.get(url, verify=str(cert), timeout=5).json() == {"data": [1, 2]}
        assert session.get(url, verify=False, timeout=5).json() == {"data": [1, 2]}
    assert fallback_sends == []


def test_closing_ends_what_is_on_the_wire_and_a_copy_starts_afresh(
    session: requests.Session,
) -> None:
    def wire_thread(of: requests.Session) -> threading.Thread:
        adapter = of.get_adapter("http://")
        assert isinstance(adapter, LoopAdapter) and adapter._wire is not None
        return adapter._wire.thread

    with raw_server() as server:
        assert session.get(_url(server, "/json"), timeout=5).ok
        first = wire_thread(session)
        errors: list[BaseException] = []

        def slow() -> None:
            try:
                session.get(_url(server, "/slow"), timeout=10)
            except BaseException as exc:  # the error it ended in is the assertion
                errors.append(exc)

        waiting = threading.Thread(target=slow)
        waiting.start()
        time.sleep(0.3)
        started = time.monotonic()
        session.close()
        waiting.join(5)
        assert not waiting.is_alive() and time.monotonic() - started < 1.0
        assert len(errors) == 1 and isinstance(errors[0], requests.exceptions.ConnectionError)
        assert not first.is_alive()  # the closed loop's thread ended
        assert session.get(_url(server, "/json"), timeout=5).ok  # reopened on the next request
        twin = copy.deepcopy(session)  # dlt deep-copies configs that hold the session
        assert twin.get(_url(server, "/json"), timeout=5).json() == {"data": [1, 2]}
        assert wire_thread(twin) is not wire_thread(session)  # the copy has a loop of its own
        second = wire_thread(twin)
        twin.close()
        assert not second.is_alive()
