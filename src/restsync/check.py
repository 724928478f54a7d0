"""`restsync check`: a live probe, one page per resource (children: for the first parent only).

Airbyte checks only the connection; this says per resource whether the data selector matched
(and where the list really is when it did not), whether the primary key fields are there, whether
each placeholder was filled, and what pagination the page showed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dlt.common import jsonpath
from dlt.common.exceptions import DltException
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.rest_api.config_setup import create_auth, create_paginator
from requests import HTTPError, RequestException

from restsync.config.dialect import placeholders, translate
from restsync.errors import ApiError, ConfigError, CredentialsError
from restsync.http.budget import RateLimit
from restsync.http.guard import SelectorGuard, where_the_list_is
from restsync.http.redact import redact
from restsync.http.retry import RetryPolicy
from restsync.http.session import RetryingSession

__all__ = ["Probe", "check"]

PROBE_RETRIES = 1  # a probe should answer fast, not wait out a long retry policy
PROBE_TIMEOUT_S = 30.0


@dataclass
class Probe:
    """What one page of one resource showed."""

    resource: str
    url: str = ""
    status: str = "not run"
    records: int = 0
    selector: str | None = None
    selector_matched: bool | None = None
    list_at: str | None = None
    key: tuple[str, ...] = ()
    key_missing: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    placeholders: dict[str, str] = field(default_factory=dict)
    pagination: str = ""
    more_pages: bool | None = None
    ok: bool = False
    first: dict[str, Any] | None = None


def check(
    config: Mapping[str, Any], secrets: tuple[str, ...] = (), rate_limit: RateLimit | None = None
) -> list[Probe]:
    """Probe every resource of a config (already resolved) and report what each page held;
    within the source's rate budget, if it has one (an API allowing 15 a minute stays so)."""
    translation = translate(config, strict=False)
    client_config = translation.config["client"]
    session = RetryingSession(
        default_policy=RetryPolicy(max_retries=PROBE_RETRIES, max_delay=1.0),
        timeout=PROBE_TIMEOUT_S,
        rate_limit=rate_limit,
        secrets=secrets,
    )
    client = RESTClient(
        base_url=client_config["base_url"],
        headers=client_config.get("headers"),
        auth=create_auth(client_config.get("auth")),
        session=session,
    )
    defaults = translation.config.get("resource_defaults", {})
    probes: dict[str, Probe] = {}
    for resource in translation.config["resources"]:
        probe = _probe(client, {**defaults, **resource}, probes, secrets)
        probes[probe.resource] = probe
    return list(probes.values())


def _probe(
    client: RESTClient,
    resource: Mapping[str, Any],
    done: Mapping[str, Probe],
    secrets: tuple[str, ...],
) -> Probe:
    endpoint = dict(resource["endpoint"])
    name = resource["name"]
    key = resource.get("primary_key") or ()
    probe = Probe(name, key=(key,) if isinstance(key, str) else tuple(key))
    path, params = str(endpoint.get("path", "")), dict(endpoint.get("params") or {})
    for placeholder in placeholders(path):
        spec = params.pop(placeholder, None)
        if not isinstance(spec, Mapping):
            probe.status = f"placeholder {{{placeholder}}} unfilled: no resolve param (see lint)"
            return probe
        parent = done.get(spec["resource"])
        if parent is None or parent.first is None:
            probe.status = "skipped: no parent record to fill {" + placeholder + "}"
            return probe
        value = jsonpath.find_values(spec["field"], parent.first)
        if not value:
            probe.status = f"placeholder {{{placeholder}}}: parent has no field '{spec['field']}'"
            return probe
        probe.placeholders[placeholder] = str(value[0])
        path = path.replace("{" + placeholder + "}", str(value[0]))
    params = {k: _literal(v) for k, v in params.items()}
    paginator = endpoint.get("paginator")
    probe.selector = endpoint.get("data_selector")
    if isinstance(paginator, SelectorGuard):
        paginator = paginator.inner  # the probe reports a miss instead of failing on it
    try:
        page = next(
            iter(
                client.paginate(
                    path,
                    method=endpoint.get("method", "GET"),
                    params=params,
                    json=endpoint.get("json"),
                    auth=create_auth(endpoint.get("auth")),  # the endpoint's own, if it has one
                    paginator=create_paginator(paginator),  # `auto`: dlt's guess (None)
                    data_selector=probe.selector,
                    headers=endpoint.get("headers"),
                )
            ),
            None,
        )
    except CredentialsError as exc:
        probe.url, probe.status = exc.url or "", f"credentials rejected ({exc.status})"
        return probe
    except (
        ApiError,
        HTTPError,
        RequestException,
        ConfigError,
        DltException,
        ValueError,
        TypeError,
    ) as exc:
        probe.status = redact(f"failed: {exc}", secrets)
        return probe
    if page is None:
        probe.status = "no page"
        return probe
    _describe(probe, page, _as_loaded(resource, done))
    return probe


def _as_loaded(resource: Mapping[str, Any], done: Mapping[str, Probe]) -> Any:
    """What dlt does to a record before it is written: parent fields in, processing steps."""
    params = resource["endpoint"].get("params") or {}
    parents = [v["resource"] for v in params.values() if isinstance(v, Mapping) and "resource" in v]
    parent = done.get(parents[0]) if parents else None

    def apply(record: dict[str, Any]) -> dict[str, Any] | None:
        for field_name in resource.get("include_from_parent") or ():
            if parent is not None and parent.first is not None and field_name in parent.first:
                record[f"_{parent.resource}_{field_name}"] = parent.first[field_name]
        for step in resource.get("processing_steps") or ():
            if "map" in step:
                record = step["map"](record)
            elif "filter" in step and not step["filter"](record):
                return None
        return record

    return apply


def _literal(value: Any) -> Any:
    """The first request's value for a param: an incremental's initial value, else as given."""
    if isinstance(value, Mapping) and value.get("type") == "incremental":
        return value.get("initial_value")
    return value


def _describe(probe: Probe, page: Any, as_loaded: Any) -> None:
    response = page.response
    probe.url = redact(str(response.url))
    probe.status = f"{response.status_code} {response.reason}"
    probe.records = len(page)
    records = [r for r in page if isinstance(r, Mapping)]
    probe.first = as_loaded(dict(records[0])) if records else None
    try:
        document = response.json()
    except ValueError:
        document = None
    if probe.selector is not None and document is not None:
        probe.selector_matched = probe.selector == "$" or bool(
            jsonpath.find_values(probe.selector, document)
        )
        if not probe.selector_matched:
            probe.list_at = where_the_list_is(document)
    if probe.first is not None:
        probe.fields = tuple(probe.first)
        probe.key_missing = tuple(k for k in probe.key if k not in probe.first)
    # dlt's str() of a paginator: "<Class> at <address>: <settings>"; the address says nothing
    shown = re.sub(r" at [0-9a-fx]+\b", "", str(page.paginator)) if page.paginator else "none"
    probe.pagination = shown.split(":")[0]
    probe.more_pages = page.paginator.has_next_page if page.paginator else None
    probe.ok = probe.selector_matched is not False and not probe.key_missing
