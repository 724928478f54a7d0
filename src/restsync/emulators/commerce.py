"""commerce (seed 001): a shop's customers, products and orders, offset-paged, incremental by time.

Per /work/shared/specs/commerce.md: base `{host}/v1`, HTTP Basic with the API key as username and
an empty password, `{"data": [...]}` on every endpoint, `offset`/`limit` paging (limit 10 by
default, capped at 100, no total, `{"data": []}` past the end), records in ascending primary key,
`updated_after=YYYY-MM-DD HH:MM:SS` (strictly later) on products and orders, 401
`{"error": true, "error_code": 401, "error_message": "Unauthorized"}`.

Data at scale 1: 37 customers (pages of 10, 10, 10 and 7), 30 products (exactly 3 pages of 10,
then an empty one) and 51 orders (5 pages of 10 and a page of 1). Keys ascend with gaps of 1 to 3
and records are stored shuffled, so the served order is the server's. Customers have 0 to 3
addresses (a fixed cycle, starting with 1, 2, 0, 3); products have 1 to 3 warehouse stock lines;
orders have 1 to 5 product lines and reference existing customers and products, at the product's
price. `updated` values are second-resolution times in 2023-2024 (`created` <= `updated` on
orders); the second product (by key) shares the first's `updated` (one bulk edit), so a cursor
equal to that time leaves both out. `scale=N` gives exactly N times the customers, products and
orders (nested lines are drawn, so roughly N times). Tests change data between syncs with
`Store.update`/`Store.add`, or with `touch`, which edits a record the way the shop would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from restsync.emulators.data import (
    EPOCH_START,
    company_name,
    email,
    moment,
    parse_sql_datetime,
    person,
    sql_datetime,
)
from restsync.emulators.registry import ApiDefinition
from restsync.emulators.spec import (
    ApiSpec,
    BasicAuth,
    EndpointSpec,
    Filter,
    OffsetPaging,
    Order,
)
from restsync.emulators.store import Record, Store

__all__ = [
    "API",
    "API_KEY",
    "CUSTOMERS_PER_SCALE",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ORDERS_PER_SCALE",
    "PASSWORD",
    "PRODUCTS_PER_SCALE",
    "SPEC",
    "UNAUTHORIZED_BODY",
    "UPDATED_AFTER_PARAM",
    "build_store",
    "latest_updated",
    "touch",
]

PREFIX = "/v1"
API_KEY = "commerce-emulator-api-key"
PASSWORD = ""  # the API key is the username; the password is empty
UNAUTHORIZED_STATUS = 401
UNAUTHORIZED_BODY = {"error": True, "error_code": 401, "error_message": "Unauthorized"}
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
UPDATED_AFTER_PARAM = "updated_after"

CUSTOMERS_PER_SCALE = 37
PRODUCTS_PER_SCALE = 30
ORDERS_PER_SCALE = 51
CUSTOMER_ID_START = 1001
PRODUCT_ID_START = 501
ORDER_ID_START = 20001
ADDRESS_ID_START = 70001
ID_STEP = (1, 3)  # gaps between consecutive keys
COMPANY_EVERY = 2  # every other customer is a company, the rest are people
ADDRESS_COUNTS = (1, 2, 0, 3, 1, 1, 2)  # cycles by customer index
STOCK_LINES = (1, 3)
ORDER_LINES = (1, 5)
WAREHOUSE_IDS = (1, 2, 3, 7)
STOCK_RANGE = (0, 250)
PRICE_CENTS = (199, 49_999)
CENTS = 100
AMOUNT_RANGE = (1, 6)
ORDER_EDIT_DAYS = 30  # an order is updated up to this long after it is created
SECONDS_PER_DAY = 86_400
UNCHANGED_ORDER_RATE = 0.2  # orders never edited after creation: updated == created
TIED_PRODUCT_POSITION = 1  # this product (by key) shares the `updated` of the one before it
TOUCH_STEP = timedelta(seconds=1)
PHONE_DIGITS = 8
ZIP_NUMBER = (1000, 9999)
HOUSE_NUMBER = (1, 250)
ZIP_LETTERS = "ABCDEFGHJKLMNPRSTVWXZ"
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net")
STREETS = ("Main Street", "Station Road", "Church Lane", "Mill Road", "High Street", "Park Avenue")
CITIES = (
    ("Amsterdam", "NL"), ("Utrecht", "NL"), ("Antwerp", "BE"), ("Berlin", "DE"),
    ("Lyon", "FR"), ("Leeds", "GB"), ("Porto", "PT"), ("Graz", "AT"),
)  # fmt: skip
PRODUCT_ADJECTIVES = (
    "Classic", "Organic", "Compact", "Deluxe", "Travel", "Eco", "Smart", "Vintage",
)  # fmt: skip
PRODUCT_NOUNS = (
    "Mug", "Backpack", "Desk Lamp", "Notebook", "Water Bottle", "Headphones", "Tea Set",
    "Phone Case", "Yoga Mat", "Candle", "Umbrella", "Wallet",
)  # fmt: skip
ORDER_STATUSES = ("concept", "expected", "processing", "paused", "completed", "cancelled")

SPEC = ApiSpec(
    name="commerce",
    prefix=PREFIX,
    auth=BasicAuth(API_KEY, PASSWORD),
    unauthorized_status=UNAUTHORIZED_STATUS,
    unauthorized_body=UNAUTHORIZED_BODY,
    endpoints=(
        EndpointSpec(
            "customers",
            "/customers",
            paging=OffsetPaging(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
            order=Order("idcustomer"),
            primary_key=("idcustomer",),
        ),
        EndpointSpec(
            "products",
            "/products",
            paging=OffsetPaging(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
            filters=(Filter(UPDATED_AFTER_PARAM, "updated", "gt", parse_sql_datetime),),
            order=Order("idproduct"),
            primary_key=("idproduct",),
        ),
        EndpointSpec(
            "orders",
            "/orders",
            paging=OffsetPaging(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
            filters=(Filter(UPDATED_AFTER_PARAM, "updated", "gt", parse_sql_datetime),),
            order=Order("idorder"),
            primary_key=("idorder",),
        ),
    ),
)


def _ids(rng: random.Random, start: int, count: int) -> list[int]:
    ids, next_id = [], start
    for _ in range(count):
        ids.append(next_id)
        next_id += rng.randint(*ID_STEP)
    return ids


def _telephone(rng: random.Random) -> str:
    return "+31 6 " + "".join(str(rng.randrange(10)) for _ in range(PHONE_DIGITS))


def _addresses(rng: random.Random, count: int, next_id: int) -> list[Record]:
    invoice, delivery = rng.randrange(max(count, 1)), rng.randrange(max(count, 1))
    addresses = []
    for position in range(count):
        city, country = rng.choice(CITIES)
        letters = "".join(rng.choice(ZIP_LETTERS) for _ in range(2))
        addresses.append(
            {
                "idcustomer_address": next_id + position,
                "address": f"{rng.choice(STREETS)} {rng.randint(*HOUSE_NUMBER)}",
                "zipcode": f"{rng.randint(*ZIP_NUMBER)} {letters}",
                "city": city,
                "country": country,
                "defaultinvoice": position == invoice,
                "defaultdelivery": position == delivery,
            }
        )
    return addresses


def _customers(rng: random.Random, count: int) -> list[Record]:
    customers = []
    next_address_id = ADDRESS_ID_START
    for index, idcustomer in enumerate(_ids(rng, CUSTOMER_ID_START, count)):
        first, last = person(rng)
        is_company = index % COMPANY_EVERY == 0
        name = company_name(rng, index + 1) if is_company else f"{first} {last}"
        addresses = _addresses(rng, ADDRESS_COUNTS[index % len(ADDRESS_COUNTS)], next_address_id)
        next_address_id += len(addresses) + rng.randint(*ID_STEP)
        customers.append(
            {
                "idcustomer": idcustomer,
                "name": name,
                "emailaddress": email(first, last, rng.choice(EMAIL_DOMAINS), index + 1),
                "telephone": _telephone(rng),
                "addresses": addresses,
            }
        )
    return customers


def _stock(rng: random.Random) -> list[Record]:
    warehouses = sorted(rng.sample(WAREHOUSE_IDS, rng.randint(*STOCK_LINES)))
    lines = []
    for idwarehouse in warehouses:
        stock = rng.randint(*STOCK_RANGE)
        reserved = rng.randint(0, stock)
        lines.append(
            {
                "idwarehouse": idwarehouse,
                "stock": stock,
                "reserved": reserved,
                "freestock": stock - reserved,
            }
        )
    return lines


def _products(rng: random.Random, count: int) -> list[Record]:
    products: list[Record] = []
    for position, idproduct in enumerate(_ids(rng, PRODUCT_ID_START, count)):
        updated = sql_datetime(moment(rng))
        if position == TIED_PRODUCT_POSITION:
            updated = products[-1]["updated"]
        products.append(
            {
                "idproduct": idproduct,
                "name": f"{rng.choice(PRODUCT_ADJECTIVES)} {rng.choice(PRODUCT_NOUNS)}",
                "price": rng.randint(*PRICE_CENTS) / CENTS,
                "stock": _stock(rng),
                "updated": updated,
            }
        )
    return products


def _orders(
    rng: random.Random, count: int, customers: list[Record], products: list[Record]
) -> list[Record]:
    if not customers or not products:
        return []
    orders = []
    for idorder in _ids(rng, ORDER_ID_START, count):
        created = moment(rng)
        updated = created
        if rng.random() >= UNCHANGED_ORDER_RATE:
            updated += timedelta(seconds=rng.randrange(ORDER_EDIT_DAYS * SECONDS_PER_DAY))
        lines = rng.sample(products, min(len(products), rng.randint(*ORDER_LINES)))
        orders.append(
            {
                "idorder": idorder,
                "idcustomer": rng.choice(customers)["idcustomer"],
                "status": rng.choice(ORDER_STATUSES),
                "created": sql_datetime(created),
                "updated": sql_datetime(updated),
                "products": [
                    {
                        "idproduct": line["idproduct"],
                        "amount": rng.randint(*AMOUNT_RANGE),
                        "price": line["price"],
                    }
                    for line in lines
                ],
            }
        )
    return orders


def _shuffled(rng: random.Random, records: list[Record]) -> list[Record]:
    shuffled = list(records)
    rng.shuffle(shuffled)
    return shuffled


def build_store(seed: int, scale: int) -> Store:
    """The API's data for a seed and scale: the same arguments always give the same records."""
    rng = random.Random(seed)
    store = Store(SPEC)
    customers = _customers(rng, CUSTOMERS_PER_SCALE * scale)
    products = _products(rng, PRODUCTS_PER_SCALE * scale)
    orders = _orders(rng, ORDERS_PER_SCALE * scale, customers, products)
    store.put("customers", _shuffled(rng, customers))
    store.put("products", _shuffled(rng, products))
    store.put("orders", _shuffled(rng, orders))
    return store


def latest_updated(store: Store, resource: str) -> str:
    """The highest `updated` served for `products` or `orders`: what a client's cursor holds."""
    times = [served.record["updated"] for served in store.truth(resource)]
    return max(times, default=sql_datetime(EPOCH_START))


def touch(store: Store, resource: str, key: int, changes: Mapping[str, Any] | None = None) -> str:
    """Edit a product or order: apply `changes`, set `updated` 1 s past the latest; return it."""
    updated = sql_datetime(parse_sql_datetime(latest_updated(store, resource)) + TOUCH_STEP)
    key_field = SPEC.endpoint(resource).primary_key[0]
    count = store.update(resource, {key_field: key}, {**(changes or {}), "updated": updated})
    if count != 1:
        raise KeyError(f"no {resource} record with {key_field}={key}")
    return updated


API = ApiDefinition(
    spec=SPEC,
    build_store=build_store,
    description="Customers, products and orders, offset-paged, incremental on updated (seed 001)",
)
