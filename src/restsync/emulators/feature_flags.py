"""feature_flags (seed 000): organizations with members and products; products with tags and envs.

Per /work/shared/specs/feature_flags.md: base `{host}/v1`, HTTP Basic, `{"data": [...]}` on every
endpoint, no pagination, no incremental filter, 401 `{"code": 401, "message": "Unauthorized"}`,
rate-limit headers `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` (no limit header).

Data at scale 1: 3 organizations with 3 to 6 members each (one user belongs to the first two
organizations), 4 products per organization, 0 to 5 tags and 1 to 4 environments per product.
Every sixth product, the first among them, has no tags (an empty child list); environment fields
other than `environmentId` are sometimes null. Counts follow fixed cycles, so `scale=N` gives
exactly N times the records of every resource; the values are drawn from the seed.
"""

from __future__ import annotations

import random
from typing import Any

from restsync.emulators.data import COLORS, company_name, email, hex_color, person, sentence, uuid4
from restsync.emulators.registry import ApiDefinition
from restsync.emulators.spec import (
    ApiSpec,
    BasicAuth,
    EndpointSpec,
    ParentLink,
    RateLimitHeaders,
)
from restsync.emulators.store import Record, Store

__all__ = ["API", "SPEC", "build_store"]

PREFIX = "/v1"
USERNAME = "ff-emulator-user"
PASSWORD = "ff-emulator-password"
ORGS_PER_SCALE = 3
USERS_PER_ORG = 3
PRODUCTS_PER_ORG = 4
# counts cycle by index (organization or product), so every 3 organizations look alike in size
MEMBER_COUNTS = (4, 3, 6)
TAG_COUNTS = (0, 3, 1, 5, 2, 4)
ENVIRONMENT_COUNTS = (3, 1, 4, 2)
TAG_ID_START = 1000
TAG_ID_STEP = (1, 7)
NULL_RATE = 0.25
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net")
ENVIRONMENT_NAMES = ("Production", "Staging", "Development", "Test", "QA", "Preview")
DESCRIPTION_WORDS = 6

SPEC = ApiSpec(
    name="feature_flags",
    prefix=PREFIX,
    auth=BasicAuth(USERNAME, PASSWORD),
    unauthorized_status=401,
    unauthorized_body={"code": 401, "message": "Unauthorized"},
    rate_limit_headers=RateLimitHeaders(
        limit=None, remaining="X-Rate-Limit-Remaining", reset="X-Rate-Limit-Reset"
    ),
    endpoints=(
        EndpointSpec("organizations", "/organizations", primary_key=("organizationId",)),
        EndpointSpec(
            "organization_members",
            "/organizations/{organizationId}/members",
            parent=ParentLink("organizations", "organizationId", "organizationId"),
            primary_key=("userId",),
        ),
        EndpointSpec("products", "/products", primary_key=("productId",)),
        EndpointSpec(
            "tags",
            "/products/{productId}/tags",
            parent=ParentLink("products", "productId", "productId"),
            primary_key=("tagId",),
        ),
        EndpointSpec(
            "environments",
            "/products/{productId}/environments",
            parent=ParentLink("products", "productId", "productId"),
            primary_key=("environmentId",),
        ),
    ),
)


def _nullable(rng: random.Random, value: Any) -> Any:
    return None if rng.random() < NULL_RATE else value


def _users(rng: random.Random, count: int) -> list[Record]:
    users = []
    for serial in range(1, count + 1):
        first, last = person(rng)
        users.append(
            {
                "userId": uuid4(rng),
                "fullName": f"{first} {last}",
                "email": email(first, last, rng.choice(EMAIL_DOMAINS), serial),
            }
        )
    return users


def _members(rng: random.Random, users: list[Record], index: int) -> list[Record]:
    count = min(len(users), MEMBER_COUNTS[index % len(MEMBER_COUNTS)])
    members = rng.sample(users, count)
    shared = users[0]
    if index < 2 and shared not in members:  # the first two organizations share a user
        members[0] = shared
    return [dict(m) for m in members]


def _product(rng: random.Random, org: Record, order: int) -> Record:
    return {
        "productId": uuid4(rng),
        "name": sentence(rng, 2),
        "description": sentence(rng, DESCRIPTION_WORDS),
        "order": order,
        "reasonRequired": rng.random() < 0.5,
        "organizationId": {"organizationId": org["organizationId"], "name": org["name"]},
    }


def _tags(rng: random.Random, product: Record, count: int, next_id: int) -> list[Record]:
    ref = {"productId": product["productId"], "name": product["name"]}
    tags = []
    for _ in range(count):
        tags.append(
            {
                "tagId": next_id,
                "name": sentence(rng, 1),
                "color": rng.choice(COLORS),
                "product": ref,
            }
        )
        next_id += rng.randint(*TAG_ID_STEP)
    return tags


def _environments(rng: random.Random, product: Record, count: int) -> list[Record]:
    ref = {"productId": product["productId"], "name": product["name"]}
    return [
        {
            "environmentId": uuid4(rng),
            "name": _nullable(rng, ENVIRONMENT_NAMES[order % len(ENVIRONMENT_NAMES)]),
            "description": _nullable(rng, sentence(rng, DESCRIPTION_WORDS)),
            "color": _nullable(rng, hex_color(rng)),
            "order": _nullable(rng, order),
            "reasonRequired": _nullable(rng, rng.random() < 0.5),
            "product": ref,
        }
        for order in range(count)
    ]


def build_store(seed: int, scale: int) -> Store:
    """The API's data for a seed and scale: the same arguments always give the same records."""
    rng = random.Random(seed)
    store = Store(SPEC)
    orgs = [
        {"organizationId": uuid4(rng), "name": company_name(rng, serial)}
        for serial in range(1, ORGS_PER_SCALE * scale + 1)
    ]
    store.put("organizations", orgs)
    users = _users(rng, USERS_PER_ORG * len(orgs))
    products: list[Record] = []
    for index, org in enumerate(orgs):
        store.put("organization_members", _members(rng, users, index), (org["organizationId"],))
        products.extend(_product(rng, org, order) for order in range(PRODUCTS_PER_ORG))
    store.put("products", products)
    next_tag_id = TAG_ID_START
    for index, product in enumerate(products):
        tags = _tags(rng, product, TAG_COUNTS[index % len(TAG_COUNTS)], next_tag_id)
        if tags:
            next_tag_id = tags[-1]["tagId"] + rng.randint(*TAG_ID_STEP)
        store.put("tags", tags, (product["productId"],))
        environments = _environments(
            rng, product, ENVIRONMENT_COUNTS[index % len(ENVIRONMENT_COUNTS)]
        )
        store.put("environments", environments, (product["productId"],))
    return store


API = ApiDefinition(
    spec=SPEC,
    build_store=build_store,
    description="Organizations, members, products, tags and environments (seed 000)",
)
