"""Built-in connectors, one module per seed document, registered here by name."""

from __future__ import annotations

from restsync.connectors import (
    bi_workspace,
    commerce,
    feature_flags,
    hosting,
    product_analytics,
)
from restsync.connectors.base import Connector, resolve_values
from restsync.errors import UnknownConnectorError

__all__ = ["Connector", "available", "get_connector", "resolve_values"]

_REGISTRY: dict[str, Connector] = {
    c.name: c
    for c in (
        feature_flags.CONNECTOR,
        commerce.CONNECTOR,
        product_analytics.CONNECTOR,
        bi_workspace.CONNECTOR,
        hosting.CONNECTOR,
    )
}


def available() -> list[str]:
    """Names of the built-in connectors, sorted, for listing and validation."""
    return sorted(_REGISTRY)


def get_connector(name: str) -> Connector:
    """The built-in connector called `name`, or an error listing those that exist."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownConnectorError(
            f"no built-in connector '{name}'; available: {', '.join(available())}"
        ) from None
