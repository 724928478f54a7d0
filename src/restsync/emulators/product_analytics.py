"""product_analytics (seed 002): tracked products, and per product its reports, events, properties.

Per /work/shared/specs/product_analytics.md: base `{host}/v3` with paths starting `/v1/`, so URLs
are `{host}/v3/v1/products...`; HTTP Basic; `{"data": [...]}` on every endpoint; `offset`/`limit`
paging (limit 50 by default, capped at 100, no total, `{"data": []}` past the end); records in
ascending `id`; no incremental filter; 401 `{"status": 401, "messages": ["Unauthenticated."]}`.

Data at scale 1: 4 products. Per product, by position (ascending id), reports 12, 3, 7, 5 (27);
events 230, 100, 17, 0 (347: five pages of 50 with a short last page of 30; exactly two full pages
then an empty one; one short page; an empty first page); properties 130, 40, 9, 2 (181). `id` is
unique across products within each resource. Every field the spec marks nullable is null in some
records: reports and events at random, products by position (the first has no null; the others
null `account_id`, `km_key`, then `name` and `timezone`). Properties carry `id`, `product_id`,
`name` and a varying subset of `display_name` (string), `count` (integer), `ratio` (float),
`is_custom` (boolean), `source` (an object) and `description` (string or null); the field
`first_seen_on_page_3` (string) appears only in properties at position >= 100 of their product (at
scale 1 only the first product's, so it first shows on page 3 at limit 50; at scale N every fourth
product's). A field never changes type. Counts follow fixed cycles, so `scale=N` gives exactly N
times the records of every resource; the values are drawn from the seed.
"""

from __future__ import annotations

import random
from typing import Any

from restsync.emulators.data import company_name, sentence
from restsync.emulators.registry import ApiDefinition
from restsync.emulators.spec import (
    ApiSpec,
    BasicAuth,
    EndpointSpec,
    OffsetPaging,
    Order,
    ParentLink,
)
from restsync.emulators.store import Record, Store

__all__ = [
    "API",
    "DEFAULT_LIMIT",
    "EVENT_COUNTS",
    "FIRST_SEEN_FIELD",
    "FIRST_SEEN_POSITION",
    "MAX_LIMIT",
    "PASSWORD",
    "PRODUCTS_PER_SCALE",
    "PROPERTY_COUNTS",
    "REPORT_COUNTS",
    "SPEC",
    "UNAUTHORIZED_BODY",
    "USERNAME",
    "build_store",
]

PREFIX = "/v3"
USERNAME = "pa-emulator-user"
PASSWORD = "pa-emulator-password"
UNAUTHORIZED_STATUS = 401
UNAUTHORIZED_BODY = {"status": 401, "messages": ["Unauthenticated."]}
DEFAULT_LIMIT = 50
MAX_LIMIT = 100

PRODUCTS_PER_SCALE = 4
# per product, cycling by product position: counts and which product fields are null
REPORT_COUNTS = (12, 3, 7, 5)
EVENT_COUNTS = (230, 100, 17, 0)
PROPERTY_COUNTS = (130, 40, 9, 2)
PRODUCT_NULL_FIELDS: tuple[tuple[str, ...], ...] = (
    (),
    ("account_id",),
    ("km_key",),
    ("name", "timezone"),
)
FIRST_SEEN_FIELD = "first_seen_on_page_3"
FIRST_SEEN_POSITION = 100  # = 2 pages of DEFAULT_LIMIT
PRODUCT_ID_START = 3001
REPORT_ID_START = 100
EVENT_ID_START = 500_000
PROPERTY_ID_START = 9000
ID_STEP = (1, 4)  # gaps between consecutive ids of a resource
ACCOUNT_IDS = (41, 42)
KM_KEY_BITS = 160
NULL_RATE = 0.12
OPTIONAL_FIELD_RATE = 0.5
PROPERTY_INDEX_RANGE = (0, 40)
PROPERTY_INDICES = (0, 4)  # how many indices an event lists
COUNT_RANGE = (0, 100_000)
RATIO_DIGITS = 4
SOURCE_VERSION = (1, 5)
DISPLAY_WORDS = 2
DESCRIPTION_WORDS = 5
REPORT_WORDS = 2
TIMEZONES = ("UTC", "Europe/Amsterdam", "America/New_York", "Asia/Tokyo", "America/Los_Angeles")
APP_KINDS = ("Web App", "iOS App", "Android App", "Marketing Site")
REPORT_TYPES = ("funnel", "cohort", "revenue", "retention", "segmentation", "people")
EVENT_NAMES = (
    "Signed Up", "Logged In", "Viewed Page", "Clicked Button", "Started Trial", "Upgraded",
    "Invited Teammate", "Exported Report", "Searched", "Cancelled", "Billed", "Visited Site",
)  # fmt: skip
PROPERTY_NAMES = (
    "plan", "referrer", "browser", "country", "campaign", "device", "os", "language",
    "utm_source", "utm_medium", "revenue", "seats", "trial_days", "company_size", "role",
)  # fmt: skip
SOURCE_KINDS = ("sdk", "import", "api", "integration")

_PAGED = OffsetPaging(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)
_BY_ID = Order("id")
_PRODUCT_LINK = ParentLink("products", "id", "product_id")

SPEC = ApiSpec(
    name="product_analytics",
    prefix=PREFIX,
    auth=BasicAuth(USERNAME, PASSWORD),
    unauthorized_status=UNAUTHORIZED_STATUS,
    unauthorized_body=UNAUTHORIZED_BODY,
    endpoints=(
        EndpointSpec("products", "/v1/products", paging=_PAGED, order=_BY_ID, primary_key=("id",)),
        *(
            EndpointSpec(
                child,
                f"/v1/products/{{product_id}}/{child}",
                paging=_PAGED,
                parent=_PRODUCT_LINK,
                order=_BY_ID,
                primary_key=("id",),
            )
            for child in ("reports", "events", "properties")
        ),
    ),
)


class _Ids:
    """Ascending ids with random gaps, shared by every product so they are unique per resource."""

    def __init__(self, rng: random.Random, start: int) -> None:
        self._rng = rng
        self._next = start

    def take(self) -> int:
        value = self._next
        self._next += self._rng.randint(*ID_STEP)
        return value


def _nullable(rng: random.Random, value: Any) -> Any:
    return None if rng.random() < NULL_RATE else value


def _product(rng: random.Random, product_id: int, index: int) -> Record:
    product: Record = {
        "id": product_id,
        "account_id": rng.choice(ACCOUNT_IDS),
        "km_key": f"{rng.getrandbits(KM_KEY_BITS):040x}",
        "name": f"{company_name(rng, index + 1)} {rng.choice(APP_KINDS)}",
        "timezone": rng.choice(TIMEZONES),
    }
    for name in PRODUCT_NULL_FIELDS[index % len(PRODUCT_NULL_FIELDS)]:
        product[name] = None
    return product


def _reports(rng: random.Random, product_id: int, count: int, ids: _Ids) -> list[Record]:
    return [
        {
            "id": ids.take(),
            "name": _nullable(rng, sentence(rng, REPORT_WORDS)),
            "product_id": _nullable(rng, product_id),
            "report_type": _nullable(rng, rng.choice(REPORT_TYPES)),
        }
        for _ in range(count)
    ]


def _events(rng: random.Random, product_id: int, count: int, ids: _Ids) -> list[Record]:
    events = []
    for index in range(count):
        indices = sorted(rng.sample(range(*PROPERTY_INDEX_RANGE), rng.randint(*PROPERTY_INDICES)))
        events.append(
            {
                "id": ids.take(),
                "index": _nullable(rng, index),
                "name": _nullable(rng, rng.choice(EVENT_NAMES)),
                "product_id": _nullable(rng, product_id),
                "property_indices": _nullable(rng, indices),
                "visible": _nullable(rng, rng.random() < OPTIONAL_FIELD_RATE),
            }
        )
    return events


def _optional_fields(rng: random.Random) -> Record:
    candidates: dict[str, Any] = {
        "display_name": sentence(rng, DISPLAY_WORDS),
        "count": rng.randint(*COUNT_RANGE),
        "ratio": round(rng.random(), RATIO_DIGITS),
        "is_custom": rng.random() < OPTIONAL_FIELD_RATE,
        "source": {
            "kind": rng.choice(SOURCE_KINDS),
            "version": rng.randint(*SOURCE_VERSION),
            "verified": rng.random() < OPTIONAL_FIELD_RATE,
        },
        "description": _nullable(rng, sentence(rng, DESCRIPTION_WORDS)),
    }
    return {name: value for name, value in candidates.items() if rng.random() < OPTIONAL_FIELD_RATE}


def _properties(rng: random.Random, product_id: int, count: int, ids: _Ids) -> list[Record]:
    properties = []
    for position in range(count):
        record: Record = {
            "id": ids.take(),
            "product_id": product_id,
            "name": f"{rng.choice(PROPERTY_NAMES)}_{position}",
            **_optional_fields(rng),
        }
        if position >= FIRST_SEEN_POSITION:
            record[FIRST_SEEN_FIELD] = sentence(rng, DISPLAY_WORDS)
        properties.append(record)
    return properties


def build_store(seed: int, scale: int) -> Store:
    """The API's data for a seed and scale: the same arguments always give the same records."""
    rng = random.Random(seed)
    store = Store(SPEC)
    product_ids = _Ids(rng, PRODUCT_ID_START)
    products = [_product(rng, product_ids.take(), i) for i in range(PRODUCTS_PER_SCALE * scale)]
    store.put("products", products)
    report_ids = _Ids(rng, REPORT_ID_START)
    event_ids = _Ids(rng, EVENT_ID_START)
    property_ids = _Ids(rng, PROPERTY_ID_START)
    for index, product in enumerate(products):
        key = (product["id"],)
        count = REPORT_COUNTS[index % len(REPORT_COUNTS)]
        store.put("reports", _reports(rng, product["id"], count, report_ids), key)
        count = EVENT_COUNTS[index % len(EVENT_COUNTS)]
        store.put("events", _events(rng, product["id"], count, event_ids), key)
        count = PROPERTY_COUNTS[index % len(PROPERTY_COUNTS)]
        store.put("properties", _properties(rng, product["id"], count, property_ids), key)
    return store


API = ApiDefinition(
    spec=SPEC,
    build_store=build_store,
    description="Products with their reports, events and properties, offset-paged (seed 002)",
)
