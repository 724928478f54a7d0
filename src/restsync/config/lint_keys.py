"""Lint checks on the config's shape: known keys, value types, credentials, seed-dialect notes."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any, get_args

from dlt.sources.rest_api import typing as dlt_typing

from restsync.config import dialect
from restsync.config.dialect import typed_keys
from restsync.config.lint_rules import Finding, finding
from restsync.config.lint_view import ConfigView, as_mapping
from restsync.config.loader import SETTINGS, Reference, join_path
from restsync.http.retry import ERROR_HANDLER_KEYS, RetryPolicy

__all__ = ["check_shape", "dialect_note", "unknown_keys"]


def _dialect_table(doc: str) -> dict[str, str]:
    """dialect.py's docstring table, `seed` column -> `dlt / restsync` column."""
    rows: dict[str, str] = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.strip().startswith("|") and len(cells) == 2 and cells[0].strip("-"):
            rows[cells[0]] = cells[1]
    return rows


DIALECT_TABLE = _dialect_table(dialect.__doc__ or "")
ROW_BASIC = "`auth.type: basic`"
ROW_ERROR_HANDLER = "`endpoint.error_handler`"
ROW_CURSOR_LIMIT = "cursor paginator `limit: N`"
ROW_SINCE_PARAM = "cursor paginator `since_param: P`"
ROW_START_FROM_PAGE = "`start_from_page: N`"
ROW_EMPTY_SELECTOR = "`data_selector: []`"
ROW_NO_TOTAL = "offset / page_number with no total"
ROW_LITERAL_PARAM = "literal param filling `{placeholder}`"
ROW_NO_PAGINATOR = "no paginator anywhere"
UNKNOWN_NOTE = "what restsync's dialect translation makes of it"

AUTH_TYPES = frozenset(get_args(dlt_typing.AuthType))
AUTH_KEYS: dict[str, frozenset[str]] = {
    "bearer": typed_keys(dlt_typing.BearerTokenAuthConfig),
    "api_key": typed_keys(dlt_typing.ApiKeyAuthConfig),
    "http_basic": typed_keys(dlt_typing.HttpBasicAuthConfig),
    "oauth2_client_credentials": typed_keys(dlt_typing.OAuth2ClientCredentialsConfig),
}
AUTH_REQUIRED: dict[str, tuple[str, ...]] = {
    "bearer": ("token",),
    "api_key": ("api_key",),
    "http_basic": ("username", "password"),
    "oauth2_client_credentials": ("access_token_url", "client_id", "client_secret"),
}
SECRET_FIELDS = frozenset({"password", "token", "api_key", "client_secret", "access_token"})
# header and query parameter names that carry a credential (lower case, `-` as `_`): these
# whole names, or names ending so, but not names of paging, flags or types (`page_token`)
SECRET_NAMES = frozenset({"key", "secret", "appid", "auth", "access_key"})
SECRET_ENDINGS = ("token", "apikey", "api_key", "auth_key", "secret", "password", "authorization")
NOT_SECRET_PREFIXES: tuple[str, ...] = ("page", "next", "prev", "sync", "continuation", "cursor")
NOT_SECRET_PREFIXES += ("is_", "reset", "include", "start", "last")
NOT_SECRET_ENDINGS = ("_type", "_url", "_path", "_expires", "_expiry", "_count")
# a param filling a path placeholder is usually an id (`{report_token}`), unless named as bare
# as these (`/bot{token}/getMe`)
BARE_CREDENTIALS = frozenset({"token", "secret", "password", "apikey", "api_key"})
HTTP_METHODS = ("GET", "POST")  # dlt's rest_api
RESOLVE_KEYS = typed_keys(dlt_typing.ResolveParamConfig)
INCREMENTAL_PARAM_KEYS = typed_keys(dlt_typing.IncrementalParamConfig)
INCREMENTAL_KEYS = typed_keys(dlt_typing.IncrementalConfig)
PARAM_TYPES = tuple(get_args(dlt_typing.ParamBindType))
WRITE_DISPOSITIONS = ("append", "replace", "merge")


def dialect_note(row: str) -> str:
    """What restsync makes of a seed-dialect construct, from dialect.py's own table."""
    return DIALECT_TABLE.get(row, UNKNOWN_NOTE)


def unknown_keys(
    obj: Mapping[str, Any],
    allowed: frozenset[str],
    at: str,
    elsewhere: Mapping[str, str] | None = None,
) -> Iterator[Finding]:
    """RS101 for each key not in `allowed`, with the closest valid key or where it belongs."""
    for key in obj:
        if key in allowed:
            continue
        path = join_path(at, key)
        home = (elsewhere or {}).get(str(key))
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        if home:
            message, fix = f"`{key}` does not belong here.", f"move it to `{home}`."
        elif close:
            message, fix = (
                f"unknown key `{key}`; did you mean `{close[0]}`?",
                f"rename to `{close[0]}`.",
            )
        else:
            message = f"unknown key `{key}`."
            fix = f"remove it; valid keys here: {', '.join(sorted(allowed))}."
        yield finding("RS101", path, message, fix)


def _wrong_type(at: str, what: str, value: Any) -> Finding:
    return finding(
        "RS103", at, f"must be {what}, got {type(value).__name__}.", f"write {what} here."
    )


def _choice(at: str, value: Any, choices: Any, what: str) -> Finding:
    close = difflib.get_close_matches(str(value), sorted(choices), n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return finding(
        "RS103",
        at,
        f"`{value}` is not a valid {what}.",
        f"{hint}use one of: {', '.join(sorted(choices))}.",
    )


def _missing(at: str, key: str, why: str) -> Finding:
    return finding("RS104", join_path(at, key), f"`{key}` is required {why}.", f"add `{key}`.")


def check_shape(view: ConfigView) -> Iterator[Finding]:
    """Keys, types, credentials and dialect notes, level by level."""
    config = view.config
    yield from unknown_keys(config, dialect.TOP_KEYS, "")
    for key in ("client", "resources"):
        if key not in config:
            yield _missing("", key, "in every config")
    if "client" in config:
        yield from _client(config["client"])
    defaults = config.get("resource_defaults")
    if defaults is not None and not isinstance(defaults, Mapping):
        yield _wrong_type("resource_defaults", "a mapping", defaults)
    elif defaults is not None:
        yield from _defaults(defaults)
    resources = config.get("resources")
    if "resources" in config and not isinstance(resources, list):
        yield _wrong_type("resources", "a list", resources)
    seen: set[str] = set()
    for resource in view.resources:
        raw = config["resources"][resource.index]
        if resource.name and resource.name in seen:
            yield finding(
                "RS105",
                join_path(resource.at, "name"),
                f"a resource named `{resource.name}` comes earlier; dlt keeps only one of them.",
                "give each resource its own name.",
            )
        seen.add(resource.name)
        if not isinstance(raw, str):
            yield from _resource(raw, resource.at)


def _client(client: Any) -> Iterator[Finding]:
    if not isinstance(client, Mapping):
        yield _wrong_type("client", "a mapping", client)
        return
    yield from unknown_keys(client, dialect.CLIENT_KEYS, "client")
    if "base_url" not in client:
        yield _missing("client", "base_url", "in `client`")
    elif not isinstance(client["base_url"], str | Reference):
        yield _wrong_type("client.base_url", "a URL string", client["base_url"])
    if client.get("auth") is not None:
        yield from _auth(client["auth"], "client.auth")


def _defaults(defaults: Mapping[str, Any]) -> Iterator[Finding]:
    yield from unknown_keys(defaults, dialect.DEFAULTS_KEYS, "resource_defaults")
    yield from _resource_values(defaults, "resource_defaults")
    if "params" in defaults:
        params = defaults["params"]
        if not isinstance(params, Mapping):
            yield _wrong_type("resource_defaults.params", "a mapping", params)
        else:
            yield finding(
                "RS102",
                "resource_defaults.params",
                "seed dialect: dlt has no `resource_defaults.params`; restsync sends them with"
                f" every resource's requests, and a {ROW_LITERAL_PARAM} becomes"
                f" {dialect_note(ROW_LITERAL_PARAM)}.",
                "none needed for restsync; for plain dlt move them to"
                " `resource_defaults.endpoint.params`.",
            )
            yield from _params(params, "resource_defaults.params")
    if defaults.get("endpoint") is not None:
        yield from _endpoint(defaults["endpoint"], "resource_defaults.endpoint")


def _resource(raw: Any, at: str) -> Iterator[Finding]:
    if not isinstance(raw, Mapping):
        yield _wrong_type(at, "a mapping or a name", raw)
        return
    name = raw.get("name")
    if "name" not in raw:
        yield _missing(at, "name", "on every resource")
    elif not isinstance(name, str) or not name:
        yield _wrong_type(join_path(at, "name"), "a non-empty string", name)
    elsewhere = {k: join_path(at, "endpoint") for k in dialect.ENDPOINT_KEYS}
    yield from unknown_keys(raw, dialect.RESOURCE_KEYS, at, elsewhere)
    yield from _resource_values(raw, at)
    if raw.get("endpoint") is not None:
        yield from _endpoint(raw["endpoint"], join_path(at, "endpoint"))


def _resource_values(raw: Mapping[str, Any], at: str) -> Iterator[Finding]:
    key = raw.get("primary_key")
    if key is not None and not (
        isinstance(key, str)
        or (isinstance(key, list) and key and all(isinstance(k, str) for k in key))
    ):
        yield _wrong_type(join_path(at, "primary_key"), "a column name or a list of them", key)
    disposition = raw.get("write_disposition")
    if isinstance(disposition, Mapping):
        disposition = disposition.get("disposition")
    if "write_disposition" in raw and disposition not in WRITE_DISPOSITIONS:
        yield _choice(
            join_path(at, "write_disposition"), disposition, WRITE_DISPOSITIONS, "disposition"
        )
    parents = raw.get("include_from_parent")
    if parents is not None and not (
        isinstance(parents, list) and all(isinstance(p, str) for p in parents)
    ):
        yield _wrong_type(join_path(at, "include_from_parent"), "a list of field names", parents)
    columns = raw.get("columns")
    if columns is not None and not isinstance(columns, Mapping | list):
        yield _wrong_type(join_path(at, "columns"), "a mapping of column hints", columns)


def _endpoint(endpoint: Any, at: str) -> Iterator[Finding]:
    if isinstance(endpoint, str):
        return
    if not isinstance(endpoint, Mapping):
        yield _wrong_type(at, "a mapping or a path", endpoint)
        return
    parent = at.rsplit(".", 1)[0]
    elsewhere = {k: parent for k in dialect.RESOURCE_KEYS if k != "endpoint"}
    yield from unknown_keys(endpoint, dialect.ENDPOINT_KEYS, at, elsewhere)
    for key in ("path", "method"):
        if key in endpoint and not isinstance(endpoint[key], str):
            yield _wrong_type(join_path(at, key), "a string", endpoint[key])
    method = endpoint.get("method")
    if isinstance(method, str) and method not in HTTP_METHODS:
        yield _choice(join_path(at, "method"), method, HTTP_METHODS, "method (dlt: upper case)")
    for key in ("params", "headers", "json"):
        if endpoint.get(key) is not None and not isinstance(endpoint[key], Mapping):
            yield _wrong_type(join_path(at, key), "a mapping", endpoint[key])
    yield from _params(as_mapping(endpoint.get("params")), join_path(at, "params"))
    if endpoint.get("incremental") is not None:
        yield from _incremental(endpoint["incremental"], join_path(at, "incremental"))
    if "error_handler" in endpoint:
        yield from _error_handler(endpoint["error_handler"], join_path(at, "error_handler"))
    if "data_selector" in endpoint:
        yield from _data_selector(endpoint["data_selector"], join_path(at, "data_selector"))
    if endpoint.get("auth") is not None:
        yield from _auth(endpoint["auth"], join_path(at, "auth"))


def _params(params: Mapping[str, Any], at: str) -> Iterator[Finding]:
    for name, value in params.items():
        if not isinstance(value, Mapping):
            continue
        where = join_path(at, name)
        kind = value.get("type")
        if kind == "resolve":
            yield from unknown_keys(value, RESOLVE_KEYS, where)
            for key in ("resource", "field"):
                if key not in value:
                    yield _missing(where, key, "in a `resolve` param")
                elif not isinstance(value[key], str):
                    yield _wrong_type(join_path(where, key), "a string", value[key])
            yield from jsonpath_findings(value.get("field"), join_path(where, "field"))
        elif kind == "incremental":
            yield from unknown_keys(value, INCREMENTAL_PARAM_KEYS, where)
        else:
            yield _choice(join_path(where, "type"), kind, PARAM_TYPES, "param binding type")


def _incremental(value: Any, at: str) -> Iterator[Finding]:
    if not isinstance(value, Mapping):
        yield _wrong_type(at, "a mapping", value)
    else:
        yield from unknown_keys(value, INCREMENTAL_KEYS, at)


def _error_handler(handler: Any, at: str) -> Iterator[Finding]:
    if not isinstance(handler, Mapping):
        yield _wrong_type(at, "a mapping", handler)
        return
    yield from unknown_keys(handler, frozenset(ERROR_HANDLER_KEYS), at)
    codes = handler.get("retry_on_status_codes", [])
    if not isinstance(codes, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes
    ):
        yield _wrong_type(join_path(at, "retry_on_status_codes"), "a list of HTTP statuses", codes)
    for key in ("max_retries", "backoff_factor"):
        number = handler.get(key, 0)
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            yield _wrong_type(join_path(at, key), "a number, 0 or more", number)
    yield finding(
        "RS102",
        at,
        f"seed dialect {ROW_ERROR_HANDLER}: restsync makes it {dialect_note(ROW_ERROR_HANDLER)}"
        f"{_policy(handler)}.",
        "none needed for restsync; plain dlt rejects the key (retries there come from"
        " `RUNTIME__REQUEST_*` or a session passed as `client.session`).",
    )


def _policy(handler: Mapping[str, Any]) -> str:
    try:
        policy = RetryPolicy.from_error_handler(handler)
    except (TypeError, ValueError):
        return ""
    return (
        f" (retries {sorted(policy.statuses)} up to {policy.max_retries} times, backoff factor"
        f" {policy.backoff_factor:g})"
    )


def _data_selector(selector: Any, at: str) -> Iterator[Finding]:
    if selector == []:
        yield finding(
            "RS102",
            at,
            f"seed dialect {ROW_EMPTY_SELECTOR}: restsync reads it as"
            f" {dialect_note(ROW_EMPTY_SELECTOR)}.",
            'none needed for restsync; for plain dlt write `data_selector: "$"`.',
        )
    elif not isinstance(selector, str):
        yield _wrong_type(at, "a JSONPath string", selector)
    else:
        yield from jsonpath_findings(selector, at)


def jsonpath_findings(value: Any, at: str) -> Iterator[Finding]:
    """A JSONPath dlt cannot read (translation refuses it with the same words)."""
    problem = dialect.jsonpath_problem(value)
    if problem is not None:
        yield finding("RS103", at, f"{problem}.", "fix the JSONPath.")


def _auth(auth: Any, at: str) -> Iterator[Finding]:
    if isinstance(auth, str):
        if auth not in AUTH_TYPES:
            yield _choice(at, auth, AUTH_TYPES, "auth type")
        return
    if not isinstance(auth, Mapping):
        yield _wrong_type(at, "a mapping", auth)
        return
    kind = auth.get("type", "bearer" if "token" in auth else None)
    if kind is None:
        yield _missing(at, "type", "in `auth` (unless it is a bearer `token`)")
        return
    if not isinstance(kind, str):
        yield _choice(join_path(at, "type"), kind, AUTH_TYPES, "auth type")
        return
    if kind in dialect.AUTH_TYPE_ALIASES:
        kind = dialect.AUTH_TYPE_ALIASES[kind]
        yield finding(
            "RS102",
            join_path(at, "type"),
            f"seed dialect {ROW_BASIC}: restsync runs it as dlt's {dialect_note(ROW_BASIC)}.",
            f"none needed for restsync; for plain dlt write `type: {kind}`.",
        )
    if kind not in AUTH_KEYS:
        yield _choice(join_path(at, "type"), kind, AUTH_TYPES, "auth type")
        return
    yield from unknown_keys(auth, AUTH_KEYS[kind], at)
    for key in AUTH_REQUIRED[kind]:
        if key not in auth:
            yield _missing(at, key, f"for `{kind}` auth")
    yield from _credentials(auth, at)


def _credentials(auth: Mapping[str, Any], at: str) -> Iterator[Finding]:
    for key in sorted(SECRET_FIELDS & set(auth)):
        value, where = auth[key], join_path(at, key)
        if isinstance(value, str) and value:
            yield finding(
                "RS701",
                where,
                f"`{key}` is written into the config; whoever reads the file has the credential.",
                f'write `dlt.secrets["{key}"]` and set it in .dlt/secrets.toml or the environment.',
            )
        elif isinstance(value, Reference) and value.provider == SETTINGS:
            yield finding(
                "RS702",
                where,
                f"`{key}` is read from dlt.config (config.toml is usually committed).",
                f'read it with `dlt.secrets["{value.name}"]` instead.',
            )
