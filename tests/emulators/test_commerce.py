"""commerce per /work/shared/specs/commerce.md, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restsync.emulators import Emulator, EmulatorOptions, Outcome, commerce, run_emulator
from restsync.emulators.commerce import (
    API_KEY,
    CUSTOMERS_PER_SCALE,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ORDERS_PER_SCALE,
    PRODUCTS_PER_SCALE,
    UNAUTHORIZED_BODY,
    latest_updated,
    touch,
)
from restsync.emulators.data import parse_sql_datetime
from tests.emulators.toy_api import Client

RESOURCES = ("customers", "products", "orders")
KEYS = {"customers": "idcustomer", "products": "idproduct", "orders": "idorder"}
COUNTS = {
    "customers": CUSTOMERS_PER_SCALE,
    "products": PRODUCTS_PER_SCALE,
    "orders": ORDERS_PER_SCALE,
}
TIMEOUT_S = 10
SCALE = 10
NESTED_SCALE_TOLERANCE = 0.3
OTHER_SEED = 7
MAX_ADDRESSES = 3
MAX_STOCK_LINES = 3
MAX_ORDER_LINES = 5
FIRST_PAGE_LIMIT = 50


@pytest.fixture(scope="module")
def shop_server() -> Iterator[Emulator]:
    with run_emulator(commerce.API) as emu:
        yield emu


@pytest.fixture
def shop(shop_server: Emulator) -> Emulator:
    shop_server.reset()
    return shop_server


def read_all(
    client: Client, path: str, limit: int = DEFAULT_LIMIT, **params: Any
) -> tuple[list[dict[str, Any]], list[int]]:
    """Page with offset/limit as a connector does, stopping at a short page; also page sizes."""
    records: list[dict[str, Any]] = []
    sizes: list[int] = []
    while True:
        body = client.json(path, offset=len(records), limit=limit, **params)
        assert set(body) == {"data"}  # no total, no links
        records.extend(body["data"])
        sizes.append(len(body["data"]))
        if len(body["data"]) < limit:
            return records, sizes


def records_of(emu: Emulator, resource: str) -> list[dict[str, Any]]:
    return [served.record for served in emu.truth(resource)]


def test_every_resource_equals_truth(shop: Emulator) -> None:
    client = Client(shop)
    assert shop.base_url.endswith("/v1")
    for resource in RESOURCES:
        records, _ = read_all(client, f"/{resource}")
        assert len(records) == COUNTS[resource], resource
        assert records == records_of(shop, resource), resource
        keys = [r[KEYS[resource]] for r in records]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), resource
    assert shop.requests.count(status=200) == len(shop.requests)


def test_page_boundaries(shop: Emulator) -> None:
    client = Client(shop)
    assert read_all(client, "/customers")[1] == [10, 10, 10, 7]  # short last page
    assert read_all(client, "/products")[1] == [10, 10, 10, 0]  # exact multiple, then empty
    assert read_all(client, "/orders")[1] == [10, 10, 10, 10, 10, 1]
    assert read_all(client, "/orders", limit=FIRST_PAGE_LIMIT)[1] == [50, 1]
    for resource, count in COUNTS.items():
        assert client.json(f"/{resource}", offset=count) == {"data": []}
        assert client.json(f"/{resource}", offset=count + DEFAULT_LIMIT) == {"data": []}


def test_default_limit_and_offset(shop: Emulator) -> None:
    client = Client(shop)
    customers = records_of(shop, "customers")
    assert client.json("/customers")["data"] == customers[:DEFAULT_LIMIT]
    assert client.json("/customers", offset=3)["data"] == customers[3 : 3 + DEFAULT_LIMIT]
    assert client.json("/customers", offset=35, limit=5)["data"] == customers[35:]
    assert client.get("/customers", offset=-1).status_code == 400
    assert client.get("/customers", limit="ten").status_code == 400


def test_limit_is_capped_at_100() -> None:
    with run_emulator(commerce.API, EmulatorOptions(scale=SCALE)) as emu:
        client = Client(emu)
        body = client.json("/orders", limit=MAX_LIMIT * 5)
        assert len(body["data"]) == MAX_LIMIT
        records, sizes = read_all(client, "/orders", limit=MAX_LIMIT)
        assert sizes == [100, 100, 100, 100, 100, 10]
        assert records == records_of(emu, "orders")


def test_record_shapes(shop: Emulator) -> None:
    customer_ids = {c["idcustomer"] for c in records_of(shop, "customers")}
    prices = {p["idproduct"]: p["price"] for p in records_of(shop, "products")}
    address_counts = set()
    address_ids: list[int] = []
    for customer in records_of(shop, "customers"):
        assert set(customer) == {"idcustomer", "name", "emailaddress", "telephone", "addresses"}
        assert "@" in customer["emailaddress"] and isinstance(customer["telephone"], str)
        addresses = customer["addresses"]
        address_counts.add(len(addresses))
        for address in addresses:
            assert set(address) == {
                "idcustomer_address", "address", "zipcode", "city", "country",
                "defaultinvoice", "defaultdelivery",
            }  # fmt: skip
            address_ids.append(address["idcustomer_address"])
        if addresses:
            assert sum(a["defaultinvoice"] for a in addresses) == 1
            assert sum(a["defaultdelivery"] for a in addresses) == 1
    assert address_counts == set(range(MAX_ADDRESSES + 1))
    assert len(set(address_ids)) == len(address_ids)
    for product in records_of(shop, "products"):
        assert set(product) == {"idproduct", "name", "price", "stock", "updated"}
        assert isinstance(product["price"], float)
        assert 1 <= len(product["stock"]) <= MAX_STOCK_LINES
        for line in product["stock"]:
            assert line["freestock"] == line["stock"] - line["reserved"] >= 0
        parse_sql_datetime(product["updated"])
    for order in records_of(shop, "orders"):
        assert set(order) == {"idorder", "idcustomer", "status", "created", "updated", "products"}
        assert order["idcustomer"] in customer_ids
        assert parse_sql_datetime(order["created"]) <= parse_sql_datetime(order["updated"])
        assert 1 <= len(order["products"]) <= MAX_ORDER_LINES
        for line in order["products"]:
            assert set(line) == {"idproduct", "amount", "price"}
            assert line["price"] == prices[line["idproduct"]] and line["amount"] >= 1


def test_unauthorized_body(shop: Emulator) -> None:
    url = shop.base_url + "/customers"
    for auth in [("wrong-key", ""), (API_KEY, "not-empty"), None]:
        response = requests.get(url, auth=auth, timeout=TIMEOUT_S)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED_BODY
    assert shop.requests.count(outcome=Outcome.SERVED) == 0


def test_basic_auth_with_an_empty_password(shop: Emulator) -> None:
    assert shop.credentials == {"username": API_KEY, "password": ""}
    response = requests.get(shop.base_url + "/products", auth=(API_KEY, ""), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert len(response.json()["data"]) == DEFAULT_LIMIT


def test_updated_after_is_strictly_later(shop: Emulator) -> None:
    client = Client(shop)
    for resource in ("products", "orders"):
        every = records_of(shop, resource)
        times = sorted({r["updated"] for r in every})
        middle = times[len(times) // 2]
        records, _ = read_all(client, f"/{resource}", updated_after=middle)
        assert records == [r for r in every if r["updated"] > middle], resource
        assert all(r["updated"] != middle for r in records)
        assert client.json(f"/{resource}", updated_after=latest_updated(shop.store, resource)) == {
            "data": []
        }
    assert client.get("/products", updated_after="2024-01-01T00:00:00Z").status_code == 400
    customers = client.json("/customers", updated_after="2099-01-01 00:00:00")  # no filter there
    assert len(customers["data"]) == DEFAULT_LIMIT


def test_two_products_share_an_updated_time(shop: Emulator) -> None:
    first, second = records_of(shop, "products")[:2]
    assert first["updated"] == second["updated"]
    served = Client(shop).json("/products", updated_after=first["updated"], limit=MAX_LIMIT)
    ids = {r["idproduct"] for r in served["data"]}
    assert first["idproduct"] not in ids and second["idproduct"] not in ids


def test_a_changed_product_appears_after_the_previous_max(shop: Emulator) -> None:
    client = Client(shop)
    cursor = latest_updated(shop.store, "products")
    product = records_of(shop, "products")[3]
    changed_at = "2030-01-02 03:04:05"
    changes = {"name": "Renamed Mug", "updated": changed_at}
    assert shop.store.update("products", {"idproduct": product["idproduct"]}, changes) == 1
    served = client.json("/products", updated_after=cursor)["data"]
    assert served == [{**product, **changes}]
    assert latest_updated(shop.store, "products") == changed_at


def test_touch_and_add_between_syncs(shop: Emulator) -> None:
    client = Client(shop)
    cursor = latest_updated(shop.store, "orders")
    order = records_of(shop, "orders")[-1]
    touched = touch(shop.store, "orders", order["idorder"], {"status": "cancelled"})
    assert touched > cursor
    new_order = {**records_of(shop, "orders")[0], "idorder": order["idorder"] + 1}
    new_order["updated"] = touched
    shop.store.add("orders", new_order)
    served = client.json("/orders", updated_after=cursor)["data"]
    assert [r["idorder"] for r in served] == [order["idorder"], order["idorder"] + 1]
    assert served[0]["status"] == "cancelled" and served[0]["updated"] == touched
    assert client.json("/orders", updated_after=touched) == {"data": []}
    with pytest.raises(KeyError):
        touch(shop.store, "orders", -1)


def test_deterministic() -> None:
    build = commerce.API.build_store
    first, again, other = build(0, 1), build(0, 1), build(OTHER_SEED, 1)
    for resource in RESOURCES:
        assert first.truth(resource) == again.truth(resource)
        assert first.truth(resource) != other.truth(resource)
    with run_emulator(commerce.API) as one, run_emulator(commerce.API) as two:
        clients = Client(one), Client(two)
        for resource in RESOURCES:
            bodies = [client.get(f"/{resource}").content for client in clients]
            assert bodies[0] == bodies[1], resource


def test_scale_multiplies_the_data() -> None:
    small, large = commerce.API.build_store(0, 1), commerce.API.build_store(0, SCALE)
    for resource in RESOURCES:
        assert large.count(resource) == SCALE * small.count(resource), resource
    nested = {"customers": "addresses", "products": "stock", "orders": "products"}
    for resource, field in nested.items():
        lines_small = sum(len(s.record[field]) for s in small.truth(resource))
        lines_large = sum(len(s.record[field]) for s in large.truth(resource))
        assert lines_large == pytest.approx(SCALE * lines_small, rel=NESTED_SCALE_TOLERANCE)
    customer_ids = {s.record["idcustomer"] for s in large.truth("customers")}
    assert {s.record["idcustomer"] for s in large.truth("orders")} <= customer_ids
