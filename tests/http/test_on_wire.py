"""A page's first try put straight on the event loop when it is sent ahead (`_OnWire`).

Its answer must be judged exactly as a try sent by a page-pool thread: retries, host pauses,
redirects, hooks and cookies, the in-flight bound and the rate budget, close and discard.
Every test runs against a real socket.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from requests import Request

from restsync.emulators import EmulatorOptions, Faults, run_emulator
from restsync.http.budget import RateLimit
from restsync.http.retry import RetryPolicy
from restsync.http.session import ENDPOINT_HEADER, RetryingSession
from tests.http.test_transport import _url, raw_server
from tests.scripted_server import DROP, Reply, scripted_server, silent_server

PAGE = 10


def _json(body: bytes) -> bytes:
    """A raw 200 answer with a JSON body."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _claim(session: RetryingSession, url: str, token: str, **options: Any) -> requests.Response:
    """What dlt's client does with a page the window sent ahead: claim it, prepare, send."""
    request = Request("GET", url, **options)
    session.claim(request, token)
    return session.send(session.prepare_request(request))


def test_a_page_sent_ahead_is_on_the_wire_at_once_and_taken_in_by_its_claim() -> None:
    with scripted_server() as server:
        server.script("/page", Reply(200, {"data": [1]}, {"Set-Cookie": "seen=1; Path=/"}))
        session = RetryingSession(pool_size=4)
        hooked: list[str] = []

        def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            hooked.append(threading.current_thread().name)

        session.hooks["response"].append(hook)
        url = server.base_url + "/page"
        token = session.prefetch(Request("GET", url))
        assert _until(lambda: server.hits["/page"] == 1), "not sent before its claim"
        time.sleep(0.1)
        assert hooked == []  # answered, but not taken in until claimed
        response = _claim(session, url, token)
        assert response.json() == {"data": [1]}
        assert hooked == [threading.current_thread().name]  # by the claiming thread
        assert session.cookies.get("seen") == "1"  # requests' cookie extraction ran
        assert timedelta(0) < response.elapsed < timedelta(seconds=5)
        assert session._prefetch_pool is None  # no page-pool thread was needed
        assert session.attempts_total == 1 and server.hits["/page"] == 1
        session.close()


def test_a_first_try_answered_503_is_retried_at_once_not_at_its_claim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = RetryPolicy(statuses=frozenset({503}), max_retries=2, backoff_factor=0)
    with scripted_server() as server:
        server.script("/page", Reply(503, {"error": "busy"}), Reply(200, {"data": [2]}))
        session = RetryingSession({"things": policy}, RetryPolicy(max_retries=0))
        url = server.base_url + "/page"
        with caplog.at_level(logging.WARNING, logger="restsync.http"):
            token = session.prefetch(Request("GET", url, headers={ENDPOINT_HEADER: "things"}))
            assert _until(lambda: server.hits["/page"] == 2), "the retry waited for the claim"
            response = _claim(session, url, token)
        assert response.status_code == 200 and response.json() == {"data": [2]}
        assert session.attempts_total == 2 and session.retries_total == 1
        assert any("resource things: HTTP 503" in m and "(attempt 1)" in m for m in caplog.messages)
        assert all(ENDPOINT_HEADER.lower() not in h for h in server.seen_headers)
        session.close()


def test_a_429_on_a_first_try_pauses_the_host_before_anyone_claims_it() -> None:
    with scripted_server() as server:
        server.script("/page", Reply(429, {}, {"Retry-After": "1"}), Reply(200, {"data": [3]}))
        server.script("/other", Reply(200, {"data": []}))
        session = RetryingSession(default_policy=RetryPolicy(max_retries=2, backoff_factor=0))
        url = server.base_url + "/page"
        token = session.prefetch(Request("GET", url))
        assert _until(lambda: server.hits["/page"] == 1)
        time.sleep(0.2)  # the page pool has taken in the 429 by now
        started = time.monotonic()
        session.get(server.base_url + "/other", timeout=5)
        assert time.monotonic() - started >= 0.6  # held by the page's Retry-After
        assert _claim(session, url, token).json() == {"data": [3]}
        assert server.hits["/page"] == 2
        session.close()


def test_a_first_try_redirected_is_followed_at_its_claim() -> None:
    with scripted_server() as server:
        server.script("/old", Reply(302, b"", {"Location": "/new"}))
        server.script("/new", Reply(200, {"data": [4]}))
        session = RetryingSession()
        url = server.base_url + "/old"
        token = session.prefetch(Request("GET", url))
        response = _claim(session, url, token)
        assert response.json() == {"data": [4]}
        assert [r.status_code for r in response.history] == [302]
        assert server.hits["/old"] == 1 and server.hits["/new"] == 1
        session.close()


def test_a_first_try_whose_connection_is_cut_is_tried_again() -> None:
    with scripted_server() as server:
        server.script("/page", Reply(DROP), Reply(200, {"data": [5]}))
        session = RetryingSession(default_policy=RetryPolicy(max_retries=1, backoff_factor=0))
        url = server.base_url + "/page"
        token = session.prefetch(Request("GET", url))
        assert _claim(session, url, token).json() == {"data": [5]}
        assert server.hits["/page"] == 2 and session.retries_total == 1
        session.close()


def test_a_first_try_aiohttp_cannot_parse_is_sent_again_by_requests() -> None:
    with raw_server() as server, RetryingSession() as session:
        url = _url(server, "/lenient")
        token = session.prefetch(Request("GET", url))
        response = _claim(session, url, token)
        assert response.status_code == 200 and response.text == "lenient"
    assert server.request_lines.count("GET /lenient HTTP/1.1") == 2  # the loop's, requests'


def test_first_tries_hold_in_flight_slots_and_the_rest_wait_in_the_page_pool() -> None:
    slow = EmulatorOptions(scale=3, faults=Faults(latency_ms=150))
    with run_emulator("commerce", slow) as emu:
        session = RetryingSession(pool_size=2)
        session.auth = requests.auth.HTTPBasicAuth(
            emu.credentials["username"], emu.credentials["password"]
        )
        url = emu.base_url + "/customers"
        pages = [{"limit": PAGE, "offset": PAGE * n} for n in range(8)]
        tokens = [session.prefetch(Request("GET", url, params=p)) for p in pages]
        ids = [
            row["idcustomer"]
            for params, token in zip(pages, tokens, strict=True)
            for row in _claim(session, url, token, params=params).json()["data"]
        ]
        session.close()
        assert emu.max_in_flight == 2  # the pool size bounds the loop's tries too
        truth = [r.record["idcustomer"] for r in emu.truth("customers")]
        assert ids == truth[: 8 * PAGE]
        assert session._in_flight.acquire(blocking=False)  # every slot was given back
        assert session._in_flight.acquire(blocking=False)
        assert session.budget_for(url)._in_flight == 0  # and every grant


def test_a_first_try_takes_a_grant_of_the_hosts_budget() -> None:
    with scripted_server() as server:
        server.script("/page", Reply(200, {"data": []}))
        session = RetryingSession(rate_limit=RateLimit(rate=5.0, burst=1), pool_size=8)
        url = server.base_url + "/page"
        started = time.monotonic()
        tokens = [session.prefetch(Request("GET", url, params={"n": n})) for n in range(4)]
        for n, token in enumerate(tokens):
            _claim(session, url, token, params={"n": n})
        # a burst of 1 at 5/s: the 4th request goes 0.6 s after the first, at the earliest
        assert time.monotonic() - started >= 0.55
        assert server.hits["/page"] == 4
        session.close()


def test_close_takes_first_tries_off_the_wire_and_gives_their_slots_back() -> None:
    with silent_server() as url:  # accepts, never answers
        session = RetryingSession(pool_size=2, timeout=30)
        try:
            tokens = [session.prefetch(Request("GET", url)) for _ in range(2)]
            assert session._prefetch_pool is None  # both on the loop, both slots taken
            slots = session._in_flight
            assert not slots.acquire(blocking=False)
            waiter = threading.Thread(target=session.first_done, args=(tokens,), daemon=True)
            waiter.start()
            time.sleep(0.2)
            session.close()  # as close_sessions does when a sync fails or is interrupted
            waiter.join(5)
            assert not waiter.is_alive(), "first_done waited for a try taken off the wire"
            assert _until(lambda: slots._value == 2), "a slot was not given back"  # type: ignore[attr-defined]
            assert session.budget_for(url)._in_flight == 0
            assert not session._running and not session._prefetched
        finally:
            session.close()


def test_a_first_try_discarded_is_not_retried_and_leaves_nothing_behind() -> None:
    policy = RetryPolicy(statuses=frozenset({503}), max_retries=3, backoff_factor=0.05)
    slow = EmulatorOptions(scale=1, faults=Faults(latency_ms=300))
    with scripted_server() as server, run_emulator("commerce", slow) as emu:
        server.script("/page", Reply(503, {"error": "busy"}))
        session = RetryingSession(default_policy=policy)
        token = session.prefetch(Request("GET", server.base_url + "/page"))
        session.discard(token)  # the collection ended before the answer came
        assert _until(lambda: not session._running)
        time.sleep(0.5)  # backoff 0.05, 0.1, 0.2: every retry would have come by now
        assert server.hits["/page"] == 1
        assert not session._dropped and not session._prefetched
        ahead = session.prefetch(Request("GET", emu.base_url + "/customers"))
        session.discard(ahead)  # a slow answer, discarded while on the wire: the same
        assert _until(lambda: not session._running and not session._dropped)
        session.close()


def test_a_first_try_that_cannot_start_leaves_no_slot_taken_and_fails_at_its_claim() -> None:
    session = RetryingSession(pool_size=1)
    session.trust_env = False  # (else REQUESTS_CA_BUNDLE, if set, overrides it)
    session.verify = "/no/such/ca-bundle.pem"  # requests refuses it before sending anything
    url = "https://127.0.0.1:9/page"
    token = session.prefetch(Request("GET", url))
    with pytest.raises(OSError, match="CA certificate bundle"):
        _claim(session, url, token)
    assert session._in_flight.acquire(blocking=False)  # its slot was given back
    assert session.budget_for(url)._in_flight == 0
    session.close()


def test_a_429_pauses_the_host_even_while_every_page_pool_thread_is_busy() -> None:
    with silent_server() as quiet, scripted_server() as server:  # quiet never answers
        server.script("/limited", Reply(429, {}, {"Retry-After": "30"}))
        session = RetryingSession(pool_size=2, timeout=30)
        try:
            limited = server.base_url + "/limited"
            session.prefetch(Request("GET", quiet))  # slot 1, on the loop
            session.prefetch(Request("GET", limited))  # slot 2, on the loop: a 429 soon
            session.prefetch(Request("GET", quiet))  # no slot: a page-pool thread waits...
            session.prefetch(Request("GET", quiet))  # ...and the other one too
            budget = session.budget_for(limited)
            assert _until(lambda: budget._paused_until > time.monotonic() + 20, 3), (
                "the 429's Retry-After waited for a page-pool thread"
            )
        finally:
            session.close()


def test_an_unparsable_first_answer_is_sent_again_under_its_endpoints_policy() -> None:
    with raw_server() as server:
        retry_none = RetryPolicy(statuses=frozenset(), max_retries=0)
        session = RetryingSession({"odd": retry_none}, RetryPolicy(max_retries=5))
        url = _url(server, "/lenient")
        token = session.prefetch(Request("GET", url, headers={ENDPOINT_HEADER: "odd"}))
        assert _claim(session, url, token).text == "lenient"
        assert session.attempts_total == 1  # one attempt, read twice (as the loop's adapter)
        assert all(ENDPOINT_HEADER.lower() not in h for h in server.request_headers)
        session.close()


def test_a_claim_retries_its_page_itself_when_no_page_pool_thread_is_free() -> None:
    answers = iter([b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", _json(b'{"data": [6]}')])

    def busy_then_ok(path: str, body: bytes) -> bytes:
        time.sleep(0.3)  # time to fill the page pool's threads before the 503 comes
        return next(answers)

    policy = RetryPolicy(statuses=frozenset({503}), max_retries=2, backoff_factor=0)
    once = RetryPolicy(statuses=frozenset(), max_retries=0)
    with silent_server() as quiet, raw_server(busy_then_ok) as server:  # quiet never answers
        session = RetryingSession({"quiet": once}, policy, pool_size=3, timeout=1.0)
        try:
            busy = _url(server, "/busy")
            for _ in range(2):  # slots 1 and 2, each held for its 1 s timeout
                session.prefetch(Request("GET", quiet, headers={ENDPOINT_HEADER: "quiet"}))
            token = session.prefetch(Request("GET", busy))  # slot 3: a 503, then free
            for _ in range(3):  # no slot free: the page pool's 3 threads wait for one
                session.prefetch(Request("GET", quiet, headers={ENDPOINT_HEADER: "quiet"}))
            first = session._prefetched[token].future.result(timeout=5)
            assert first.retried is not None and not first.retried.done()  # queued
            response = _claim(session, busy, token)
            assert first.retried.cancelled()  # the claiming thread sent the retry itself
            assert response.json() == {"data": [6]}
        finally:
            session.close()
    assert server.request_lines.count("GET /busy HTTP/1.1") == 2


def test_a_discard_cancels_a_retry_still_queued_for_the_page_pool() -> None:
    def slow_503(path: str, body: bytes) -> bytes:
        time.sleep(0.3)  # time to fill the page pool's threads before it comes
        return b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"

    policy = RetryPolicy(statuses=frozenset({503}), max_retries=2, backoff_factor=0)
    once = RetryPolicy(statuses=frozenset(), max_retries=0)
    with silent_server() as quiet, raw_server(slow_503) as server:  # quiet never answers
        session = RetryingSession({"quiet": once}, policy, pool_size=2, timeout=1.0)
        try:
            session.prefetch(Request("GET", quiet, headers={ENDPOINT_HEADER: "quiet"}))
            token = session.prefetch(Request("GET", _url(server, "/busy")))
            for _ in range(2):  # the page pool's 2 threads wait for a slot
                session.prefetch(Request("GET", quiet, headers={ENDPOINT_HEADER: "quiet"}))
            first = session._prefetched[token].future.result(timeout=5)
            assert first.retried is not None and not first.retried.done()  # queued
            session.discard(token)  # the collection ended: nobody will claim it
            assert first.retried.cancelled() and token not in session._running
        finally:
            session.close()
    assert server.request_lines.count("GET /busy HTTP/1.1") == 1
