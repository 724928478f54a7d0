"""Lint checks on behaviour: paginators, data selectors, primary keys and URLs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, get_args
from urllib.parse import parse_qsl, urlparse

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.helpers.rest_client.utils import join_url
from dlt.sources.rest_api import typing as dlt_typing

from restsync.config import dialect
from restsync.config.dialect import typed_keys
from restsync.config.lint_keys import (
    BARE_CREDENTIALS,
    NOT_SECRET_ENDINGS,
    NOT_SECRET_PREFIXES,
    ROW_CURSOR_LIMIT,
    ROW_NO_PAGINATOR,
    ROW_NO_TOTAL,
    ROW_SINCE_PARAM,
    ROW_START_FROM_PAGE,
    SECRET_ENDINGS,
    SECRET_NAMES,
    dialect_note,
    jsonpath_findings,
    unknown_keys,
)
from restsync.config.lint_rules import Finding, finding
from restsync.config.lint_view import ConfigView, key_names
from restsync.config.loader import join_path

__all__ = [
    "check_data_selectors",
    "check_keys",
    "check_literal_secrets",
    "check_paginators",
    "check_path_values",
    "check_urls",
]

PAGINATOR_TYPES = frozenset(get_args(dlt_typing.PaginatorType))
_TYPE_ONLY = typed_keys(dlt_typing.PaginatorTypeConfig)
PAGINATOR_KEYS: dict[str, frozenset[str]] = {
    "json_link": typed_keys(dlt_typing.JSONLinkPaginatorConfig),
    "json_response": typed_keys(dlt_typing.JSONLinkPaginatorConfig),
    "header_link": typed_keys(dlt_typing.HeaderLinkPaginatorConfig),
    "header_cursor": typed_keys(dlt_typing.HeaderCursorPaginatorConfig),
    "auto": _TYPE_ONLY,
    "single_page": _TYPE_ONLY,
    "cursor": typed_keys(dlt_typing.JSONResponseCursorPaginatorConfig),
    "offset": typed_keys(dlt_typing.OffsetPaginatorConfig),
    "page_number": typed_keys(dlt_typing.PageNumberPaginatorConfig),
}
# Keys restsync's dialect accepts on top of dlt's (see dialect.py and http/paginators.py).
DIALECT_PAGINATOR_KEYS: dict[str, frozenset[str]] = {
    "cursor": frozenset({"limit", "limit_param", "since_param"}),
    "page_number": frozenset({"start_from_page", "page_size"}),
}
TOTAL_PATH = "total_path"
URL_BREAKERS = "#?{}"
VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)*$", re.IGNORECASE)


def _paginators(view: ConfigView) -> Iterator[tuple[str, Any]]:
    """Every place a paginator is written, with its JSON path."""
    if "paginator" in view.client:
        yield "client.paginator", view.client["paginator"]
    if "paginator" in view.default_endpoint:
        yield "resource_defaults.endpoint.paginator", view.default_endpoint["paginator"]
    for resource in view.resources:
        if "paginator" in resource.endpoint:
            yield join_path(resource.endpoint_at, "paginator"), resource.endpoint["paginator"]


def check_paginators(view: ConfigView) -> Iterator[Finding]:
    """Each paginator's type and keys, dialect notes, the missing-total trap, and none at all."""
    for at, paginator in _paginators(view):
        if isinstance(paginator, str):
            if paginator not in PAGINATOR_TYPES:
                yield _bad_type(at, paginator)
        elif isinstance(paginator, Mapping):
            yield from _paginator(paginator, at)
        elif paginator is not None and not isinstance(paginator, BasePaginator):
            yield finding(
                "RS103",
                at,
                f"must be a paginator type, a mapping or a paginator instance, got"
                f" {type(paginator).__name__}.",
                "write e.g. `{type: offset, limit: 100}` or `single_page`.",
            )
    if view.client.get("paginator") is not None:
        return
    if view.default_endpoint.get("paginator") is not None:
        return
    for resource in view.resources:
        if resource.endpoint.get("paginator") is None:
            yield finding(
                "RS302",
                join_path(resource.endpoint_at, "paginator"),
                f"no paginator for `{resource.name}` here, in resource_defaults or in client:"
                f" restsync reads {dialect_note(ROW_NO_PAGINATOR)}.",
                "set the paginator the API uses, or `single_page` if the endpoint does not page.",
            )


def _since_param(paginator: Mapping[str, Any], at: str) -> Finding:
    """A time cursor: what restsync makes of it, or why it cannot (as translation says)."""
    if at == "client.paginator":
        return finding(
            "RS103",
            join_path(at, "since_param"),
            f"{dialect.CLIENT_SINCE_PARAM}.",
            "move the paginator to resource_defaults.endpoint.paginator.",
        )
    problem = dialect.time_cursor_problem(paginator)
    if problem is not None:
        key, message = problem
        rule = "RS104" if key not in paginator else "RS103"
        return finding(rule, join_path(at, key), f"{message}.", "fix the paginator as it says.")
    return finding(
        "RS102",
        join_path(at, "since_param"),
        f"seed dialect {ROW_SINCE_PARAM}: restsync reads {dialect_note(ROW_SINCE_PARAM)},"
        f" bounded by `{paginator['cursor_param']}` (exclusive, upper) and"
        f" `{paginator['since_param']}` (inclusive, lower). The cursor must be an integer"
        " time, newest first, and the lower bound in its units.",
        "none needed for restsync; plain dlt reads one chain (drop the key for it).",
    )


def _bad_type(at: str, kind: Any) -> Finding:
    return finding(
        "RS103",
        at,
        f"`{kind}` is not a paginator type.",
        f"use one of: {', '.join(sorted(PAGINATOR_TYPES))}.",
    )


def _paginator(paginator: Mapping[str, Any], at: str) -> Iterator[Finding]:
    kind = paginator.get("type")
    if "type" not in paginator:
        yield finding("RS104", join_path(at, "type"), "a paginator needs a `type`.", "add one.")
        return
    if not isinstance(kind, str) or kind not in PAGINATOR_KEYS:
        yield _bad_type(join_path(at, "type"), kind)
        return
    allowed = PAGINATOR_KEYS[kind] | DIALECT_PAGINATOR_KEYS.get(kind, frozenset())
    yield from unknown_keys(paginator, allowed, at)
    for key in dialect.PATH_KEYS:
        yield from jsonpath_findings(paginator.get(key), join_path(at, key))
    if kind == "page_number" and "page_size" in paginator and TOTAL_PATH in paginator:
        yield finding(
            "RS103",
            join_path(at, "page_size"),
            "`page_size` tells restsync's page-number paginator when a page is short; with"
            " `total_path` dlt's own paginator runs, and it takes no `page_size` (dlt refuses it).",
            "drop `page_size` (send the page size in endpoint.params), or drop `total_path`.",
        )
    if kind == "cursor" and "limit" in paginator:
        yield finding(
            "RS102",
            join_path(at, "limit"),
            f"seed dialect {ROW_CURSOR_LIMIT}: restsync sends"
            f" {dialect_note(ROW_CURSOR_LIMIT)} (here N = {paginator['limit']}).",
            "none needed for restsync; for plain dlt put it in `endpoint.params`.",
        )
    if kind == "cursor" and "since_param" in paginator:
        yield _since_param(paginator, at)
    if kind == "page_number" and "start_from_page" in paginator:
        yield finding(
            "RS102",
            join_path(at, "start_from_page"),
            f"seed dialect {ROW_START_FROM_PAGE}: restsync passes it as dlt's"
            f" {dialect_note(ROW_START_FROM_PAGE)} (here N = {paginator['start_from_page']}).",
            "none needed for restsync; for plain dlt write `base_page`.",
        )
    if kind == "offset" and "limit" not in paginator:
        yield finding(
            "RS303",
            join_path(at, "limit"),
            "an offset paginator needs `limit`, the page size (restsync and dlt both refuse it).",
            "add `limit`: the page size the API serves (its maximum costs the fewest requests).",
        )
    if kind in dialect.SHORT_PAGE_TYPES and TOTAL_PATH not in paginator:
        yield finding(
            "RS301",
            at,
            f"{kind} paginator with no `total_path`: dlt expects a `total` in every response and"
            f" fails after page 1 without one; restsync uses {dialect_note(ROW_NO_TOTAL)}.",
            "set `total_path` if the API sends a total; otherwise nothing for restsync (plain"
            " dlt: `total_path: null` and `stop_after_empty_page: true`).",
        )


def check_data_selectors(view: ConfigView) -> Iterator[Finding]:
    """A resource whose records dlt would have to find by guessing."""
    for resource in view.resources:
        if view.endpoint_value(resource, "data_selector") is None:
            yield finding(
                "RS401",
                join_path(resource.endpoint_at, "data_selector"),
                f"no data_selector for `{resource.name}`: dlt guesses where the records are"
                " (the first list in the response), and a wrong guess loads the wrong rows.",
                "set `data_selector` to the records' JSONPath (`$` if the response is the list).",
            )


def check_keys(view: ConfigView) -> Iterator[Finding]:
    """Merge without a key, keys missing from declared columns, and the defaults' key."""
    inheriting: list[str] = []
    for resource in view.resources:
        own = "primary_key" in resource.raw
        key = view.primary_key(resource)
        at = join_path(resource.at, "primary_key")
        if not own and key:
            inheriting.append(resource.name)
        if view.needs_key(resource) and not key and not resource.raw.get("merge_key"):
            yield finding(
                "RS501",
                at,
                f"`{resource.name}` is merged but has no primary key: dlt appends every sync's"
                " rows instead of replacing the old ones.",
                f"set `primary_key` on `{resource.name}`.",
            )
        columns = _columns(resource.raw.get("columns"))
        identity = sorted(n for n, hints in columns.items() if _identifies(hints))
        missing = [k for k in key if identity and k not in columns]
        if missing:
            origin = "its primary_key" if own else "the primary_key it inherits from defaults"
            yield finding(
                "RS502",
                at,
                f"{origin} names {', '.join(missing)}, which `{resource.name}`'s columns do not"
                f" (they declare {', '.join(identity)} as never null or as a key).",
                f"set `primary_key` on `{resource.name}` to the column(s) that identify a record.",
            )
    default_key = key_names(view.defaults.get("primary_key"))
    if default_key and inheriting:
        yield finding(
            "RS503",
            "resource_defaults.primary_key",
            f"resource_defaults.primary_key `{', '.join(default_key)}` applies to every resource"
            f" without its own ({', '.join(inheriting)}); where records have no such field,"
            " normalize fails (UnboundColumnException), and merge needs each resource's real key.",
            "set primary_key per resource (and drop it from resource_defaults).",
        )


def _columns(columns: Any) -> dict[str, Any]:
    """Declared columns by name, from dlt's mapping form or its list-of-columns form."""
    if isinstance(columns, Mapping):
        return {str(k): v for k, v in columns.items()}
    if isinstance(columns, list):
        return {str(c["name"]): c for c in columns if isinstance(c, Mapping) and "name" in c}
    return {}


def _identifies(hints: Any) -> bool:
    """A column declared never null or a key: the columns describe records, not just types."""
    hints = hints if isinstance(hints, Mapping) else {}
    return hints.get("nullable") is False or hints.get("primary_key") is True


def check_urls(view: ConfigView) -> Iterator[Finding]:
    """Base URL and path that add up to two version segments, or meet at a double slash."""
    base = view.client.get("base_url")
    if not isinstance(base, str) or not base:
        return
    base_versions = _versions(base)
    for resource in view.resources:
        path = resource.url_path
        if not path or "://" in path:
            continue
        url = join_url(base, path)
        versions = _versions(url)
        at = join_path(resource.endpoint_at, "path")
        if base_versions and len(versions) > len(base_versions):
            yield finding(
                "RS601",
                at,
                f"base_url `{base}` and path `{path}` make `{url}`: two version segments"
                f" ({', '.join(versions)}).",
                "keep one: drop the version from base_url or from the path, whichever the API"
                " does not serve.",
            )
        if base.endswith("/") and path.startswith("/"):
            yield finding(
                "RS602",
                at,
                f"base_url ends with `/` and path `{path}` starts with `/`: dlt's join_url strips"
                f" both and makes `{url}` (no double slash, and the path stays under the base"
                " URL's path instead of starting again at the host).",
                "nothing changes if you drop one of the two slashes; do so for clarity.",
            )


def check_path_values(view: ConfigView) -> Iterator[Finding]:
    """A literal param that fills a path placeholder goes into the path as written (dlt's
    rule): `#` would end the path, `?` start the query, `{` make a new placeholder."""
    for resource in view.resources:
        params = resource.endpoint.get("params")
        if not isinstance(params, Mapping):
            continue
        for name in dialect.placeholders(resource.url_path or ""):
            value = params.get(name)
            breakers = sorted(set(value) & set(URL_BREAKERS)) if isinstance(value, str) else []
            if breakers:
                yield finding(
                    "RS103",
                    join_path(join_path(resource.endpoint_at, "params"), name),
                    f"`{value}` fills `{{{name}}}` as written, and {' '.join(breakers)} in a path"
                    " changes the URL (`#` ends it, `?` starts the query, `{` is a placeholder).",
                    "percent-encode the value (`#` is `%23`, `?` is `%3F`, `{` and `}` are"
                    " `%7B` and `%7D`).",
                )


def _versions(url: str) -> list[str]:
    """The version segments (`v1`, `v3`) of a URL's path."""
    try:
        path = urlparse(url).path
    except ValueError:  # e.g. an unbalanced `[` in the host
        return []
    return [s for s in path.split("/") if VERSION_SEGMENT.match(s)]


def check_literal_secrets(view: ConfigView) -> Iterator[Finding]:
    """A credential written as text into a header, a query parameter or the base URL (auth
    fields are checked with auth)."""
    places: list[tuple[str, Any, list[str]]] = [("client.headers", view.client.get("headers"), [])]
    for at, params in (
        ("resource_defaults.endpoint.params", view.default_endpoint.get("params")),
        ("resource_defaults.params", view.defaults.get("params")),
    ):
        places.append((at, params, []))
    for resource in view.resources:
        in_path = dialect.placeholders(resource.url_path or "")
        places.append(
            (join_path(resource.endpoint_at, "headers"), resource.endpoint.get("headers"), [])
        )
        places.append(
            (join_path(resource.endpoint_at, "params"), resource.endpoint.get("params"), in_path)
        )
    for at, values, in_path in places:
        if not isinstance(values, Mapping):
            continue
        for name, value in values.items():
            normal = str(name).lower().replace("-", "_")
            if name in in_path and normal not in BARE_CREDENTIALS:
                continue  # an id filling the path (`{report_token}`)
            if isinstance(value, str) and value and _names_a_secret(str(name)):
                yield _literal_secret(join_path(at, name), f"`{name}`", str(name))
    base = view.client.get("base_url")
    if isinstance(base, str):
        parts = urlparse(base)
        if parts.password:
            yield _literal_secret("client.base_url", "the password in `base_url`", "password")
        for name, _ in parse_qsl(parts.query):
            if _names_a_secret(name):
                yield _literal_secret("client.base_url", f"`{name}` in `base_url`", name)


def _names_a_secret(name: str) -> bool:
    """`Authorization`, `X-API-Key`, `PRIVATE-TOKEN`, `client_secret`; not `page_token`."""
    normal = name.lower().replace("-", "_")
    if normal.startswith(NOT_SECRET_PREFIXES) or normal.endswith(NOT_SECRET_ENDINGS):
        return False
    return normal in SECRET_NAMES or normal.endswith(SECRET_ENDINGS)


def _literal_secret(at: str, what: str, name: str) -> Finding:
    return finding(
        "RS701",
        at,
        f"{what} is written into the config; whoever reads the file has the credential.",
        f'write `dlt.secrets["{name.lower().replace("-", "_")}"]` there and set it in'
        " .dlt/secrets.toml or the environment.",
    )
