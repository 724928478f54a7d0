"""Keep secrets out of anything printed: URLs' secret query params and known secret values."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dlt.sources.helpers.rest_client.redaction import sanitize_url

__all__ = ["MASK", "redact"]

MASK = "***"
MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary words
URL = re.compile(r"https?://[^\s'\"<>]+")
USERINFO = re.compile(r"(https?://)[^/@\s]+@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secret query params and userinfo in URLs, then every known secret value."""
    text = URL.sub(lambda m: sanitize_url(m.group(0)), text)
    text = USERINFO.sub(rf"\1{MASK}@", text)
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]:
        text = text.replace(secret, MASK)
    return text
