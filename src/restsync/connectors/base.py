"""What a built-in connector is: its seed-format config plus the secrets and settings it needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dlt

from restsync.errors import ConfigError

__all__ = ["Connector", "basic_client", "resolve_values"]

BASE_URL = "base_url"


@dataclass(frozen=True)
class Connector:
    """A built-in connector: a seed-format config built from resolved secrets and settings."""

    name: str
    description: str
    seed: str
    default_base_url: str
    secrets: tuple[str, ...]
    build: Callable[[Mapping[str, str]], dict[str, Any]]
    settings: tuple[str, ...] = ()
    setting_defaults: Mapping[str, str] = field(default_factory=dict)

    def config(self, values: Mapping[str, str]) -> dict[str, Any]:
        """The seed-format config for these resolved values (secrets, settings, base_url)."""
        return self.build(values)

    def resources(self) -> list[str]:
        """Resource names, in the seed's order (built with placeholder values)."""
        dummy = {key: "-" for key in (*self.secrets, *self.settings)}
        config = self.build({**dummy, BASE_URL: self.default_base_url})
        return [r["name"] for r in config["resources"]]

    def env_var(self, key: str) -> str:
        """The environment variable dlt reads this secret or setting from."""
        return f"SOURCES__{self.name.upper()}__{key.upper()}"


def from_parent(resource: str, field: str) -> dict[str, str]:
    """A path placeholder filled from each record of a parent resource (dlt's `resolve`)."""
    return {"type": "resolve", "resource": resource, "field": field}


def basic_client(
    values: Mapping[str, str], username: str = "username", password: str = "password"
) -> dict[str, Any]:
    """The `client` block of a seed that uses HTTP Basic with two of the resolved values."""
    return {
        "base_url": values[BASE_URL],
        "auth": {"type": "basic", "username": values[username], "password": values[password]},
    }


def resolve_values(connector: Connector, overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Secrets and settings from overrides, else dlt's config system (env, .dlt/*.toml)."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for key in (*connector.secrets, *connector.settings, BASE_URL):
        value = overrides.get(key)
        if value is None:
            provider = dlt.secrets if key in connector.secrets else dlt.config
            value = provider.get(f"sources.{connector.name}.{key}")
        if value is None and key == BASE_URL:
            value = connector.default_base_url
        if value is None:
            value = connector.setting_defaults.get(key)
        if value is None:
            missing.append(key)
        else:
            values[key] = str(value)
    if missing:
        hints = ", ".join(connector.env_var(k) for k in missing)
        raise ConfigError(
            f"connector '{connector.name}' needs {', '.join(missing)}: set {hints}, or add them"
            f" under [sources.{connector.name}] in .dlt/secrets.toml"
        )
    return values
