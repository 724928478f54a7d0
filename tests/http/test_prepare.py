"""A request the session prepares from its template equals the one requests prepares in full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth
from hypothesis import example, given, settings
from hypothesis import strategies as st
from requests import PreparedRequest, Request
from requests.auth import HTTPBasicAuth

from restsync.http.session import RetryingSession


def _flag_if_asked(request: PreparedRequest) -> PreparedRequest:
    """An auth whose header depends on the URL: a template must not carry it to another."""
    if "flag" in (request.url or ""):
        request.headers["X-Flag"] = "1"
    return request


AUTHS: list[Any] = [
    None,
    ("user", "pässword"),
    HTTPBasicAuth("user", "pw"),
    BearerTokenAuth(token="tok"),
    APIKeyAuth(name="api_key", api_key="k&y", location="query"),
    APIKeyAuth(name="X-Key", api_key="key", location="header"),
    _flag_if_asked,
]
URLS = [
    "http://127.0.0.1:8000/v6/deployments",
    "https://API.Example.com/v1/reports/",
    "HTTP://example.com",
    "http://user:pw@example.com/x",
    "http://bücher.example/ü",
    "http://example.com/a b/%7Ex",
    "http://example.com/p?x=1&y",
    "http://example.com/p?",
    "http://example.com/p#part",
    "http://example.com/bad%zz",
    " http://example.com/leading-space",
    "mailto:someone@example.com",
    "example.com/no-scheme",
    "http:///no-host",
    "http://*.example.com/",
    "http://example.com/flag",
]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=4)
VALUE = st.one_of(st.none(), st.integers(-5, 10**13), TEXT, st.binary(max_size=3), st.booleans())
PARAMS = st.one_of(
    st.dictionaries(st.text(min_size=1, max_size=4), st.one_of(VALUE, st.lists(VALUE, max_size=3))),
    st.lists(st.tuples(st.text(min_size=1, max_size=3), VALUE), max_size=3),  # pairs: in full
)
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=4)
HEADERS = st.dictionaries(
    st.sampled_from(["X-A", "x-a", "Accept", "X-Restsync-Endpoint"]), HEADER_VALUE
)
REQUEST = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "get", "POST", "HEAD", "DELETE"]),
        "url": st.one_of(st.sampled_from(URLS), st.builds(lambda p: URLS[0] + "/" + p, TEXT)),
        "params": PARAMS,
        "headers": HEADERS,
        "auth": st.sampled_from(AUTHS),
        "hooks": st.sampled_from([None, {"response": [lambda r, *a, **k: r]}]),
    },
    optional={
        # empty ones that requests reads as no body, and empty ones it sends as a stream
        "data": st.sampled_from([b"x", {"a": "1"}, "", b"", [], {}, set(), bytearray()]),
        "json": st.just({"a": 1}),
    },
)
NETRC = "machine example.com login netrc-user password netrc-pw\n"


@pytest.fixture(scope="module", autouse=True)
def _netrc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A .netrc for example.com: requests reads it for a request without an auth."""
    path = tmp_path_factory.mktemp("netrc") / "netrc"
    path.write_text(NETRC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NETRC", str(path))
        yield


def _seen(prepared: PreparedRequest) -> tuple[Any, ...]:
    """Everything of a prepared request that sending it reads."""
    cookies = sorted((c.name, c.value, c.domain, c.path) for c in prepared._cookies or [])  # type: ignore[attr-defined]
    hooks = {event: list(handlers) for event, handlers in prepared.hooks.items()}
    headers = list(prepared.headers.items())
    position = prepared._body_position  # type: ignore[attr-defined]
    return (prepared.method, prepared.url, headers, prepared.body, position, hooks, cookies)


def _outcome(prepare: Any, request: Request) -> tuple[Any, ...]:
    try:
        return ("ok", *_seen(prepare(request)))
    except Exception as exc:  # the same error, by type and message
        return ("raised", type(exc), str(exc))


@settings(max_examples=500, deadline=None)
@given(
    requests_=st.lists(REQUEST, min_size=1, max_size=4),
    session_headers=st.sampled_from([{}, {"X-Session": "s"}, {"Accept": None}]),
    later_headers=st.sampled_from([{}, {"X-Session": "changed"}]),
    session_params=st.sampled_from([{}, {}, {"sp": "1"}, {"limit": None}]),
    session_auth=st.sampled_from([None, ("s", "pw")]),
    trust_env=st.booleans(),
    cookie=st.sampled_from([False, False, False, True]),
)
@example(  # a URL requests quotes its own way (the bad escape), with a query that is quoted
    requests_=[
        {
            "method": "GET",
            "url": "http://example.com/bad%zz",
            "params": {"q": "ü"},
            "headers": {},
            "auth": AUTHS[3],
            "hooks": None,
        }
    ],
    session_headers={},
    later_headers={},
    session_params={},
    session_auth=None,
    trust_env=False,
    cookie=False,
)
def test_a_prepared_request_equals_requests_own(
    requests_: list[dict[str, Any]],
    session_headers: dict[str, Any],
    later_headers: dict[str, Any],
    session_params: dict[str, Any],
    session_auth: Any,
    trust_env: bool,
    cookie: bool,
) -> None:
    session = RetryingSession()
    session.headers.update(session_headers)
    session.params = dict(session_params)
    session.auth = session_auth
    session.trust_env = trust_env
    if cookie:
        session.cookies.set("sid", "1", domain="example.com")
    for n, fields in enumerate(requests_ + requests_):  # each twice: from a template, if any
        if n == len(requests_):
            session.headers.update(later_headers)  # a template must notice
        ours = _outcome(session.prepare_request, Request(**fields))
        theirs = _outcome(lambda r: requests.Session.prepare_request(session, r), Request(**fields))
        assert ours == theirs


def test_a_page_after_the_first_is_not_prepared_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    session = RetryingSession()
    full: list[str] = []
    original = requests.Session.prepare_request

    def counted(self: requests.Session, request: Request) -> PreparedRequest:
        full.append(str(request.url))
        return original(self, request)

    monkeypatch.setattr(requests.Session, "prepare_request", counted)
    auth = BearerTokenAuth(token="tok")
    url = "http://127.0.0.1:8000/v6/deployments"
    pages = [
        Request("GET", url, {"X-Restsync-Endpoint": "d"}, params={"until": n}, auth=auth)
        for n in range(5)
    ]
    prepared = [session.prepare_request(page) for page in pages]
    assert len(full) == 1  # the template, then copies
    assert [p.url for p in prepared] == [f"{url}?until={n}" for n in range(5)]
    assert all(p.headers["Authorization"] == "Bearer tok" for p in prepared)
    session.cookies.set("sid", "1")  # from now on requests merges cookies: in full again
    session.prepare_request(pages[0])
    assert len(full) == 2


class _Unreadable:
    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("a param that cannot be read")


def _refusing(request: PreparedRequest) -> PreparedRequest:
    raise RuntimeError("an auth that fails")


@pytest.mark.parametrize(
    ("fields", "session_hooks"),
    [  # two things wrong at once: the error requests meets first is the one raised
        ({"headers": {"X-A": "a\nb"}, "params": {"q": _Unreadable()}}, None),
        ({"auth": _refusing}, {"response": [lambda r, *a, **k: r], "unknown-event": []}),
    ],
)
def test_of_two_errors_the_one_requests_raises_is_raised(
    fields: dict[str, Any], session_hooks: dict[str, Any] | None
) -> None:
    session = RetryingSession()
    if session_hooks is not None:
        session.hooks = session_hooks
    request = {"method": "GET", "url": URLS[0], "auth": AUTHS[3], **fields}
    expected = _outcome(lambda r: requests.Session.prepare_request(session, r), Request(**request))
    assert expected[0] == "raised" and expected[1] is RuntimeError
    for _ in range(2):
        assert _outcome(session.prepare_request, Request(**request)) == expected


def test_each_request_has_a_cookie_jar_of_its_own() -> None:
    session = RetryingSession()
    page = {"method": "GET", "url": URLS[0], "auth": AUTHS[3]}
    first, second = (session.prepare_request(Request(**page)) for _ in range(2))
    first._cookies.get_policy().set_blocked_domains(["example.com"])  # type: ignore[attr-defined]
    third = session.prepare_request(Request(**page))
    assert third._cookies.get_policy().blocked_domains() == ()  # type: ignore[attr-defined]
    assert second._cookies is not third._cookies  # type: ignore[attr-defined]
