"""commerce (seed 001): a shop's customers, products and orders.

Read it beside `../shared/seeds/001_*.txt`. The same three endpoints, offset paging and retry
policy (429 only, 3 retries, backoff factor 2); what the seed left out made explicit: the keys its
resource sections name, pages of the server's maximum of 100 (the seed's 10 costs ten times the
requests), and incremental reads of products and orders by `updated` through `updated_after`
(from a second before the last run's newest: the API's filter is strictly later, to the second).
Nested arrays (addresses, stock, order lines) load as child tables of their rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from restsync.connectors.base import Connector, basic_client

PAGE_SIZE = 100
RETRY = {"retry_on_status_codes": [429], "max_retries": 3, "backoff_factor": 2}
SQL_FORMAT = "%Y-%m-%d %H:%M:%S"  # how the API writes `updated` and reads `updated_after`
EPOCH = "1970-01-01 00:00:00"  # the first run asks for everything updated after this
TIMESTAMP = {"data_type": "timestamp"}


def _updated_after() -> dict[str, Any]:
    """The incremental filter: records whose `updated` is later than a second before the last
    run's max, every one of them kept (no dedup by key at the boundary); the merge on the key
    absorbs what is read twice."""
    return {
        "type": "incremental",
        "cursor_path": "updated",
        "initial_value": EPOCH,
        "convert": a_second_earlier,
        "primary_key": (),
    }


def a_second_earlier(updated: str) -> str:
    """`updated_after` means strictly later, to the second: a record edited in the same second
    as the newest one loaded, after the sync read it, would never be read again. Asking from a
    second earlier reads that second again (and dlt, deduplicating by key, would drop the
    edit: hence no incremental primary key above)."""
    if updated == EPOCH:
        return updated
    earlier = datetime.strptime(updated, SQL_FORMAT) - timedelta(seconds=1)
    return earlier.strftime(SQL_FORMAT)


def build(values: Mapping[str, str]) -> dict[str, Any]:
    """The seed-001 config, complete: keys, incremental cursors, page size, retry policy."""
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
                "name": "customers",
                "primary_key": "idcustomer",
                "endpoint": {"path": "/customers"},
                "columns": {"idcustomer": {"data_type": "bigint", "nullable": False}},
            },
            {
                "name": "products",
                "primary_key": "idproduct",
                "endpoint": {"path": "/products", "params": {"updated_after": _updated_after()}},
                "columns": {
                    "idproduct": {"data_type": "bigint", "nullable": False},
                    "price": {"data_type": "double"},
                    "updated": TIMESTAMP,
                },
            },
            {
                "name": "orders",
                "primary_key": "idorder",
                "endpoint": {"path": "/orders", "params": {"updated_after": _updated_after()}},
                "columns": {
                    "idorder": {"data_type": "bigint", "nullable": False},
                    "idcustomer": {"data_type": "bigint"},
                    "created": TIMESTAMP,
                    "updated": TIMESTAMP,
                },
            },
        ],
    }


CONNECTOR = Connector(
    name="commerce",
    description="A shop's customers, products and orders; incremental by `updated` (seed 001)",
    seed="001_a900979e6b53b8c8.txt",
    default_base_url="https://api.example.com/v1/",
    secrets=("username", "password"),
    setting_defaults={"password": ""},  # the API key goes in `username`; the password may be empty
    build=build,
)
