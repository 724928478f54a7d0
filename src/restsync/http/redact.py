"""Keep secrets out of anything printed: URLs' secret query params and known secret values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus

from dlt.sources.helpers.rest_client.redaction import sanitize_url
from requests.utils import requote_uri

__all__ = ["MASK", "redact"]

MASK = "***"
MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary words
URL = re.compile(r"https?://[^\s'\"<>]+")
TRAILING = ".,:;)]}!?"
USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)  # postgresql:// too


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secret query params and userinfo in URLs, then every known secret value."""
    known = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    forms = sorted({form for s in known for form in _written(s)}, key=len)[::-1]
    for secret in forms:  # first: a URL's sanitizing may re-quote a secret it cuts in two
        text = text.replace(secret, MASK)
    text = URL.sub(_sanitized, text)
    text = USERINFO.sub(rf"\1{MASK}@", text)
    for secret in forms:
        text = text.replace(secret, MASK)
    return text


def _sanitized(match: re.Match[str]) -> str:
    """A URL with secret query params masked; punctuation after it (`.`, `,`, `:`) is the
    sentence's, not the URL's, and stays as it was."""
    url = match.group(0)
    stripped = url.rstrip(TRAILING)
    return sanitize_url(stripped) + url[len(stripped) :]


def _written(secret: str) -> Iterator[str]:
    """A secret as it may appear: as is, and percent-encoded in a path or a query."""
    yield secret
    yield quote(secret, safe="")
    yield quote(secret)  # in a path: `/` kept
    yield requote_uri(secret)  # as requests quotes a URL it sends
    yield quote_plus(secret)
