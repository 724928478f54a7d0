"""What the commands act on: a built-in connector by name, or a config file in the seed format."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restsync.config.dialect import userinfo_password
from restsync.config.loader import LoadedConfig, Reference, load_config, resolve
from restsync.connectors import available, get_connector, resolve_values
from restsync.errors import ConfigError

__all__ = ["CONFIG_SUFFIXES", "Target", "is_file", "load_target", "unresolved_config"]

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".py", ".md", ".txt")


@dataclass(frozen=True)
class Target:
    """A resolved config ready to build a source from, and the secret values to keep unseen."""

    name: str
    config: dict[str, Any]
    secrets: tuple[str, ...]
    settings: dict[str, str] = field(default_factory=dict)  # the values read from dlt.config


def is_file(target: str) -> bool:
    """A path to a config file rather than a connector name."""
    return target not in available() and (
        Path(target).exists() or target.lower().endswith(CONFIG_SUFFIXES)
    )


def load_target(target: str, overrides: Mapping[str, str | None]) -> Target:
    """Resolve secrets and settings (overrides first, then dlt's config) into a runnable config."""
    if not is_file(target):
        connector = get_connector(target)
        values = resolve_values(connector, overrides)
        secrets = tuple(values[k] for k in connector.secrets)
        settings = {k: values[k] for k in connector.settings}
        return Target(connector.name, connector.config(values), secrets, settings)
    loaded = _load(target)
    given = {k: v for k, v in overrides.items() if v is not None and k != "base_url"}
    written = loaded.config
    client = written.get("client") if isinstance(written, Mapping) else None
    if overrides.get("base_url") and isinstance(client, Mapping):  # wins over a reference too
        written = {**written, "client": {**client, "base_url": overrides["base_url"]}}
    config = resolve(written, loaded.source_name, overrides=given)
    resolved = list(_reference_values(written, config))
    secrets = tuple(v for ref, v in resolved if ref.provider == "secrets" and isinstance(v, str))
    settings = {r.name: v for r, v in resolved if r.provider == "config" and isinstance(v, str)}
    client = config.get("client")
    password = userinfo_password(client.get("base_url") if isinstance(client, Mapping) else None)
    secrets += (password,) if password else ()
    return Target(loaded.source_name, config, secrets, settings)


def unresolved_config(target: str) -> tuple[str, Any, LoadedConfig | None]:
    """The config as written (references unresolved), for lint; connectors with placeholders."""
    if not is_file(target):
        connector = get_connector(target)
        values: dict[str, Any] = {k: Reference("secrets", k) for k in connector.secrets}
        values.update({k: Reference("config", k) for k in connector.settings})
        values["base_url"] = connector.default_base_url
        return connector.name, connector.config(values), None
    loaded = _load(target)
    return loaded.source_name, loaded.config, loaded


def _load(target: str) -> LoadedConfig:
    path = Path(target)
    if not path.exists():
        raise ConfigError(f"no config file at {target} (and no built-in connector of that name)")
    loaded = load_config(path)
    if loaded.js_comments:
        first = loaded.js_comments[0]
        raise ConfigError(
            f"{path}:{first.line}: `{first.text}` is a JavaScript comment, not Python; run"
            f" `restsync lint {path} --fix` to write a corrected copy"
        )
    return loaded


def _reference_values(written: Any, resolved: Any) -> Iterator[tuple[Reference, Any]]:
    """Each reference of the config as written with the value it resolved to (same place)."""
    if isinstance(written, Reference):
        yield written, resolved
    elif isinstance(written, Mapping):
        for key, value in written.items():
            yield from _reference_values(value, resolved[key])
    elif isinstance(written, list):
        for value, value_resolved in zip(written, resolved, strict=True):
            yield from _reference_values(value, value_resolved)
