"""The curated public API: what `import restsync` offers is deliberate (httpx's habit)."""

from __future__ import annotations

import restsync
from restsync import errors

PUBLIC = [
    "ApiError",
    "ConfigError",
    "ConfigSyntaxError",
    "CredentialsError",
    "RestsyncError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "SourceOptions",
    "SyncError",
    "SyncOptions",
    "SyncResult",
    "UnknownConnectorError",
    "build_source",
    "connector_source",
    "sync",
    "sync_connector",
]


def test_the_public_names_are_exactly_these() -> None:
    assert restsync.__all__ == PUBLIC
    assert all(hasattr(restsync, name) for name in PUBLIC)


def test_every_error_is_a_restsync_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.RestsyncError), name
