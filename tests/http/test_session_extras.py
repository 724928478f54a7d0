"""Work done once instead of per request: requests' environment settings (proxies, CA bundle)
per host, a response's JSON body per response (parsed fast, to the same values requests would
give), a prefetched page's request when it is sent ahead."""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from requests import Request, Response

from restsync.errors import NotJsonError, RetriesExhaustedError
from restsync.http.retry import RetryPolicy
from restsync.http.session import ENDPOINT_HEADER, ParsedOnceResponse, RetryingSession
from tests.scripted_server import DROP, Reply, scripted_server, silent_server

URL = "http://api.example.test/v1/items?page=2"
HOLD_BEAT_S = 0.2  # how long after a worker's answer another sends: it has acted on it by then


def test_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings = RetryingSession().merge_environment_settings(URL, {}, None, None, None)
    assert settings["proxies"]["http"] == "http://proxy.example.test:3128"


def test_the_environment_is_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://first.example.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = RetryingSession()
    first = session.merge_environment_settings(URL, {}, None, None, None)
    first["proxies"]["http"] = "mutated by a caller"  # a caller's copy, not the cache
    monkeypatch.setenv("HTTP_PROXY", "http://second.example.test:3128")
    again = session.merge_environment_settings(URL + "&more=1", {}, None, None, None)
    assert again["proxies"]["http"] == "http://first.example.test:3128"
    other = session.merge_environment_settings("http://other.test/x", {}, None, None, None)
    assert other["proxies"]["http"] == "http://second.example.test:3128"


def test_explicit_settings_win_over_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://env.example.test:3128")
    session = RetryingSession()
    session.merge_environment_settings(URL, {}, None, None, None)
    explicit = {"http": "http://explicit.example.test:8080"}
    settings = session.merge_environment_settings(URL, explicit, None, False, None)
    assert settings["proxies"]["http"] == "http://explicit.example.test:8080"
    assert settings["verify"] is False


def test_a_response_body_is_parsed_once_for_every_reader() -> None:
    with scripted_server() as server:
        server.script("/page", Reply(200, {"data": [{"id": 1}], "next": "abc"}))
        session = RetryingSession()
        response = session.get(server.base_url + "/page")
        first = response.json()
        assert first == {"data": [{"id": 1}], "next": "abc"}
        assert response.json() is first  # the paginator's read reuses the client's parse
        assert response.json(parse_float=str) is not first  # other options parse afresh


def _parsed(body: bytes, content_type: str = "application/json") -> object:
    """What the session's response gives for a body served with this content type."""
    with scripted_server() as server:
        server.script("/page", Reply(200, body, {"Content-Type": content_type}))
        return RetryingSession().get(server.base_url + "/page").json()


def _typed(value: object) -> object:
    """A value with every number's type, every float's sign and every object's key order made
    visible (1 == 1.0, -0.0 == 0.0 and {"a": 1, "b": 2} == {"b": 2, "a": 1}, but not here)."""
    if isinstance(value, dict):
        return [("object", key, _typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=UTF-8", "application/vnd.api+json"],
)
def test_a_utf8_page_is_parsed_by_the_fast_parser(
    content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Response, **kwargs: object) -> object:
        raise AssertionError("parsed by requests, not by the fast parser")

    monkeypatch.setattr(Response, "json", refuse)
    body = '{"data": [{"id": 7, "name": "Zoë", "score": 0.1}]}'.encode()
    assert _parsed(body, content_type) == {"data": [{"id": 7, "name": "Zoë", "score": 0.1}]}


@pytest.mark.parametrize(
    "number", [-(2**63) - 1, 2**64, 123456789012345678901234, 2**64 - 1, -(2**63)]
)
def test_integers_past_64_bits_stay_exact_integers(number: int) -> None:
    # orjson reads -(2**63) - 1 as -9.223372036854776e+18 and 2**64 as 1.8e19
    assert _typed(_parsed(b'{"id": %d}' % number)) == [("object", "id", ("int", number))]


def test_digits_in_a_string_and_big_integers_stay_on_the_fast_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a commit hash with 19 digits in a row (one hosting page in ten) once sent its page to
    # requests' slower parse, as any integer past 64 bits did
    def refuse(self: Response, **kwargs: object) -> object:
        raise AssertionError("parsed by requests, not by the fast parser")

    monkeypatch.setattr(Response, "json", refuse)
    body = b'{"sha": "57ca6053743425597002787f", "id": 123456789012345678901234}'
    parsed = _parsed(body)
    assert _typed(parsed) == [
        ("object", "sha", ("str", "57ca6053743425597002787f")),
        ("object", "id", ("int", 123456789012345678901234)),
    ]


def test_key_order_repeated_keys_and_signed_zeros_are_read_as_requests_reads_them() -> None:
    body = b'{"b": 1, "a": -0.0, "b": 2, "c": [-0, 0.0, -1e-400]}'
    plain = Response()
    plain._content, plain.encoding = body, "utf-8"
    assert _typed(_parsed(body)) == _typed(plain.json())
    parsed = _parsed(body)
    assert isinstance(parsed, dict) and list(parsed) == ["b", "a", "c"]  # the first place wins
    assert parsed["b"] == 2  # and the last value


def test_a_declared_charset_is_honoured() -> None:
    # UTF-8 bytes of "Café" declared Latin-1: requests decodes them as Latin-1, so must we
    body = '{"name": "Café"}'.encode()
    assert _parsed(body, "application/json; charset=ISO-8859-1") == {"name": "CafÃ©"}
    assert _parsed(body) == {"name": "Café"}


def test_what_the_fast_parser_refuses_is_parsed_as_before() -> None:
    assert _parsed(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a BOM: msgspec refuses, requests not
    parsed = _parsed(b'{"v": 1e400, "w": 1.5}')  # past a double: msgspec refuses, requests: inf
    assert isinstance(parsed, dict) and math.isinf(parsed["v"]) and parsed["w"] == 1.5
    with pytest.raises(NotJsonError, match=r"expected JSON from .*got '\{\"data\": \[1, 2'"):
        _parsed(b'{"data": [1, 2')  # broken: an error that says what came, a ValueError too
    with pytest.raises(ValueError, match="check base_url"):
        _parsed(b"")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.from_regex(r"[0-9a-f]?[0-9]{18,24}[0-9a-f]?", fullmatch=True),  # digits in a string
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_the_fast_parse_equals_requests_parse(value: object, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    fast, plain = ParsedOnceResponse(), Response()
    for response in (fast, plain):
        response._content = body
        response.encoding = "utf-8"
    assert _typed(fast.json()) == _typed(plain.json())


DAMAGE = st.sampled_from(list(b' "\\,:[]{}-.e0\n\x00\xff'))


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, data=st.data())
def test_a_damaged_body_is_refused_or_read_as_requests_reads_it(
    value: object, data: st.DataObject
) -> None:
    body = bytearray(json.dumps(value, ensure_ascii=False).encode())
    for _ in range(data.draw(st.integers(1, 3))):  # a byte put in anywhere: valid JSON or not
        body.insert(data.draw(st.integers(0, len(body))), data.draw(DAMAGE))
    fast, plain = ParsedOnceResponse(), Response()
    for response in (fast, plain):
        response._content = bytes(body)
        response.encoding = "utf-8"
    try:
        expected = _typed(plain.json())
    except ValueError:  # requests refuses it: so does the fast parse, as a NotJsonError
        with pytest.raises(NotJsonError):
            fast.json()
        return
    assert _typed(fast.json()) == expected


def test_a_claimed_page_is_not_prepared_twice_and_a_lost_claim_fetches_afresh() -> None:
    with scripted_server() as server:
        server.script(
            "/page", Reply(200, {"data": [1]}), Reply(200, {"data": [2]}), Reply(200, {"data": [3]})
        )
        session = RetryingSession()
        url = server.base_url + "/page"
        request = Request("GET", url, headers={"Authorization": "Bearer s3cret"})
        token = session.prefetch(request)
        session.claim(request, token)
        stand_in = session.prepare_request(request)
        assert stand_in.url == url and "Authorization" not in stand_in.headers  # not prepared
        assert session.send(stand_in).json() == {"data": [1]}  # the prefetched response
        assert server.hits["/page"] == 1
        token = session.prefetch(request)
        session.claim(request, token)
        stand_in = session.prepare_request(request)
        session.first_done([token])
        session.discard(token)  # the page is forgotten between prepare and send
        assert session.send(stand_in).json() == {"data": [3]}  # asked again, in full
        session.close()
    assert server.hits["/page"] == 3  # the forgotten prefetch was answered, then asked again
    for sent in server.seen_headers:
        assert sent["authorization"] == "Bearer s3cret"
        assert not any(name.startswith("x-restsync") for name in sent)  # private headers stay


def test_a_page_sent_ahead_stops_retrying_once_the_session_is_closed() -> None:
    policy = RetryPolicy(statuses=frozenset({503}), max_retries=5, backoff_factor=0.2)
    with scripted_server() as server:
        server.script("/items", Reply(503, {"error": "busy"}))
        session = RetryingSession(default_policy=policy, pool_size=2)
        session.prefetch(Request("GET", server.base_url + "/items"))
        deadline = time.monotonic() + 10
        while server.hits["/items"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        session.close()  # the sync is over: nobody will claim the page
        time.sleep(2.0)  # retrying, it would be asked 4 times by now (waits 0.2, 0.4, 0.8 s)
        assert server.hits["/items"] <= 2, "a dropped page went on retrying"
        # and the session still works for a later sync
        server.script("/ok", Reply(200, {"data": [1]}))
        assert session.get(server.base_url + "/ok").json() == {"data": [1]}
        session.close()


def test_a_deep_copied_config_shares_its_session_and_it_still_works() -> None:
    policy = RetryPolicy(statuses=frozenset({503}), max_retries=2, backoff_factor=0.01)
    session = RetryingSession({"things": policy}, timeout=7.0)
    config: dict[str, Any] = {"client": {"session": session}, "resources": [{"name": "things"}]}
    copied = copy.deepcopy(config)  # what dlt's rest_api does to validate a config
    assert copied["client"]["session"] is session
    with scripted_server() as server:
        server.script("/x", Reply(503), Reply(200, {"data": [1]}))
        request = Request("GET", server.base_url + "/x", headers={ENDPOINT_HEADER: "things"})
        answer = copied["client"]["session"].send(session.prepare_request(request))
        assert answer.json() == {"data": [1]} and server.hits["/x"] == 2
    session.close()


def test_a_redirect_is_followed_with_one_slot_and_a_nearly_spent_quota() -> None:
    import threading

    from dlt.sources.helpers.rest_client.client import RESTClient
    from dlt.sources.helpers.rest_client.paginators import SinglePagePaginator

    with scripted_server() as api:
        api.script("/old", Reply(302, b"", {"Location": "/new"}))
        # the API says 1 request remains: with the first one still counted in flight, the hop
        # would wait for ever for the quota (and with one slot, for the slot)
        api.script(
            "/new", Reply(body={"data": [{"id": 1}]}, headers={"X-RateLimit-Remaining": "1"})
        )
        session = RetryingSession(pool_size=1)
        client = RESTClient(base_url=api.base_url, session=session, paginator=SinglePagePaginator())
        pages: list[Any] = []
        for _ in range(2):  # the second run starts with the quota the first one left
            reader = threading.Thread(
                target=lambda: pages.append(list(client.paginate("/old", data_selector="data"))),
                daemon=True,
            )
            reader.start()
            reader.join(10)
            assert not reader.is_alive(), "the redirect deadlocked"
        assert pages == [[[{"id": 1}]], [[{"id": 1}]]]
        assert api.hits["/old"] == 2 and api.hits["/new"] == 2


def test_a_wait_for_a_queued_page_ends_when_the_session_closes() -> None:
    import threading

    with silent_server() as url:  # accepts, never answers
        session = RetryingSession(pool_size=1, timeout=30)
        try:
            session.prefetch(Request("GET", url))  # holds the only page-pool thread
            queued = session.prefetch(Request("GET", url))  # waits behind it
            assert queued is not None
            waiter = threading.Thread(target=session.first_done, args=([queued],), daemon=True)
            waiter.start()
            time.sleep(0.2)
            session.close()  # as close_sessions does when a sync fails or is interrupted
            waiter.join(5)
            assert not waiter.is_alive(), "first_done waited for a page that will never be sent"
        finally:
            session.close()


def test_a_429_that_says_when_the_quota_resets_waits_that_long() -> None:
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}  # no Retry-After
    with scripted_server() as api:
        api.script("/items", Reply(429, {"error": "slow down"}, limited), Reply(body={"data": []}))
        session = RetryingSession(default_policy=RetryPolicy(max_retries=1, backoff_factor=0.01))
        started = time.monotonic()
        response = session.send(session.prepare_request(Request("GET", f"{api.base_url}/items")))
        waited = time.monotonic() - started
    assert response.status_code == 200
    assert waited >= 0.9  # the reset, not a 0.01 s backoff against a quota still spent


def test_close_ends_a_wait_for_the_hosts_pause_instead_of_sending_after_it() -> None:
    import threading

    with scripted_server() as api:
        api.script("/items", Reply(body={"data": []}))
        session = RetryingSession()
        url = f"{api.base_url}/items"
        session.budget_for(url).pause(30)  # as a Retry-After: 30 would
        errors: list[BaseException] = []

        def send() -> None:
            try:
                session.send(session.prepare_request(Request("GET", url)))
            except BaseException as exc:
                errors.append(exc)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        time.sleep(0.2)
        session.close()  # a failed or interrupted sync closes its sessions
        sender.join(5)
        assert not sender.is_alive() and errors, "the wait outlived the session"
        assert api.hits["/items"] == 0  # and nothing was sent after it


def test_a_page_discarded_on_the_wire_is_not_retried() -> None:
    import socket
    import threading

    answer, requests_seen = threading.Event(), []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(3)

    def serve() -> None:  # one connection: waits to be told, then answers 500, keeps listening
        with suppress(OSError):
            while True:
                conn, _ = server.accept()
                requests_seen.append(conn.recv(65536))
                answer.wait(5)
                conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    policy = RetryPolicy(statuses=frozenset({500}), max_retries=3, backoff_factor=0.05)
    session = RetryingSession(default_policy=policy)
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/page"
        token = session.prefetch(Request("GET", url))
        assert token is not None
        deadline = time.monotonic() + 3
        while not requests_seen and time.monotonic() < deadline:
            time.sleep(0.01)
        session.discard(token)  # the collection ended: this page is past it, and on the wire
        answer.set()
        time.sleep(0.6)  # backoff 0.05, 0.1, 0.2: every retry would have come by now
        assert len(requests_seen) == 1
    finally:
        session.close()
        server.close()


def test_a_redirect_hop_is_judged_by_its_endpoints_policy() -> None:
    with scripted_server() as api:
        api.script("/busy", Reply(302, b"", {"Location": "/moved"}))
        api.script("/moved", Reply(503), Reply(503), Reply(body={"data": [1]}))
        retry_503 = RetryPolicy(statuses=frozenset({503}), max_retries=3, backoff_factor=0.01)
        session = RetryingSession({"r": retry_503}, RetryPolicy(max_retries=0))
        request = Request("GET", f"{api.base_url}/busy", headers={ENDPOINT_HEADER: "r"})
        response = session.send(session.prepare_request(request))
    assert response.status_code == 200 and api.hits["/moved"] == 3
    assert [r.status_code for r in response.history] == [302]


def test_a_429_whose_reset_has_passed_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    past = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000000001"}  # in 2001
    with scripted_server() as api:
        api.script("/items", Reply(429, {}, past), Reply(429, {}, past), Reply(body={}))
        policy = RetryPolicy(max_retries=3, backoff_factor=0.05)
        session = RetryingSession(default_policy=policy)
        with caplog.at_level("WARNING", logger="restsync.http"):
            session.send(session.prepare_request(Request("GET", f"{api.base_url}/items")))
    assert api.hits["/items"] == 3
    waits = [line.rsplit("retrying in ", 1)[1] for line in caplog.messages if "retrying" in line]
    assert waits == ["0.05s", "0.10s"]  # the backoff, not 0 s retries


def test_pages_that_finished_before_their_discard_leave_nothing_behind() -> None:
    with scripted_server() as api:
        api.script("/page", Reply(body={"data": []}))
        session = RetryingSession()
        tokens = [session.prefetch(Request("GET", f"{api.base_url}/page")) for _ in range(20)]
        session.first_done([t for t in tokens if t])
        time.sleep(0.5)  # every page answered
        for token in tokens:
            assert token is not None
            session.discard(token)
        assert not session._dropped and not session._running
        session.close()


def test_a_host_that_cannot_be_reached_is_not_called_failing_or_rate_limiting() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = RetryingSession(default_policy=RetryPolicy(max_retries=1, backoff_factor=0))
    with pytest.raises(RetriesExhaustedError) as info:
        session.get(f"http://127.0.0.1:{port}/items", timeout=5)
    message = str(info.value)
    assert "connection refused" in message and "could not be reached" in message, message
    assert "rate limiting" not in message, message
    assert info.value.attempts == 2 and "2 attempts (1 retries)" in message  # max_retries=1


def test_dropped_connections_are_tried_as_often_as_the_policy_says() -> None:
    with scripted_server() as server:
        server.script("/items", Reply(DROP))
        session = RetryingSession(default_policy=RetryPolicy(max_retries=1, backoff_factor=0))
        with pytest.raises(RetriesExhaustedError):
            session.get(server.base_url + "/items", timeout=5)
        assert server.hits["/items"] == 2


def _held_for(session: RetryingSession, url: str, after: threading.Event) -> float:
    """Seconds another worker's request to `url` takes, sent once `after` is set (plus a beat
    for the first worker to take in its answer)."""
    after.wait(5)
    time.sleep(HOLD_BEAT_S)
    started = time.monotonic()
    session.get(url, timeout=5)
    return time.monotonic() - started


def test_a_retry_after_on_a_5xx_pauses_every_worker_of_the_host() -> None:
    with scripted_server() as server:
        server.script("/a", Reply(503, headers={"Retry-After": "1"}), Reply(200))
        server.script("/b", Reply(200))
        policy = RetryPolicy(statuses=frozenset({503}), max_retries=1)
        session = RetryingSession(default_policy=policy)
        hit = threading.Event()
        session.hooks["response"].append(lambda r, **_: hit.set())
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(session.get, server.base_url + "/a", timeout=5)
            other = pool.submit(_held_for, session, server.base_url + "/b", hit)
            assert first.result().status_code == 200
            assert other.result() >= 1 - HOLD_BEAT_S - 0.2  # held by /a's Retry-After
        session.close()


def test_a_spent_quota_on_a_good_answer_pauses_the_host_until_it_resets() -> None:
    with scripted_server() as server:
        reset = int(time.time()) + 2  # epoch seconds: 1 to 2 s from now
        spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
        server.script("/a", Reply(200, headers=spent))
        server.script("/b", Reply(200))
        session = RetryingSession()
        session.get(server.base_url + "/a", timeout=5)
        session.get(server.base_url + "/b", timeout=5)
        assert time.time() >= reset - 0.05  # /b not sent before the quota came back
        session.close()


def test_an_api_that_keeps_failing_is_still_called_failing() -> None:

    with scripted_server() as server:
        server.script("/items", Reply(503), Reply(503))
        session = RetryingSession(default_policy=RetryPolicy(max_retries=1, backoff_factor=0))
        with pytest.raises(RetriesExhaustedError) as info:
            session.get(server.base_url + "/items", timeout=5)
    assert "failing or rate limiting" in str(info.value)
