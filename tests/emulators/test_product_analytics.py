"""product_analytics per /work/shared/specs/product_analytics.md, over real sockets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restsync.emulators import Emulator, EmulatorOptions, Outcome, run_emulator
from restsync.emulators import product_analytics as pa
from restsync.emulators.product_analytics import (
    DEFAULT_LIMIT,
    EVENT_COUNTS,
    FIRST_SEEN_FIELD,
    FIRST_SEEN_POSITION,
    MAX_LIMIT,
    PRODUCTS_PER_SCALE,
    PROPERTY_COUNTS,
    REPORT_COUNTS,
    UNAUTHORIZED_BODY,
)
from tests.emulators.toy_api import Client

CHILDREN = ("reports", "events", "properties")
RESOURCES = ("products", *CHILDREN)
NULLABLE = {
    "products": ("account_id", "km_key", "name", "timezone"),
    "reports": ("name", "product_id", "report_type"),
    "events": ("index", "name", "product_id", "property_indices", "visible"),
}
TIMEOUT_S = 10
SCALE = 10
OTHER_SEED = 3
MIN_FIRST_PRODUCT_PROPERTIES = 100

Crawl = dict[str, list[tuple[dict[str, str], dict[str, Any]]]]


@pytest.fixture(scope="module")
def pa_server() -> Iterator[Emulator]:
    with run_emulator(pa.API) as emu:
        yield emu


@pytest.fixture
def analytics(pa_server: Emulator) -> Emulator:
    pa_server.reset()
    return pa_server


def read_all(client: Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Offset-page with the default limit (sent as the seed does), stop at a short page."""
    limit = int(params.pop("limit", DEFAULT_LIMIT))
    records: list[dict[str, Any]] = []
    sizes: list[int] = []
    while True:
        body = client.json(path, offset=len(records), limit=limit, **params)
        assert set(body) == {"data"}
        records.extend(body["data"])
        sizes.append(len(body["data"]))
        if len(body["data"]) < limit:
            return records, sizes


def crawl(client: Client) -> Crawl:
    """Read everything as a connector does: products, then each child list per product id."""
    products, _ = read_all(client, "/v1/products")
    out: Crawl = {"products": [({}, p) for p in products]}
    for child in CHILDREN:
        out[child] = [
            ({"product_id": str(product["id"])}, record)
            for product in products
            for record in read_all(client, f"/v1/products/{product['id']}/{child}")[0]
        ]
    return out


def records_of(emu: Emulator, resource: str) -> list[dict[str, Any]]:
    return [served.record for served in emu.truth(resource)]


def product_ids(emu: Emulator) -> list[int]:
    return [p["id"] for p in records_of(emu, "products")]


def test_every_resource_equals_truth(analytics: Emulator) -> None:
    assert analytics.base_url.endswith("/v3")
    assert analytics.url("products") == analytics.host_url + "/v3/v1/products"
    crawled = crawl(Client(analytics))
    assert set(crawled) == set(RESOURCES) == set(analytics.api.spec.resources)
    for resource in RESOURCES:
        assert crawled[resource] == [tuple(s) for s in analytics.truth(resource)], resource
    assert analytics.requests.count(status=200) == len(analytics.requests)


def test_counts_and_unique_ids(analytics: Emulator) -> None:
    assert len(product_ids(analytics)) == PRODUCTS_PER_SCALE
    expected = {"reports": REPORT_COUNTS, "events": EVENT_COUNTS, "properties": PROPERTY_COUNTS}
    for child, counts in expected.items():
        per_product = [len(analytics.store.records(child, (p,))) for p in product_ids(analytics)]
        assert tuple(per_product) == counts, child
    for resource in RESOURCES:
        ids = [r["id"] for r in records_of(analytics, resource)]
        assert len(set(ids)) == len(ids) and ids == sorted(ids), resource
    for child in CHILDREN:
        for params, record in analytics.truth(child):
            assert record["product_id"] in (None, int(params["product_id"])), child


def test_page_boundaries(analytics: Emulator) -> None:
    client = Client(analytics)
    first, second, third, empty = product_ids(analytics)
    events = "/v1/products/{}/events"
    assert read_all(client, events.format(first))[1] == [50, 50, 50, 50, 30]
    assert read_all(client, events.format(second))[1] == [50, 50, 0]  # exact multiple
    assert read_all(client, events.format(third))[1] == [17]
    assert read_all(client, events.format(empty))[1] == [0]
    assert read_all(client, events.format(first), limit=MAX_LIMIT)[1] == [100, 100, 30]
    assert client.json(events.format(first))["data"] == records_of(analytics, "events")[:50]
    assert client.json(events.format(first), offset=230) == {"data": []}
    assert client.json(events.format(second), offset=100) == {"data": []}
    assert len(client.json(events.format(first), limit=MAX_LIMIT * 3)["data"]) == MAX_LIMIT
    assert client.json("/v1/products", offset=PRODUCTS_PER_SCALE) == {"data": []}


def test_a_field_first_appears_on_page_3(analytics: Emulator) -> None:
    client = Client(analytics)
    first = product_ids(analytics)[0]
    path = f"/v1/products/{first}/properties"
    records, sizes = read_all(client, path)
    assert len(records) > MIN_FIRST_PRODUCT_PROPERTIES and sizes == [50, 50, 30]
    pages = [client.json(path, offset=n * DEFAULT_LIMIT)["data"] for n in range(len(sizes))]
    assert not any(FIRST_SEEN_FIELD in r for r in pages[0] + pages[1])
    assert all(isinstance(r[FIRST_SEEN_FIELD], str) for r in pages[2])
    assert FIRST_SEEN_POSITION == 2 * DEFAULT_LIMIT
    others = [s for s in analytics.truth("properties") if s.params["product_id"] != str(first)]
    assert others and not any(FIRST_SEEN_FIELD in s.record for s in others)


def test_properties_vary_but_never_change_type(analytics: Emulator) -> None:
    properties = records_of(analytics, "properties")
    assert len({frozenset(r) for r in properties[:DEFAULT_LIMIT]}) > 1  # shapes vary on page 1
    types: dict[str, set[type]] = defaultdict(set)
    for record in properties:
        for name, value in record.items():
            if value is not None:
                types[name].add(type(value))
    assert all(len(kinds) == 1 for kinds in types.values()), dict(types)
    kinds = {kind for found in types.values() for kind in found}
    assert {str, int, float, bool, dict} <= kinds
    assert any(r.get("description", "") is None for r in properties)


def test_nullable_fields_have_nulls(analytics: Emulator) -> None:
    for resource, fields in NULLABLE.items():
        records = records_of(analytics, resource)
        for name in fields:
            values = [r[name] for r in records]
            assert None in values, (resource, name)
            assert any(v is not None for v in values), (resource, name)
        assert all(isinstance(r["id"], int) for r in records)
    first = records_of(analytics, "products")[0]
    assert all(value is not None for value in first.values())


def test_unauthorized_body(analytics: Emulator) -> None:
    url = analytics.url("products")
    for auth in [("wrong", "wrong"), (pa.USERNAME, ""), None]:
        response = requests.get(url, auth=auth, timeout=TIMEOUT_S)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED_BODY
    assert analytics.requests.count(outcome=Outcome.SERVED) == 0


def test_unknown_paths_and_products(analytics: Emulator) -> None:
    client = Client(analytics)
    assert client.get_url(analytics.host_url + "/v1/products").status_code == 404
    assert client.get("/products").status_code == 404  # the /v1 segment is required
    assert client.get("/v1/products/1/events").status_code == 404  # no such product


def test_deterministic() -> None:
    build = pa.API.build_store
    first, again, other = build(0, 1), build(0, 1), build(OTHER_SEED, 1)
    for resource in RESOURCES:
        assert first.truth(resource) == again.truth(resource)
        assert first.truth(resource) != other.truth(resource)


def test_scale_ten_over_http() -> None:
    small = pa.API.build_store(0, 1)
    with run_emulator(pa.API, EmulatorOptions(scale=SCALE)) as emu:
        for resource in RESOURCES:
            assert emu.store.count(resource) == SCALE * small.count(resource), resource
        client = Client(emu)
        assert len(read_all(client, "/v1/products")[0]) == SCALE * PRODUCTS_PER_SCALE
        ids = product_ids(emu)
        events = [r for pid in ids for r in read_all(client, f"/v1/products/{pid}/events")[0]]
        assert events == records_of(emu, "events")
        assert len({r["id"] for r in events}) == len(events)
