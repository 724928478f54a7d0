"""product_analytics (seed 002): tracked products, and per product its reports, events, properties.

Read it beside `../shared/seeds/002_*.txt`. The URLs are exactly the seed's (`/v3/` base plus
`/v1/...` paths: two version segments, as the API serves them); children name their product with
`resolve` params and keep its id as `_products_id` (a record's own `product_id` may be null);
pages are the server's maximum of 100 (the seed's 50 costs twice the requests); retries are the
seed's (429 only, 3 retries, backoff factor 2). `properties` records differ from record to
record: the table gains columns as fields appear, and no value is coerced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from restsync.connectors.base import Connector, basic_client, from_parent

PAGE_SIZE = 100
RETRY = {"retry_on_status_codes": [429], "max_retries": 3, "backoff_factor": 2}
ID = {"id": {"data_type": "bigint", "nullable": False}}
PRODUCT = from_parent("products", "id")
PARENT = "_products_id"  # dlt's name for the parent's `id` it includes in each child row


def _per_product(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "primary_key": "id",
        "endpoint": {
            "path": f"/v1/products/{{product_id}}/{name}",
            "params": {"product_id": PRODUCT},
        },
        # the product it was read under, as `_products_id`: its own `product_id` may be null
        "include_from_parent": ["id"],
        "columns": {**ID, "product_id": {"data_type": "bigint"}, PARENT: {"data_type": "bigint"}},
    }


def build(values: Mapping[str, str]) -> dict[str, Any]:
    """The seed-002 config, complete: parents, keys, page size, retry policy."""
    return {
        "client": basic_client(values),
        "resource_defaults": {
            "write_disposition": "merge",
            "endpoint": {
                "data_selector": "data",
                "paginator": {"type": "offset", "limit": PAGE_SIZE, "offset_param": "offset"},
                "error_handler": RETRY,
            },
        },
        "resources": [
            {
                "name": "products",
                "primary_key": "id",
                "endpoint": {"path": "/v1/products"},
                "columns": {**ID, "account_id": {"data_type": "bigint"}},
            },
            _per_product("reports"),
            _per_product("events"),
            _per_product("properties"),
        ],
    }


CONNECTOR = Connector(
    name="product_analytics",
    description="Products with their reports, events and properties (seed 002)",
    seed="002_e6f931582365defe.txt",
    default_base_url="https://api.example.com/v3/",
    secrets=("username", "password"),
    build=build,
)
