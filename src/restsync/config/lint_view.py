"""A forgiving view of a config for the lint checks: every shape lint may meet, none that crash it.

Wrong types become empty mappings here (the structure checks report them), so each check reads
`view.client`, `resource.endpoint`, ... without testing types again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from restsync.config.loader import join_path

__all__ = ["ConfigView", "ResourceView", "as_mapping", "build_view", "key_names"]

RESOURCES = "resources"
DEFAULTS = "resource_defaults"
ENDPOINT = "endpoint"
PARAMS = "params"
PATH = "path"
NAME = "name"
MERGE = "merge"
PRIMARY_KEY = "primary_key"
WRITE_DISPOSITION = "write_disposition"
EMPTY: Mapping[str, Any] = {}


def as_mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (its type is reported elsewhere)."""
    return value if isinstance(value, Mapping) else EMPTY


def key_names(value: Any) -> tuple[str, ...]:
    """A primary key as a tuple of column names (empty if absent or malformed)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


@dataclass(frozen=True)
class ResourceView:
    """One resource, normalized like dlt does (a name string, an endpoint string, no path)."""

    index: int
    name: str
    raw: Mapping[str, Any]
    endpoint: Mapping[str, Any]
    url_path: str
    params: Mapping[str, Any]  # resource_defaults' params merged under the endpoint's own

    @property
    def at(self) -> str:
        """The resource's JSON path, e.g. `resources[3]`."""
        return join_path(RESOURCES, self.index)

    @property
    def endpoint_at(self) -> str:
        """The JSON path of the resource's endpoint."""
        return join_path(self.at, ENDPOINT)

    @property
    def own_params(self) -> Mapping[str, Any]:
        """The params written on this resource's endpoint (not inherited)."""
        return as_mapping(self.endpoint.get(PARAMS))


@dataclass(frozen=True)
class ConfigView:
    """The config's parts as mappings, plus its resources normalized."""

    config: Mapping[str, Any]
    source_name: str
    client: Mapping[str, Any]
    defaults: Mapping[str, Any]
    default_endpoint: Mapping[str, Any]
    resources: tuple[ResourceView, ...]

    def named(self, name: str) -> ResourceView | None:
        """The first resource called `name`."""
        return next((r for r in self.resources if r.name == name), None)

    def resource_value(self, resource: ResourceView, key: str) -> Any:
        """A resource-level key as dlt sees it: the resource's own, else resource_defaults'."""
        return resource.raw[key] if key in resource.raw else self.defaults.get(key)

    def endpoint_value(self, resource: ResourceView, key: str) -> Any:
        """An endpoint key as dlt sees it: the endpoint's own, else resource_defaults.endpoint's."""
        if key in resource.endpoint:
            return resource.endpoint[key]
        return self.default_endpoint.get(key)

    def primary_key(self, resource: ResourceView) -> tuple[str, ...]:
        """The resource's effective primary key columns."""
        return key_names(self.resource_value(resource, PRIMARY_KEY))

    def needs_key(self, resource: ResourceView) -> bool:
        """Merged by key: `merge` with dlt's default (delete-insert) or upsert strategy; scd2
        versions rows by their content and needs none."""
        disposition = self.resource_value(resource, WRITE_DISPOSITION)
        if isinstance(disposition, Mapping) and disposition.get("strategy") == "scd2":
            return False
        return self.is_merge(resource)

    def is_merge(self, resource: ResourceView) -> bool:
        """Whether the resource is loaded with the `merge` write disposition."""
        disposition = self.resource_value(resource, WRITE_DISPOSITION)
        if isinstance(disposition, Mapping):
            disposition = disposition.get("disposition")
        return bool(disposition == MERGE)


def build_view(config: Mapping[str, Any], source_name: str) -> ConfigView:
    """The forgiving view of a config mapping."""
    defaults = as_mapping(config.get(DEFAULTS))
    default_endpoint = _endpoint(defaults.get(ENDPOINT), "")
    shared = {**as_mapping(defaults.get(PARAMS)), **as_mapping(default_endpoint.get(PARAMS))}
    raw_resources = config.get(RESOURCES)
    resources = []
    for index, raw in enumerate(raw_resources if isinstance(raw_resources, list) else []):
        if isinstance(raw, str):
            raw = {NAME: raw, ENDPOINT: {PATH: raw}}
        raw = as_mapping(raw)
        written = raw.get(NAME)
        name = written if isinstance(written, str) else ""
        endpoint = _endpoint(raw.get(ENDPOINT), name)
        url_path = endpoint.get(PATH, name)
        resources.append(
            ResourceView(
                index=index,
                name=name,
                raw=raw,
                endpoint=endpoint,
                url_path=url_path if isinstance(url_path, str) else "",
                params={**shared, **as_mapping(endpoint.get(PARAMS))},
            )
        )
    return ConfigView(
        config=config,
        source_name=source_name,
        client=as_mapping(config.get("client")),
        defaults=defaults,
        default_endpoint=default_endpoint,
        resources=tuple(resources),
    )


def _endpoint(value: Any, name: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        return {PATH: value}
    if value is None:
        return {PATH: name} if name else EMPTY
    return as_mapping(value)
