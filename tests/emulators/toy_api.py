"""A tiny test-only API covering every envelope and paging style, and a client for emulators."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from restsync.emulators import (
    ApiDefinition,
    ApiSpec,
    BareList,
    BasicAuth,
    BearerAuth,
    Emulator,
    EndpointSpec,
    Filter,
    HalEnvelope,
    KeyEnvelope,
    OffsetPaging,
    Order,
    PageNumberPaging,
    ParentLink,
    Setting,
    SingleObject,
    Store,
    TimeCursorPaging,
)
from restsync.emulators.data import parse_sql_datetime, sql_datetime

TIMEOUT_S = 10
TOY_USER = "toy-user"
TOY_PASSWORD = "toy-password"
TOY_TOKEN = "toy-token-123"
TOY_UNAUTHORIZED = {"error": "unauthorized", "detail": "bad credentials"}
BEARER_FORBIDDEN = {"error": {"code": "forbidden", "message": "Not authorized"}}
ITEMS_OFFSET_DEFAULT = 5
ITEMS_OFFSET_MAX = 10
ITEMS_PER_SCALE = 12
PAGES_PER_SCALE = 45
EVENTS_PER_SCALE = 47
START = datetime(2024, 1, 1, tzinfo=UTC)
EVENT_START_MS = 1_700_000_000_000


def toy_endpoints() -> tuple[EndpointSpec, ...]:
    """One endpoint per envelope and paging style, plus a child and a two-ancestor grandchild."""
    return (
        EndpointSpec(
            "items",
            "/items",
            KeyEnvelope("data"),
            OffsetPaging(default_limit=ITEMS_OFFSET_DEFAULT, max_limit=ITEMS_OFFSET_MAX),
            filters=(Filter("updated_after", "updated", "gt", parse_sql_datetime),),
            order=Order("id"),
            primary_key=("id",),
        ),
        EndpointSpec(
            "children",
            "/items/{item_id}/children",
            BareList(),
            parent=ParentLink("items", "id", "item_id"),
        ),
        EndpointSpec(
            "grandchildren",
            "/items/{item_id}/children/{child_id}/grand",
            parent=ParentLink("children", "id", "child_id"),
        ),
        EndpointSpec("pages", "/{space}/pages", HalEnvelope("things"), PageNumberPaging()),
        EndpointSpec(
            "events",
            "/events",
            KeyEnvelope("events"),
            TimeCursorPaging("createdAt", has_next=True),
            filters=(Filter("since", "createdAt", "ge", int),),
        ),
        EndpointSpec("me", "/me", SingleObject("user")),
    )


TOY_SPEC = ApiSpec(
    name="toy",
    prefix="/api",
    auth=BasicAuth(TOY_USER, TOY_PASSWORD),
    unauthorized_status=401,
    unauthorized_body=TOY_UNAUTHORIZED,
    endpoints=toy_endpoints(),
    settings=(Setting("space", "main", "a name in every /pages URL"),),
)
BEARER_SPEC = ApiSpec(
    name="toy_bearer",
    prefix="",
    auth=BearerAuth(TOY_TOKEN),
    unauthorized_status=403,
    unauthorized_body=BEARER_FORBIDDEN,
    endpoints=toy_endpoints(),
    settings=(Setting("space", "main"),),
)


def make_items(count: int, start_id: int = 1) -> list[dict[str, Any]]:
    """`count` items with ascending ids, stored shuffled so the served order is the server's."""
    items = [
        {
            "id": start_id + i,
            "name": f"item {start_id + i}",
            "updated": sql_datetime(START + timedelta(hours=start_id + i)),
        }
        for i in range(count)
    ]
    random.Random(count).shuffle(items)
    return items


def make_events(count: int) -> list[dict[str, Any]]:
    """`count` events with unique createdAt times, stored oldest first (served newest first)."""
    return [{"id": f"ev{i}", "createdAt": EVENT_START_MS + 1000 * i} for i in range(count)]


def _toy_store(spec: ApiSpec, seed: int, scale: int) -> Store:
    rng = random.Random(seed)
    store = Store(spec)
    items = make_items(ITEMS_PER_SCALE * scale)
    store.put("items", items)
    for item in items:
        children = [{"id": f"c{item['id']}-{n}", "n": rng.random()} for n in range(item["id"] % 3)]
        store.put("children", children, (item["id"],))
        for child in children:
            store.put("grandchildren", [{"g": child["id"]}], (item["id"], child["id"]))
    store.put("pages", [{"id": i, "title": f"page {i}"} for i in range(PAGES_PER_SCALE * scale)])
    store.put("events", make_events(EVENTS_PER_SCALE * scale))
    store.put("me", [{"id": "u1", "name": f"user {rng.randint(1, 10**6)}"}])
    return store


TOY_API = ApiDefinition(TOY_SPEC, lambda seed, scale: _toy_store(TOY_SPEC, seed, scale), "toy")
BEARER_API = ApiDefinition(
    BEARER_SPEC, lambda seed, scale: _toy_store(BEARER_SPEC, seed, scale), "toy, bearer"
)


class Client:
    """A requests session authenticated for one emulator, with short helpers."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        auth = emu.api.spec.auth
        if isinstance(auth, BasicAuth):
            self.session.auth = (auth.username, auth.password)
        else:
            self.session.headers["Authorization"] = f"Bearer {auth.token}"

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET base_url + path."""
        return self.session.get(self.emu.base_url + path, params=params, timeout=TIMEOUT_S)

    def get_url(self, url: str, **params: Any) -> requests.Response:
        """GET a full URL."""
        return self.session.get(url, params=params, timeout=TIMEOUT_S)

    def json(self, path: str, **params: Any) -> Any:
        """GET and decode, asserting 200."""
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()
