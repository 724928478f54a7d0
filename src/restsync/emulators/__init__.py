"""Emulators: real HTTP servers on loopback that behave like the five APIs.

```python
from restsync.emulators import EmulatorOptions, Faults, run_emulator

with run_emulator("feature_flags", EmulatorOptions(faults=Faults(fail_rate=0.2))) as emu:
    emu.base_url       # http://127.0.0.1:<port>/v1
    emu.credentials    # {"username": ..., "password": ...}
    emu.truth("tags")  # every record served, with the URL params that serve it
    emu.requests.count(resource="tags")
```

Modules: `spec` (the API described as data), `store` (its records), `paging` (pages and
envelopes), `faults` (named fault scenarios), `core` (the ASGI request pipeline and the order of its
stages), `server` (threads and ports), `registry` (the built-in APIs), `data` (value helpers for
generators), and one module per API.
"""

from __future__ import annotations

from restsync.emulators.faults import SCENARIOS, Faults, scenario
from restsync.emulators.log import LoggedRequest, Outcome, RequestLog
from restsync.emulators.registry import ApiDefinition, available, get_api
from restsync.emulators.server import Emulator, EmulatorOptions, run_emulator, serve
from restsync.emulators.spec import (
    ApiSpec,
    Auth,
    BareList,
    BasicAuth,
    BearerAuth,
    EndpointSpec,
    Envelope,
    Filter,
    HalEnvelope,
    KeyEnvelope,
    NoPaging,
    OffsetPaging,
    Order,
    PageNumberPaging,
    Paging,
    ParentLink,
    RateLimitHeaders,
    Setting,
    SingleObject,
    TimeCursorPaging,
)
from restsync.emulators.store import Served, Store

__all__ = [
    "SCENARIOS",
    "ApiDefinition",
    "ApiSpec",
    "Auth",
    "BareList",
    "BasicAuth",
    "BearerAuth",
    "Emulator",
    "EmulatorOptions",
    "EndpointSpec",
    "Envelope",
    "Faults",
    "Filter",
    "HalEnvelope",
    "KeyEnvelope",
    "LoggedRequest",
    "NoPaging",
    "OffsetPaging",
    "Order",
    "Outcome",
    "PageNumberPaging",
    "Paging",
    "ParentLink",
    "RateLimitHeaders",
    "RequestLog",
    "Served",
    "Setting",
    "SingleObject",
    "Store",
    "TimeCursorPaging",
    "available",
    "get_api",
    "run_emulator",
    "scenario",
    "serve",
]
