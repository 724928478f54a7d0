"""restsync: sync REST APIs into a database from dlt REST API source configurations.

The curated public API; everything else lives in private-by-convention modules.
"""

from __future__ import annotations

from restsync.errors import (
    ApiError,
    ConfigError,
    ConfigSyntaxError,
    CredentialsError,
    RestsyncError,
    RetriesExhaustedError,
    SyncError,
    UnknownConnectorError,
)
from restsync.http.retry import RetryPolicy
from restsync.source import SourceOptions, build_source
from restsync.sync import SyncOptions, SyncResult, connector_source, sync, sync_connector

__all__ = [
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

__version__ = "0.1.0"
