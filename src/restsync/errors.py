"""The errors restsync raises, grouped by what the caller should do about them.

```
RestsyncError                      root: catch this to catch everything restsync raises
├── ConfigError                    fix the configuration (a key, a path, a placeholder)
│   ├── ConfigSyntaxError          the file cannot be read as a config; names the line
│   └── UnknownConnectorError      the named built-in connector does not exist
├── ApiError                       the API answered an error that retrying did not cure
│   ├── CredentialsError           fix the credentials (the API answered 401 or 403)
│   ├── RetriesExhaustedError      a retriable status persisted past the retry policy
│   └── NotJsonError               the answer was not JSON (an HTML login page, a wrong path)
└── SyncError                      the sync failed; wraps the step and resource that failed
```

Every message names the resource (where there is one), the URL without secrets and what to do.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ApiError",
    "ConfigError",
    "ConfigSyntaxError",
    "CredentialsError",
    "NotJsonError",
    "RestsyncError",
    "RetriesExhaustedError",
    "SyncError",
    "UnknownConnectorError",
]


class RestsyncError(Exception):
    """Root of every error restsync raises, so callers can catch one type."""


class ConfigError(RestsyncError):
    """The configuration cannot be run as written; the message says which key and how to fix it."""

    def __init__(self, message: str, *, resource: str | None = None, key: str | None = None):
        self.resource = resource
        self.key = key
        where = []
        if resource:
            where.append(f"resource '{resource}'")
        if key:
            where.append(f"key '{key}'")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)


class ConfigSyntaxError(ConfigError):
    """The file cannot be read as a config (syntax error, not a literal); names the line."""

    def __init__(self, message: str, *, line: int | None, path: Path | None = None):
        self.problem = message
        self.line = line
        self.path = path
        where = f"{path or '<config>'}" + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}")


class UnknownConnectorError(ConfigError):
    """A built-in connector name that restsync does not have."""


class ApiError(RestsyncError):
    """The API answered with an error status that the retry policy did not (or could not) cure."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        self.status = status
        self.url = url
        super().__init__(message)


class CredentialsError(ApiError):
    """The API rejected the credentials (401 or 403): fix them, retrying will not help."""


class RetriesExhaustedError(ApiError):
    """A retriable answer (429, 5xx, dropped connection) persisted through every allowed attempt."""

    def __init__(self, message: str, *, attempts: int, status: int | None, url: str | None):
        self.attempts = attempts
        super().__init__(message, status=status, url=url)


class NotJsonError(ApiError, ValueError):
    """An answer that is not JSON; a ValueError too, as requests' own JSON error is."""


class SyncError(RestsyncError):
    """A pipeline step failed; names the step and resource and keeps the root cause."""

    def __init__(self, message: str, *, step: str | None = None, resource: str | None = None):
        self.step = step
        self.resource = resource
        super().__init__(message)
