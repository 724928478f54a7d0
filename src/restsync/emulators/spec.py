"""How an emulated API looks on the wire, as data: auth, envelopes, paging, filters, endpoints.

An API module describes its API with these frozen dataclasses and the server core serves it; no
API needs code of its own in the core. `ApiSpec.__post_init__` checks that a description is
consistent (parents declared before children, every placeholder filled, paging that fits the
envelope) so a mistake shows up when the module is imported, not as a wrong answer on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "STANDARD_RATE_LIMIT_HEADERS",
    "ApiSpec",
    "Auth",
    "BareList",
    "BasicAuth",
    "BearerAuth",
    "Comparison",
    "EndpointSpec",
    "Envelope",
    "Filter",
    "HalEnvelope",
    "KeyEnvelope",
    "NoPaging",
    "OffsetPaging",
    "Order",
    "PageNumberPaging",
    "Paging",
    "ParentLink",
    "RateLimitHeaders",
    "Setting",
    "SingleObject",
    "TimeCursorPaging",
    "placeholders",
]

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

DEFAULT_DATA_KEY = "data"
DEFAULT_OFFSET_LIMIT = 10
DEFAULT_MAX_LIMIT = 100
DEFAULT_PAGE_SIZE = 20
DEFAULT_FIRST_PAGE = 1
DEFAULT_CURSOR_LIMIT = 20
DEFAULT_USERNAME_KEY = "username"
DEFAULT_PASSWORD_KEY = "password"
DEFAULT_TOKEN_KEY = "access_token"


def placeholders(template: str) -> tuple[str, ...]:
    """Names of the `{placeholders}` in a path template, in order, so params keep URL order."""
    return tuple(PLACEHOLDER.findall(template))


# --- auth -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BasicAuth:
    """HTTP Basic credentials the emulator accepts; keys are what a client's config calls them."""

    username: str
    password: str
    username_key: str = DEFAULT_USERNAME_KEY
    password_key: str = DEFAULT_PASSWORD_KEY

    def credentials(self) -> dict[str, str]:
        """What a client needs to authenticate, under the names its configuration uses."""
        return {self.username_key: self.username, self.password_key: self.password}


@dataclass(frozen=True)
class BearerAuth:
    """An `Authorization: Bearer <token>` credential the emulator accepts."""

    token: str
    token_key: str = DEFAULT_TOKEN_KEY

    def credentials(self) -> dict[str, str]:
        """What a client needs to authenticate, under the name its configuration uses."""
        return {self.token_key: self.token}


Auth = BasicAuth | BearerAuth


@dataclass(frozen=True)
class RateLimitHeaders:
    """Header names an API uses for its rate-limit quota; `limit=None` when it sends no limit."""

    limit: str | None = "X-RateLimit-Limit"
    remaining: str = "X-RateLimit-Remaining"
    reset: str = "X-RateLimit-Reset"


STANDARD_RATE_LIMIT_HEADERS = RateLimitHeaders()


# --- envelopes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyEnvelope:
    """Records as a list under one key: `{"data": [...]}` (paging extras sit beside it)."""

    key: str = DEFAULT_DATA_KEY


@dataclass(frozen=True)
class HalEnvelope:
    """HAL: `{"_links": {"self": {"href": ...}}, "_embedded": {key: [...]}}`."""

    key: str


@dataclass(frozen=True)
class BareList:
    """The response body is the JSON list itself, with nothing around it."""


@dataclass(frozen=True)
class SingleObject:
    """One record, not a list, under a key: `{"user": {...}}`; the collection holds exactly one."""

    key: str


Envelope = KeyEnvelope | HalEnvelope | BareList | SingleObject


# --- paging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoPaging:
    """The whole list in one response."""


@dataclass(frozen=True)
class OffsetPaging:
    """`offset`/`limit` params; `limit` has a default and a cap; no total; past the end `[]`."""

    default_limit: int = DEFAULT_OFFSET_LIMIT
    max_limit: int = DEFAULT_MAX_LIMIT
    offset_param: str = "offset"
    limit_param: str = "limit"


@dataclass(frozen=True)
class PageNumberPaging:
    """`page` from `first_page`, a fixed `page_size`; past the last page an empty list."""

    page_size: int = DEFAULT_PAGE_SIZE
    page_param: str = "page"
    first_page: int = DEFAULT_FIRST_PAGE


@dataclass(frozen=True)
class TimeCursorPaging:
    """Newest first by `time_field`; `until=<t>` gives records strictly older than t.

    Every page carries `"pagination": {"count", "next", "prev"}`; `next` is the time of the page's
    last record, or null on the last page; with `has_next` also `"hasNext": bool`. Times within a
    collection must be unique, or records that share the boundary time would be skipped.
    """

    time_field: str
    default_limit: int = DEFAULT_CURSOR_LIMIT
    max_limit: int = DEFAULT_MAX_LIMIT
    limit_param: str = "limit"
    until_param: str = "until"
    has_next: bool = False


Paging = NoPaging | OffsetPaging | PageNumberPaging | TimeCursorPaging


# --- filters, order, parents ------------------------------------------------------------------

Comparison = Literal["gt", "ge", "lt", "le", "eq"]
COMPARISONS: tuple[Comparison, ...] = ("gt", "ge", "lt", "le", "eq")


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Filter:
    """A query param narrowing the list to records where `parse(record[field]) <op> parse(value)`.

    `parse` turns both the query string and the record's value into comparable values (and raises
    ValueError on a malformed query value, which the server answers with 400). Records whose field
    is missing or null never match.
    """

    param: str
    field: str
    comparison: Comparison
    parse: Callable[[Any], Any] = _identity


@dataclass(frozen=True)
class Order:
    """The order records are served in; records with a null sort value come last."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class ParentLink:
    """Where a child URL's placeholder comes from: `placeholder` is `parent_record[field]`.

    The child's other placeholders are inherited, by name, from the parent's own URL params; this is
    how a child that needs two ancestors' fields (a report's token and a run's token) is described.
    """

    resource: str
    field: str
    placeholder: str


# --- endpoints and the API --------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointSpec:
    """One resource: its path template (after the API prefix), envelope, paging and filters."""

    resource: str
    path: str
    envelope: Envelope = KeyEnvelope()
    paging: Paging = NoPaging()
    parent: ParentLink | None = None
    filters: tuple[Filter, ...] = ()
    order: Order | None = None
    primary_key: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = _endpoint_problems(self)
        if problems:
            raise ValueError(f"endpoint '{self.resource}': " + "; ".join(problems))

    @property
    def effective_order(self) -> Order | None:
        """The serve order: time-cursor paging implies newest first by its time field."""
        if isinstance(self.paging, TimeCursorPaging):
            return Order(self.paging.time_field, descending=True)
        return self.order


def _endpoint_problems(endpoint: EndpointSpec) -> list[str]:
    problems: list[str] = []
    if not endpoint.path.startswith("/"):
        problems.append(f"path '{endpoint.path}' must start with '/'")
    paging, envelope = endpoint.paging, endpoint.envelope
    if isinstance(envelope, SingleObject) and not isinstance(paging, NoPaging):
        problems.append("a single-object envelope cannot be paged")
    if isinstance(envelope, BareList) and isinstance(paging, TimeCursorPaging):
        problems.append("a bare list has no room for the pagination block")
    if isinstance(paging, TimeCursorPaging) and endpoint.order not in (
        None,
        Order(paging.time_field, descending=True),
    ):
        problems.append(f"time-cursor paging serves newest first by '{paging.time_field}'")
    for flt in endpoint.filters:
        if flt.comparison not in COMPARISONS:
            problems.append(f"filter '{flt.param}': unknown comparison '{flt.comparison}'")
    return problems


@dataclass(frozen=True)
class Setting:
    """A value the user chooses (e.g. a workspace name) that fills a placeholder in every URL."""

    name: str
    default: str
    help: str = ""


@dataclass(frozen=True)
class ApiSpec:
    """A whole API: URL prefix, auth, how it refuses a bad credential, headers, endpoints."""

    name: str
    prefix: str
    auth: Auth
    unauthorized_status: int
    unauthorized_body: Any
    endpoints: tuple[EndpointSpec, ...]
    rate_limit_headers: RateLimitHeaders = STANDARD_RATE_LIMIT_HEADERS
    settings: tuple[Setting, ...] = ()

    def __post_init__(self) -> None:
        problems = _api_problems(self)
        if problems:
            raise ValueError(f"API '{self.name}': " + "; ".join(problems))

    @property
    def resources(self) -> tuple[str, ...]:
        """Resource names in declaration order (parents before children)."""
        return tuple(endpoint.resource for endpoint in self.endpoints)

    def endpoint(self, resource: str) -> EndpointSpec:
        """The endpoint serving `resource`; KeyError names the known ones."""
        for endpoint in self.endpoints:
            if endpoint.resource == resource:
                return endpoint
        raise KeyError(f"API '{self.name}' has no resource '{resource}'; has {self.resources}")

    def params_of(self, resource: str) -> tuple[str, ...]:
        """URL params that key a resource's collections: its placeholders minus the settings."""
        names = {setting.name for setting in self.settings}
        path = self.prefix + self.endpoint(resource).path
        return tuple(name for name in placeholders(path) if name not in names)

    def default_settings(self) -> dict[str, str]:
        """Every setting with its default value."""
        return {setting.name: setting.default for setting in self.settings}


def _api_problems(spec: ApiSpec) -> list[str]:
    problems: list[str] = []
    if spec.prefix and (not spec.prefix.startswith("/") or spec.prefix.endswith("/")):
        problems.append(f"prefix '{spec.prefix}' must start with '/' and not end with it")
    setting_names = {setting.name for setting in spec.settings}
    if any(name not in setting_names for name in placeholders(spec.prefix)):
        problems.append("the prefix may hold only settings placeholders")
    seen: dict[str, tuple[str, ...]] = {}
    for endpoint in spec.endpoints:
        name = endpoint.resource
        if name in seen:
            problems.append(f"resource '{name}' declared twice")
            continue
        all_params = placeholders(spec.prefix + endpoint.path)
        params = tuple(p for p in all_params if p not in setting_names)
        if len(set(all_params)) != len(all_params):
            problems.append(f"'{name}': a placeholder appears twice in its path")
        problems.extend(_link_problems(endpoint, params, seen))
        seen[name] = params
    return problems


def _link_problems(
    endpoint: EndpointSpec, params: tuple[str, ...], seen: dict[str, tuple[str, ...]]
) -> list[str]:
    name, link = endpoint.resource, endpoint.parent
    if link is None:
        return [f"'{name}': placeholders {params} need a parent"] if params else []
    if link.resource not in seen:
        return [f"'{name}': parent '{link.resource}' must be declared before it"]
    if link.placeholder not in params:
        return [f"'{name}': parent fills '{link.placeholder}', which is not in its path"]
    inherited = set(seen[link.resource]) | {link.placeholder}
    missing = [p for p in params if p not in inherited]
    if missing:
        return [f"'{name}': placeholders {missing} come from neither the parent nor its URL"]
    return []
