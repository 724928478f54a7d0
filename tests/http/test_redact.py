"""Secrets are masked however a URL carries them: as written, or percent-encoded."""

from __future__ import annotations

import pytest
from requests import Request

from restsync.http.redact import MASK, redact

SECRET = "123456:ABC-DEF/1234 gh+Ikl"


@pytest.mark.parametrize(
    "url",
    [
        Request("GET", f"http://api.test/v1/bot{SECRET}/x").prepare().url,  # path
        Request("GET", "http://api.test/v1/x", params={"k": SECRET}).prepare().url,  # query
        f"http://api.test/v1/x?k={SECRET}",
    ],
)
def test_a_secret_is_masked_as_requests_sends_it(url: str | None) -> None:
    text = redact(f"404 Not Found for {url}", [SECRET])
    assert MASK in text
    for piece in ("123456", "1234", "Ikl"):
        assert piece not in text, text


def test_short_values_and_ordinary_words_stay() -> None:
    assert redact("resource 'ab' failed", ["ab"]) == "resource 'ab' failed"
    assert redact("all good here", [SECRET]) == "all good here"


def test_punctuation_after_a_url_is_the_sentences() -> None:
    text = "failed for http://a.test/b?page=1&token=abc, then http://a.test/c?limit=100: done."
    assert redact(text) == (
        "failed for http://a.test/b?page=1&token=***, then http://a.test/c?limit=100: done."
    )


def test_a_short_secret_is_masked_too() -> None:
    assert redact("token abc123 rejected", ["abc123"]) == f"token {MASK} rejected"
    assert redact("key x7q in use", ["x7q"]) == f"key {MASK} in use"  # the shortest masked


def test_a_password_in_a_urls_userinfo_is_masked_even_when_not_a_known_secret() -> None:
    text = redact("could not connect to postgresql://app:hunter2@db.internal:5432/x")
    assert "hunter2" not in text and "db.internal:5432/x" in text
