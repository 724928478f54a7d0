"""feature_flags (seed 000): organizations and their members, products with tags and environments.

Read it beside `../shared/seeds/000_*.txt`: the same resources and paths, with what the seed left
out made explicit. Keys are the ones the seed's resource sections name (not `resource_defaults`'
`id`); members are keyed by organization too, because a user can belong to two; children name
their parent with `resolve` params. No endpoint pages: each list comes whole. An environment
without `environmentId` (the spec allows one) is skipped with a warning: it cannot be merged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from restsync.connectors.base import Connector, basic_client, from_parent

log = logging.getLogger("restsync.connectors.feature_flags")

RETRY = {"retry_on_status_codes": [429, 500, 502, 503, 504], "max_retries": 3, "backoff_factor": 2}
OBJECT = {"data_type": "json"}  # the seed types these fields as `object`: kept whole


def _text(*names: str, nullable: bool = False) -> dict[str, dict[str, Any]]:
    return {n: {"data_type": "text", "nullable": nullable} for n in names}


def build(values: Mapping[str, str]) -> dict[str, Any]:
    """The seed-000 config, complete: keys, parents, column types and the retry policy."""
    return {
        "client": basic_client(values),
        "resource_defaults": {
            "write_disposition": "merge",
            "endpoint": {
                "data_selector": "data",
                "paginator": "single_page",
                "error_handler": RETRY,
            },
        },
        "resources": [
            {
                "name": "organizations",
                "primary_key": "organizationId",
                "endpoint": {"path": "/organizations"},
                "columns": _text("organizationId", "name"),
            },
            {
                "name": "organization_members",
                "primary_key": ["organizationId", "userId"],
                "endpoint": {
                    "path": "/organizations/{organizationId}/members",
                    "params": {"organizationId": from_parent("organizations", "organizationId")},
                },
                "include_from_parent": ["organizationId"],
                "processing_steps": [{"map": _member_of_organization}],
                "columns": _text("organizationId", "userId", "email", "fullName"),
            },
            {
                "name": "products",
                "primary_key": "productId",
                "endpoint": {"path": "/products"},
                "columns": {
                    **_text("productId", "name", "description"),
                    "order": {"data_type": "bigint"},
                    "reasonRequired": {"data_type": "bool"},
                    "organizationId": OBJECT,
                },
            },
            {
                "name": "tags",
                "primary_key": "tagId",
                "endpoint": {
                    "path": "/products/{productId}/tags",
                    "params": {"productId": from_parent("products", "productId")},
                },
                "columns": {
                    "tagId": {"data_type": "bigint", "nullable": False},
                    **_text("name", "color"),
                    "product": OBJECT,
                },
            },
            {
                "name": "environments",
                "primary_key": "environmentId",
                "endpoint": {
                    "path": "/products/{productId}/environments",
                    "params": {"productId": from_parent("products", "productId")},
                },
                "processing_steps": [{"filter": _keyed_environment}],
                "columns": {
                    **_text("environmentId"),
                    **_text("name", "description", "color", nullable=True),
                    "order": {"data_type": "bigint", "nullable": True},
                    "reasonRequired": {"data_type": "bool", "nullable": True},
                    "product": OBJECT,
                },
            },
        ],
    }


def _keyed_environment(record: dict[str, Any]) -> bool:
    """The spec lets `environmentId` be null, but it is the merge key: such an environment is
    skipped, with a warning, rather than failing the whole sync."""
    if record.get("environmentId") is not None:
        return True
    product = (record.get("product") or {}).get("productId")
    log.warning("environments: skipped one of product %s with no environmentId (the key)", product)
    return False


def _member_of_organization(record: dict[str, Any]) -> dict[str, Any]:
    """Name the parent field `organizationId`, the key's first half, instead of dlt's prefix."""
    record["organizationId"] = record.pop("_organizations_organizationId")
    return record


CONNECTOR = Connector(
    name="feature_flags",
    description="Organizations, members, products, tags and environments (seed 000)",
    seed="000_7db28e81e9469fb4.txt",
    default_base_url="https://api.example.com/v1",
    secrets=("username", "password"),
    build=build,
)
