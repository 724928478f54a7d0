"""Translate the seed format (a superset of dlt's `RESTAPIConfig`) into a config dlt accepts.

What the seeds write and what it becomes:

| seed                                   | dlt / restsync                                        |
|----------------------------------------|-------------------------------------------------------|
| `auth.type: basic`                     | `http_basic`                                          |
| `endpoint.error_handler`               | a `RetryPolicy` for that endpoint's requests          |
| cursor paginator `limit: N`            | query parameter `limit=N` on every page               |
| cursor paginator `since_param: P`      | time ranges read side by side (`http/slices.py`)      |
| `start_from_page: N`                   | `base_page: N`                                        |
| `data_selector: []`                    | `$`: the response itself is the list                  |
| offset / page_number with no total     | paginators that stop on the first short page          |
| literal param filling `{placeholder}`  | the value put into the path (e.g. `{workspace}`)      |
| no paginator anywhere                  | `single_page` (dlt would guess one, sometimes wrongly) |
| `client.paginator`                     | each endpoint's paginator where it names none (as dlt) |
| a `data_selector` that misses          | an error naming where the list is (dlt: zero rows)     |

Anything else that is not a dlt key is a `ConfigError` naming the resource and the key.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from dlt.common import jsonpath
from dlt.common.exceptions import DltException
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import typing as dlt_typing
from dlt.sources.rest_api.config_setup import create_paginator
from jsonpath_ng.exceptions import JSONPathError

from restsync.errors import ConfigError
from restsync.http.guard import DetectedPaginator, SelectorGuard
from restsync.http.paginators import ShortPageOffsetPaginator, ShortPagePageNumberPaginator
from restsync.http.retry import ERROR_HANDLER_KEYS, RetryPolicy
from restsync.http.session import ENDPOINT_HEADER
from restsync.http.slices import TimeCursorPaginator

__all__ = [
    "Translation",
    "jsonpath_problem",
    "placeholders",
    "time_cursor_problem",
    "translate",
    "typed_keys",
    "userinfo_password",
]


def typed_keys(typed_dict: Any) -> frozenset[str]:
    """The keys a dlt TypedDict allows (what dlt would accept at that level)."""
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


TOP_KEYS = typed_keys(dlt_typing.RESTAPIConfig)
CLIENT_KEYS = typed_keys(dlt_typing.ClientConfig)
RESOURCE_KEYS = typed_keys(dlt_typing.EndpointResource)
DEFAULTS_KEYS = typed_keys(dlt_typing.EndpointResourceBase) | {"params"}  # `params`: seed dialect
ENDPOINT_KEYS = typed_keys(dlt_typing.Endpoint) | {"error_handler"}
AUTH_TYPE_ALIASES = {"basic": "http_basic"}
PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]+)\}(?!\})")
SHORT_PAGE_TYPES = ("offset", "page_number")
DEFAULT_PAGE_SIZE_PARAM = "limit"
CLIENT_SINCE_PARAM = (
    "time ranges are read per endpoint: put the cursor paginator with `since_param` in"
    " resource_defaults.endpoint.paginator or in the endpoint, not in client"
)
DLT_CURSOR_PATH = "cursors.next"  # dlt's default for a cursor paginator's `cursor_path`
SINGLE_PAGE = "single_page"
AUTO = "auto"  # dlt's paginator detection, on the first response
PATH_KEYS = ("cursor_path", "next_url_path", "total_path", "has_more_path")  # JSONPaths


@dataclass(frozen=True)
class Translation:
    """A dlt-ready config plus what restsync applies around it (retry policies) and why."""

    config: dict[str, Any]
    policies: dict[str, RetryPolicy]
    default_policy: RetryPolicy | None
    notes: tuple[str, ...]


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders of a path, in order (escaped `{{...}}` excluded)."""
    return PLACEHOLDER.findall(text)


def translate(config: Mapping[str, Any], *, strict: bool = True) -> Translation:
    """Turn a seed-format config into a dlt `RESTAPIConfig`, or say precisely what is wrong.

    `strict=False` lets unfilled placeholders through, for a probe that reports them.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"a config must be a mapping, got {type(config).__name__}")
    _check_keys(config, TOP_KEYS, "")
    if "client" not in config or "resources" not in config:
        missing = [k for k in ("client", "resources") if k not in config]
        raise ConfigError(f"missing required key(s) {missing}")
    notes: list[str] = []
    client = _translate_client(config["client"], notes)
    defaults = dict(_mapping(config.get("resource_defaults") or {}, "resource_defaults"))
    _check_keys(defaults, DEFAULTS_KEYS, "resource_defaults.")
    where = "resource_defaults.endpoint"
    default_endpoint = dict(_mapping(defaults.pop("endpoint", None) or {}, where))
    if "params" in defaults:  # the seeds' shorthand for endpoint params shared by every resource
        default_endpoint["params"] = {
            **_mapping(defaults.pop("params"), "resource_defaults.params"),
            **_mapping(default_endpoint.get("params") or {}, f"{where}.params"),
        }
        notes.append("resource_defaults.params: sent with every resource's requests")
    _check_keys(default_endpoint, ENDPOINT_KEYS, "resource_defaults.endpoint.")
    default_policy = _policy(default_endpoint.pop("error_handler", None), None, notes)
    if "paginator" in client:  # dlt's fallback for endpoints without one: the same, per endpoint
        default_endpoint.setdefault("paginator", client.pop("paginator"))
        notes.append("client.paginator: used by every endpoint that names no paginator")

    raw_resources = config["resources"]
    if not isinstance(raw_resources, list):
        kind = type(raw_resources).__name__
        raise ConfigError(f"must be a list of resources, got a {kind}", key="resources")
    resources: list[Any] = []
    policies: dict[str, RetryPolicy] = {}
    for index, raw in enumerate(raw_resources):
        resource = _normalize_resource(raw, index)
        name = resource["name"]
        _check_keys(resource, RESOURCE_KEYS, "", resource=name)
        endpoint = _merge_endpoint(default_endpoint, resource["endpoint"])
        _check_keys(endpoint, ENDPOINT_KEYS, "endpoint.", resource=name)
        policy = _policy(endpoint.pop("error_handler", None), name, notes) or default_policy
        if policy is not None:
            policies[name] = policy
        _translate_endpoint(endpoint, name, notes)
        if strict:
            _check_placeholders(endpoint, name)
        resources.append({**resource, "endpoint": endpoint})

    dlt_config: dict[str, Any] = {"client": client, "resources": resources}
    if defaults:
        dlt_config["resource_defaults"] = defaults
    return Translation(dlt_config, policies, default_policy, tuple(notes))


def _mapping(value: Any, key: str, resource: str | None = None) -> Mapping[str, Any]:
    """The value, if a mapping; else an error naming the key."""
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        raise ConfigError(f"must be a mapping, got a {kind}", resource=resource, key=key)
    return value


def jsonpath_problem(value: Any) -> str | None:
    """Why `value` is not a JSONPath dlt can read, or None (non-strings are dlt's to judge; an
    empty path is dlt's "none", e.g. `total_path: ''`)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        jsonpath.compile_path(value)
    except JSONPathError as exc:
        return f"'{value}' is not a JSONPath ({exc}); write e.g. `data`, `_embedded.items`, `$`"
    return None


def _check_jsonpath(value: Any, resource: str, key: str) -> None:
    problem = jsonpath_problem(value)
    if problem is not None:
        raise ConfigError(problem, resource=resource, key=key)


def _check_keys(
    obj: Mapping[str, Any], allowed: frozenset[str], prefix: str, *, resource: str | None = None
) -> None:
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {sorted(allowed)}"
            raise ConfigError(f"unknown key{hint}", resource=resource, key=f"{prefix}{key}")


def _translate_client(raw: Any, notes: list[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or "base_url" not in raw:
        raise ConfigError("`client` must be a mapping with a `base_url`", key="client")
    _check_keys(raw, CLIENT_KEYS, "client.")
    client = dict(raw)
    paginator = client.get("paginator")
    if isinstance(paginator, Mapping) and "since_param" in paginator:
        raise ConfigError(CLIENT_SINCE_PARAM, key="client.paginator.since_param")
    if "auth" in client:
        client["auth"] = _translate_auth(client["auth"], "client.auth", notes)
    _userinfo_to_auth(client, notes)
    return client


def _userinfo_to_auth(client: dict[str, Any], notes: list[str]) -> None:
    """`http://user:password@host` in base_url: dlt would keep the URL, password included, in
    its trace file; requests would send it as basic auth, which is what it becomes here."""
    base_url = client.get("base_url")
    if not isinstance(base_url, str):
        return
    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return
    client["base_url"] = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    if not client.get("auth"):  # an explicit auth wins over the URL's, as in requests
        username, password = unquote(parts.username or ""), unquote(parts.password or "")
        client["auth"] = {"type": "http_basic", "username": username, "password": password}
    notes.append("client.base_url: its user:password is sent as http_basic auth")


def userinfo_password(base_url: Any) -> str | None:
    """The password written in a base URL (`http://user:password@host`), if any."""
    if not isinstance(base_url, str):
        return None
    password = urlsplit(base_url).password
    return unquote(password) if password else None


def _translate_auth(auth: Any, where: str, notes: list[str]) -> Any:
    if isinstance(auth, Mapping) and auth.get("type") in AUTH_TYPE_ALIASES:
        new_type = AUTH_TYPE_ALIASES[auth["type"]]
        notes.append(f"{where}.type: '{auth['type']}' is dlt's '{new_type}'")
        return {**auth, "type": new_type}
    return auth


def _normalize_resource(raw: Any, index: int) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"name": raw, "endpoint": {"path": raw}}
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise ConfigError(
            "each resource must be a name or a mapping with a `name`", key=f"resources[{index}]"
        )
    resource = copy.copy(dict(raw))
    endpoint = resource.get("endpoint") or {"path": resource["name"]}
    if isinstance(endpoint, str):
        endpoint = {"path": endpoint}
    resource["endpoint"] = dict(_mapping(endpoint, "endpoint", str(resource["name"])))
    return resource


def _merge_endpoint(default: Mapping[str, Any], endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """dlt's merge: the resource's keys win; `params` and `json` merge one level deep."""
    merged = {**copy.deepcopy(dict(default)), **endpoint}
    for key in ("params", "json"):
        if key in default and key in endpoint:
            both = (default[key], endpoint[key])
            if all(isinstance(v, Mapping) for v in both):
                merged[key] = {**both[0], **both[1]}
    return merged


def _policy(handler: Any, resource: str | None, notes: list[str]) -> RetryPolicy | None:
    if handler is None:
        return None
    where = "endpoint.error_handler" if resource else "resource_defaults.endpoint.error_handler"
    if not isinstance(handler, Mapping):
        raise ConfigError("must be a mapping", resource=resource, key=where)
    _check_keys(handler, frozenset(ERROR_HANDLER_KEYS), f"{where}.", resource=resource)
    try:
        policy = RetryPolicy.from_error_handler(handler)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), resource=resource, key=where) from exc
    notes.append(
        f"{resource or 'every resource'}: retries {sorted(policy.statuses)} up to"
        f" {policy.max_retries} times, backoff factor {policy.backoff_factor}"
    )
    return policy


def _translate_endpoint(endpoint: dict[str, Any], name: str, notes: list[str]) -> None:
    params = dict(_mapping(endpoint.get("params") or {}, "endpoint.params", name))
    for param, spec in params.items():
        if isinstance(spec, Mapping) and spec.get("type") == "resolve":
            _check_jsonpath(spec.get("field"), name, f"endpoint.params.{param}.field")
    if endpoint.get("data_selector") == []:
        endpoint["data_selector"] = "$"
        notes.append(f"{name}: data_selector [] reads the response itself as the list")
    _check_jsonpath(endpoint.get("data_selector"), name, "endpoint.data_selector")
    if "auth" in endpoint:
        endpoint["auth"] = _translate_auth(endpoint["auth"], f"{name}.endpoint.auth", notes)
    paginator = endpoint.get("paginator")
    if paginator is None:
        paginator = SINGLE_PAGE
        notes.append(f"{name}: no paginator given, reading a single page (no guessing)")
    elif isinstance(paginator, Mapping):
        for key in PATH_KEYS:
            _check_jsonpath(paginator.get(key), name, f"endpoint.paginator.{key}")
        paginator = _translate_paginator(dict(paginator), params, name, notes)
    selector = endpoint.get("data_selector")
    if isinstance(selector, str):  # `auto`: dlt's detection, as an instance the guard can wrap
        inner = DetectedPaginator() if _is_auto(paginator) else _paginator_instance(paginator, name)
        paginator = SelectorGuard(inner, selector, name)
    endpoint["paginator"] = paginator
    endpoint["path"] = _fill_literal_placeholders(str(endpoint.get("path", "")), params, name)
    if params:
        endpoint["params"] = params
    else:
        endpoint.pop("params", None)
    endpoint["headers"] = {**(endpoint.get("headers") or {}), ENDPOINT_HEADER: name}


def _is_auto(paginator: Any) -> bool:
    """dlt's `auto`: it picks a paginator from the first response (no instance before that)."""
    kind = paginator.get("type") if isinstance(paginator, Mapping) else paginator
    return kind == AUTO


def _translate_paginator(
    paginator: dict[str, Any], params: dict[str, Any], name: str, notes: list[str]
) -> Any:
    kind = paginator.get("type")
    where = f"{name}.endpoint.paginator"
    if kind == "cursor" and "limit" in paginator:
        limit = paginator.pop("limit")
        limit_param = paginator.pop("limit_param", DEFAULT_PAGE_SIZE_PARAM)
        params.setdefault(limit_param, limit)
        notes.append(f"{where}.limit: sent as query parameter {limit_param}={limit}")
    if kind == "cursor" and "since_param" in paginator:
        return _time_cursor(paginator, name, notes)
    if "start_from_page" in paginator:
        paginator["base_page"] = paginator.pop("start_from_page")
        notes.append(f"{where}.start_from_page: dlt's base_page={paginator['base_page']}")
    if kind in SHORT_PAGE_TYPES and "total_path" not in paginator:
        notes.append(f"{where}: no total in the responses, stops on the first short page")
        return _short_page_paginator(kind, paginator, name)
    return paginator


def time_cursor_problem(paginator: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why a cursor paginator with `since_param` cannot be read as time ranges (the key at
    fault and what to do), or None; lint and translation both ask this."""
    since, until = paginator.get("since_param"), paginator.get("cursor_param")
    if not isinstance(since, str) or not since:
        return "since_param", (
            "`since_param` names the query parameter of the inclusive lower bound (e.g."
            f" `since`), got {since!r}"
        )
    if "cursor_body_path" in paginator:
        return "cursor_body_path", (
            "time ranges are bounded by query parameters: a cursor sent in the body cannot be"
            " read that way; use `cursor_param`, or drop `since_param`"
        )
    if not until:
        return "cursor_param", (
            "a time cursor (`since_param`) needs `cursor_param`: the query parameter of the"
            " exclusive upper bound (e.g. `until`)"
        )
    if since == until:
        return "since_param", (
            f"`since_param` and `cursor_param` are both `{since}`: a range needs a lower and an"
            " upper bound sent side by side (e.g. `since` and `until`)"
        )
    return None


def _time_cursor(paginator: dict[str, Any], name: str, notes: list[str]) -> TimeCursorPaginator:
    """A cursor that is an integer time (an exclusive upper bound, newest first) on an API that
    also takes an inclusive lower bound `since_param`: read as time ranges side by side."""
    key = "endpoint.paginator"
    problem = time_cursor_problem(paginator)
    if problem is not None:
        raise ConfigError(problem[1], resource=name, key=f"{key}.{problem[0]}")
    options = {k: v for k, v in paginator.items() if k != "type"}
    since = options.pop("since_param")
    try:
        made = TimeCursorPaginator(
            cursor_path=options.pop("cursor_path", DLT_CURSOR_PATH),
            cursor_param=options.pop("cursor_param"),
            since_param=since,
            **options,
        )
    except TypeError as exc:
        message = f"invalid cursor paginator options: {exc}"
        raise ConfigError(message, resource=name, key=key) from exc
    notes.append(
        f"{name}.endpoint.paginator.since_param: read as time ranges side by side, each"
        f" bounded by {made.cursor_param} (exclusive) and {since} (inclusive)"
    )
    return made


def _paginator_instance(paginator: Any, name: str) -> BasePaginator:
    try:
        made = create_paginator(paginator)
    except (TypeError, ValueError, DltException) as exc:
        raise ConfigError(
            f"invalid paginator: {exc}", resource=name, key="endpoint.paginator"
        ) from exc
    if made is None:
        raise ConfigError("invalid paginator", resource=name, key="endpoint.paginator")
    return made


def _short_page_paginator(kind: str, paginator: dict[str, Any], name: str) -> Any:
    options = {k: v for k, v in paginator.items() if k != "type"}
    try:
        if kind == "offset":
            if "limit" not in options:
                raise ConfigError(
                    "an offset paginator needs `limit` (the page size)",
                    resource=name,
                    key="endpoint.paginator.limit",
                )
            return ShortPageOffsetPaginator(**options)
        return ShortPagePageNumberPaginator(**options)
    except TypeError as exc:
        raise ConfigError(
            f"invalid {kind} paginator options: {exc}", resource=name, key="endpoint.paginator"
        ) from exc


def _fill_literal_placeholders(path: str, params: dict[str, Any], name: str) -> str:
    """Put literal params named like a path placeholder into the path (e.g. `{workspace}`)."""
    for placeholder in placeholders(path):
        value = params.get(placeholder)
        if value is None or isinstance(value, Mapping):
            continue
        path = path.replace("{" + placeholder + "}", str(value))  # as dlt binds it
        del params[placeholder]
    return path


def _check_placeholders(endpoint: Mapping[str, Any], name: str) -> None:
    params = endpoint.get("params") or {}
    for placeholder in placeholders(str(endpoint.get("path", ""))):
        if placeholder.startswith(("resources.", "incremental.")):
            continue
        if isinstance(params.get(placeholder), Mapping):
            continue
        raise ConfigError(
            f"path placeholder {{{placeholder}}} has no parameter that fills it: add"
            f" params.{placeholder} = {{type: resolve, resource: <parent>, field: <field>}}"
            f" for a parent's field, or a literal params.{placeholder} for a setting",
            resource=name,
            key="endpoint.path",
        )
