"""Build a dlt source from a seed-format config: translate, attach the HTTP session, hand to dlt."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from dlt.common import jsonpath
from dlt.common.exceptions import DictValidationException, DltException
from dlt.extract import DltSource
from dlt.extract.exceptions import InvalidParallelResourceDataType
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import rest_api_source

from restsync.config.dialect import Translation, translate
from restsync.errors import ConfigError
from restsync.fanout import stream_children
from restsync.http.budget import RateLimit
from restsync.http.redact import redact
from restsync.http.retry import RetryPolicy
from restsync.http.session import DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT, RetryingSession
from restsync.http.slices import TimeSlices, time_cursor
from restsync.http.window import OPENS_AFTER, PageWindow, numbered

__all__ = [
    "SourceOptions",
    "build_source",
    "close_sessions",
    "default_retry_policy",
    "sessions_of",
]

DEFAULT_SOURCE_NAME = "rest_api"
DEFAULT_CONCURRENCY = DEFAULT_POOL_SIZE  # requests in flight: one per page-pool thread
PARENT_REFERENCE = "{resources."  # a placeholder dlt fills from the parent's item
CHILD_OPENS_AFTER = 2  # full pages before a child's collection fetches ahead


@dataclass(frozen=True)
class SourceOptions:
    """How to build a source: its name (dlt's config section) and HTTP settings."""

    name: str = DEFAULT_SOURCE_NAME
    timeout: float | None = None  # seconds per request; None: dlt's RUNTIME__REQUEST_TIMEOUT
    max_retry_delay: float | None = None
    parallelized: bool = False  # every top-level resource in dlt's pool, whatever the config
    concurrency: int = DEFAULT_CONCURRENCY  # child requests in flight; 1 = one parent at a time
    rate_limit: RateLimit | None = None  # the host's budget, shared by every worker
    secrets: tuple[str, ...] = ()  # values no error or log line of the session may show
    # the selection it will be synced with (SyncOptions.resources; () = all): one top-level
    # resource without children runs in dlt's main loop (`_runs_alone`)
    resources: tuple[str, ...] = ()


def _runtime() -> Any:
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.specs import RuntimeConfiguration

    return resolve_configuration(RuntimeConfiguration())


def default_retry_policy(runtime: Any = None) -> RetryPolicy:
    """dlt's own retry settings (`RUNTIME__REQUEST_*`) for endpoints without an error_handler."""
    runtime = runtime or _runtime()
    return RetryPolicy(
        statuses=frozenset({429, *range(500, 600)}),
        max_retries=max(0, int(runtime.request_max_attempts) - 1),
        backoff_factor=float(runtime.request_backoff_factor),
    )


def build_source(config: Mapping[str, Any], options: SourceOptions | None = None) -> DltSource:
    """The dlt source for a seed-format config, with restsync's retries on every request."""
    options = options or SourceOptions()
    translation = translate(config)
    _check_base_url(translation.config["client"].get("base_url"), options.secrets)
    session = make_session(translation, options)
    dlt_config = dict(translation.config)
    dlt_config["client"] = {**dlt_config["client"], "session": session}
    dlt_config["resources"] = [_compiled_selector(r) for r in dlt_config["resources"]]
    if options.concurrency > 1:
        ahead = options.concurrency - 1
        dlt_config["resources"] = [
            _fan_out(_windowed(r, session, ahead, child=True))
            if _is_child(r)
            else _windowed(r, session, ahead, child=False)
            for r in dlt_config["resources"]
        ]
    try:
        source = rest_api_source(dlt_config, name=options.name)  # type: ignore[arg-type]
    except (DltException, ValueError, TypeError) as exc:
        raise ConfigError(f"dlt rejected the config: {_dlt_reason(exc)}") from exc
    side_by_side = options.concurrency > 1 and not _runs_alone(source, options.resources)
    written = _parallelized_as_written(dlt_config)
    for name in _top_level_to_run(source, ()):
        if options.parallelized or written.get(name, side_by_side):
            with suppress(InvalidParallelResourceDataType):  # skipped, as dlt's source does
                source.resources[name].parallelize()
    if options.concurrency > 1:
        stream_children(source)
    return source


def _check_base_url(base_url: Any, secrets: tuple[str, ...]) -> None:
    """A base URL without http(s):// would fail on every request, as requests' InvalidSchema."""
    if not isinstance(base_url, str) or base_url.lower().startswith(("http://", "https://")):
        return
    shown = redact(base_url, secrets)
    scheme = base_url.partition("://")[0] if "://" in base_url else None
    problem = f"its scheme {scheme!r} is not http or https" if scheme else "it has no scheme"
    raise ConfigError(
        f"base_url {shown!r}: {problem}; write e.g. 'https://{shown.partition('://')[2] or shown}'",
        key="client.base_url",
    )


def _top_level_to_run(source: DltSource, selected: Collection[str]) -> list[str]:
    """The top-level resources a run of `selected` (all if empty) extracts: the selected ones
    and the parents of selected children."""
    roots: dict[str, None] = {}
    for name in _to_run(source, selected):
        pipe = source.resources[name]._pipe  # dlt's pipe: a transformer's parent, if any
        while pipe.parent is not None:
            pipe = pipe.parent
        roots[pipe.name] = None
    return list(roots)


def _runs_alone(source: DltSource, selected: Collection[str]) -> bool:
    """True if a run of `selected` (all if empty) extracts one top-level resource and no child.

    Top-level resources otherwise run in dlt's extract pool (`parallelized`): side by side, and
    a parent's next page is fetched there while dlt's main loop hands its items to the
    children. A resource alone runs in dlt's main loop, as dlt runs a resource by default: its
    pages are fetched ahead by restsync's session anyway, and handing each page through dlt's
    pool cost about a tenth of a big collection's time here (`benchmarks/bench.py volume20`).
    """
    names = _to_run(source, selected)
    children = any(source.resources[name]._pipe.parent is not None for name in names)
    return not children and len(_top_level_to_run(source, names)) == 1


def _to_run(source: DltSource, selected: Collection[str]) -> list[str]:
    return [name for name in selected if name in source.resources] or list(source.resources)


def _parallelized_as_written(config: Mapping[str, Any]) -> dict[str, bool]:
    """`parallelized` as the config sets it per resource, itself or in resource_defaults.

    dlt 1.31's rest_api passes a top-level resource's `parallelized: true` to `dlt.resource`,
    whose wrapper is lost when rest_api binds the resource's arguments: it would run in dlt's
    main loop. restsync parallelizes it after binding, as dlt's source-wide flag does.
    """
    defaults = config.get("resource_defaults")
    default = defaults.get("parallelized") if isinstance(defaults, Mapping) else None
    written: dict[str, bool] = {}
    for resource in config.get("resources") or ():
        if isinstance(resource, Mapping) and resource.get("parallelized", default) is not None:
            written[str(resource.get("name"))] = bool(resource.get("parallelized", default))
        elif isinstance(resource, str) and default is not None:
            written[resource] = bool(default)
    return written


def _dlt_reason(exc: BaseException) -> str:
    """dlt's validation error, the most specific of its alternatives only: its full text lists
    every type each level could have had, values and restsync's internals included."""
    if not isinstance(exc, DictValidationException):
        return str(exc)
    leaves, stack = [], [exc]
    while stack:
        current = stack.pop()
        nested = current.nested_exceptions or []
        stack.extend(nested)
        if not nested:
            leaves.append(current)
    deepest = max(leaves, key=lambda e: len(str(e.path or "")))
    return f"at `{str(deepest.path).lstrip('./') or '.'}`: {deepest.msg}"


def sessions_of(source: DltSource) -> list[RetryingSession]:
    """The restsync sessions `source`'s resources send through (none for other sources)."""
    sessions: dict[int, RetryingSession] = {}
    for resource in source.resources.values():
        client = resource.explicit_args.get("client") if resource.args_bound else None
        session = getattr(client, "session", None)
        if isinstance(session, RetryingSession):
            sessions[id(session)] = session
    return list(sessions.values())


def close_sessions(source: DltSource) -> int:
    """Close the HTTP sessions of `source`'s resources when a sync ends, however it ended: pages
    still queued to be sent ahead are dropped rather than sent before the process can exit (the
    sessions reopen their connections if the source is run again). The number closed."""
    sessions = sessions_of(source)
    for session in sessions:
        session.close()
    return len(sessions)


def _fan_out(resource: dict[str, Any]) -> dict[str, Any]:
    """Children fetch their parents' pages concurrently (dlt's `parallelized` transformers)."""
    if "parallelized" in resource:
        return resource
    return {**resource, "parallelized": True}


def _windowed(
    resource: dict[str, Any], session: RetryingSession, ahead: int, *, child: bool
) -> dict[str, Any]:
    """An offset/page-number collection fetches pages ahead; a top-level time cursor reads time
    ranges side by side.

    Children are concurrent across parents already, but one parent with a long collection
    would still be read a page at a time: each parent's copy of the window opens only after
    `CHILD_OPENS_AFTER` full pages, so the usual child, read in one to three requests, costs no
    extra one.
    """
    endpoint = resource.get("endpoint")
    if not isinstance(endpoint, Mapping):
        return resource
    paginator: Any = endpoint.get("paginator")
    if numbered(paginator) is not None:
        opens_after = CHILD_OPENS_AFTER if child else OPENS_AFTER
        window: BasePaginator = PageWindow(paginator, ahead, session, opens_after=opens_after)
    elif time_cursor(paginator) is not None and not child:
        window = TimeSlices(paginator, ahead + 1, session)
    else:
        return resource
    return {**resource, "endpoint": {**endpoint, "paginator": window}}


def _compiled_selector(resource: dict[str, Any]) -> dict[str, Any]:
    """The data selector parsed once: dlt parses a string selector on every page (~1 ms)."""
    endpoint = resource.get("endpoint")
    if not isinstance(endpoint, Mapping) or not isinstance(endpoint.get("data_selector"), str):
        return resource
    selector = jsonpath.compile_path(endpoint["data_selector"])
    return {**resource, "endpoint": {**endpoint, "data_selector": selector}}


def _is_child(resource: Mapping[str, Any]) -> bool:
    """A resource whose requests are filled from a parent's items: a `resolve` param, or
    `{resources.<parent>.<field>}` in its path, params, headers or body (dlt reads all four)."""
    endpoint = resource.get("endpoint") or {}
    params = endpoint.get("params") or {}
    resolved = any(isinstance(v, Mapping) and v.get("type") == "resolve" for v in params.values())
    templated = (endpoint.get(key) for key in ("path", "params", "headers", "json", "data"))
    return resolved or any(PARENT_REFERENCE in str(value) for value in templated if value)


def make_session(translation: Translation, options: SourceOptions) -> RetryingSession:
    """One session per source, carrying every endpoint's retry policy.

    No wait exceeds the smallest of restsync's cap, `options.max_retry_delay` and dlt's
    `RUNTIME__REQUEST_MAX_RETRY_DELAY`, whether it comes from backoff or from Retry-After.
    """
    runtime = _runtime()
    caps = [float(runtime.request_max_retry_delay)]
    if options.max_retry_delay is not None:
        caps.append(options.max_retry_delay)
    cap = min(caps)
    default = _capped(translation.default_policy or default_retry_policy(runtime), cap)
    policies = {name: _capped(p, cap) for name, p in translation.policies.items()}
    timeout = options.timeout
    if timeout is None:
        timeout = float(runtime.request_timeout or DEFAULT_TIMEOUT)
    return RetryingSession(
        policies,
        default,
        timeout=timeout,
        rate_limit=options.rate_limit,
        pool_size=options.concurrency,
        secrets=options.secrets,
    )


def _capped(policy: RetryPolicy, cap: float) -> RetryPolicy:
    return replace(policy, max_delay=min(policy.max_delay, cap))
