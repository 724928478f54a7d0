"""Run a source through a dlt pipeline and report what was loaded, or why nothing was."""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import dlt
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.common.exceptions import DltException
from dlt.common.schema.exceptions import UnboundColumnException
from dlt.common.typing import TRefreshMode
from dlt.destinations.exceptions import DestinationConnectionError
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.extract import DltResource, DltSource
from dlt.load.exceptions import (
    LoadClientJobException,
    LoadClientJobFailed,
    LoadClientJobTerminalRetry,
)
from requests.exceptions import HTTPError

from restsync.errors import ApiError, ConfigError, CredentialsError, RestsyncError, SyncError
from restsync.heap import frozen_heap
from restsync.history import StopAtKnown
from restsync.http.budget import RateLimit
from restsync.http.redact import redact
from restsync.http.window import wrapped
from restsync.source import (
    DEFAULT_CONCURRENCY,
    SourceOptions,
    build_source,
    close_sessions,
    sessions_of,
)
from restsync.targets import Target, load_target

__all__ = [
    "SyncOptions",
    "SyncResult",
    "connector_source",
    "rate_budget",
    "sync",
    "sync_connector",
    "target_source",
]

log = logging.getLogger("restsync.sync")

TERMINAL_JOB_FAILURES = (LoadClientJobFailed, LoadClientJobTerminalRetry)

NOTHING_LOADED = "Nothing was loaded by this run"
NOT_COMMITTED = (
    "this run's data and incremental state were not committed; the next run picks up from the"
    " last completed one"
)
FINISHED_KEPT = (
    "this run finished loading the run the last sync kept (loaded in part); as dlt does, it read"
    " nothing new: run again to sync"
)
ABORTED_IN_PART = (
    "It could not load the rest, so it was aborted and its incremental state rewound: the next"
    " run reads those records again, and tables loaded with append get their rows twice."
)
PARTLY_LOADED = (
    "Part of this run's tables were already loaded, so it was kept: dlt loads the rest at the"
    " start of the next run (which extracts nothing new; run once more after it); aborting it"
    " would have appended those rows twice."
)

DEFAULT_DESTINATION = "duckdb"
DEFAULT_BURST = 1
# per source, in dlt's config (`SOURCES__<NAME>__CONCURRENCY`, or `[sources.<name>]` in
# .dlt/config.toml): what the options leave unset
CONCURRENCY_SETTING, RATE_LIMIT_SETTING, BURST_SETTING = "concurrency", "rate_limit", "burst"
FAST_FILE_FORMAT = "jsonl"
EXTRACT_WORKERS_ENV = "EXTRACT__WORKERS"
EXTRACT_PARALLEL_ITEMS_ENV = "EXTRACT__MAX_PARALLEL_ITEMS"
DLT_PARALLEL_ITEMS = 20  # dlt's default room for tasks in the extract pool
EXTRACT_UNCOMPRESSED_ENV = "SOURCES__DATA_WRITER__DISABLE_COMPRESSION"  # extract: `sources`
NORMALIZE_UNCOMPRESSED_ENV = "NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION"


@dataclass(frozen=True)
class SyncOptions:
    """Where and how to load: destination by name (any dlt destination), dataset, selection."""

    destination: Any = DEFAULT_DESTINATION
    dataset_name: str | None = None
    pipeline_name: str | None = None
    resources: tuple[str, ...] = ()
    full_refresh: bool = False
    pipelines_dir: str | None = None
    concurrency: int | None = None  # requests in flight; None: the source's setting, else 16
    rate_limit: RateLimit | None = None  # the API host's budget; None: the source's, if any

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError(f"concurrency is {self.concurrency}: it must be at least 1")

    def http_settings(self, name: str) -> tuple[int, RateLimit | None]:
        """Concurrency and rate budget for source `name`: these options where set, else the
        source's own settings in dlt's config (so each connector or config file can have its
        own: `sources.<name>.concurrency`, `.rate_limit` in requests/s, `.burst`), else 16
        in flight and no budget but what the API announces."""
        concurrency = self.concurrency
        if concurrency is None:
            concurrency = _setting(name, CONCURRENCY_SETTING, int) or DEFAULT_CONCURRENCY
        rate_limit = self.rate_limit if self.rate_limit is not None else rate_budget(name)
        return concurrency, rate_limit

    def source_options(self, name: str) -> SourceOptions:
        """The source-side half of these options (HTTP concurrency and rate budget)."""
        concurrency, rate_limit = self.http_settings(name)
        return SourceOptions(
            name=name, concurrency=concurrency, rate_limit=rate_limit, resources=self.resources
        )


def rate_budget(
    source: str, rate: float | None = None, burst: int | None = None
) -> RateLimit | None:
    """The host budget of `source`: the rate and the burst each as given (the CLI's flags),
    else the source's settings; a burst of 1 unless set; None with no rate anywhere."""
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"the rate limit is {rate}: it must be above 0 requests/s")
    if rate is None:
        rate = _setting(source, RATE_LIMIT_SETTING, float)
    if rate is None:
        if burst is not None:
            raise ConfigError(
                f"a burst ({burst}) needs a rate: give --rate-limit, or set"
                f" sources.{source}.rate_limit (env {_env(source, RATE_LIMIT_SETTING)})"
            )
        return None
    if burst is None:
        burst = _setting(source, BURST_SETTING, int) or DEFAULT_BURST
    return RateLimit(rate, burst)


N = TypeVar("N", int, float)


def _setting(source: str, key: str, kind: type[N]) -> N | None:
    """A positive number from the source's section of dlt's config, or None if not set."""
    where = f"sources.{source}.{key} (env {_env(source, key)})"
    try:
        value = dlt.config.get(f"sources.{source}.{key}", kind)
    except ConfigValueCannotBeCoercedException as exc:
        raise ConfigError(f"{where} must be a number: {exc}") from None
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{where} is {value}: it must be above 0 (or left unset)")
    return kind(value)


def _env(source: str, key: str) -> str:
    return f"SOURCES__{source.upper()}__{key.upper()}"


@dataclass(frozen=True)
class SyncResult:
    """What one sync did: rows loaded this run and rows now in the destination, per table."""

    pipeline_name: str
    dataset_name: str
    destination: str
    loaded_rows: dict[str, int]
    table_rows: dict[str, int]
    seconds: float
    requests: int = 0
    retries: int = 0
    notes: tuple[str, ...] = field(default=())
    location: str = ""  # where the data is: DuckDB's file, a server without its password, ...


def connector_source(
    name: str,
    overrides: Mapping[str, str | None] | None = None,
    options: SourceOptions | None = None,
) -> tuple[DltSource, Target]:
    """A built-in connector's (or config file's) source, secrets read through dlt's config."""
    target = load_target(name, overrides or {})
    return target_source(target, options or SourceOptions(name=target.name)), target


def sync_connector(
    name: str, overrides: Mapping[str, str | None] | None, options: SyncOptions
) -> SyncResult:
    """Sync a built-in connector (or config file): resolve its config, run, summarize."""
    target = load_target(name, overrides or {})  # a file's settings are under its source name
    source = target_source(target, options.source_options(target.name))
    return sync(source, options, secrets=list(target.secrets), settings=target.settings)


def target_source(target: Target, options: SourceOptions) -> DltSource:
    """The source of a resolved target; a config dlt rejects is named without its secrets (and
    without dlt's error chained, which holds the values it was given)."""
    try:
        return build_source(target.config, replace(options, secrets=target.secrets))
    except ConfigError as exc:
        raise ConfigError(redact(str(exc), target.secrets)) from None


def sync(
    source: DltSource,
    options: SyncOptions,
    *,
    secrets: list[str] | None = None,
    settings: Mapping[str, str] | None = None,
) -> SyncResult:
    """Extract, normalize and load `source`; failures become one clear `RestsyncError` (which
    names a `settings` value that a URL the API does not know holds)."""
    if options.resources:
        unknown = sorted(set(options.resources) - set(source.resources))
        if unknown:
            raise ConfigError(
                f"unknown resource(s) {unknown}; this source has {sorted(source.resources)}"
            )
        check_selection(source, options.resources)
        source = source.with_resources(*options.resources)
    pipeline_name = options.pipeline_name or f"restsync_{source.name}"
    try:
        pipeline = dlt.pipeline(
            pipeline_name=pipeline_name,
            destination=options.destination,
            dataset_name=options.dataset_name or source.name,
            pipelines_dir=options.pipelines_dir,  # type: ignore[arg-type]
        )
    except DltException as exc:  # e.g. a destination name dlt does not know
        raise ConfigError(
            f"dlt cannot set up pipeline '{pipeline_name}' for destination"
            f" {options.destination!r}: {exc}"
        ) from None
    started = time.perf_counter()
    file_format = fast_file_format(pipeline)
    # dlt's extract pool as wide as the source's sessions (built with its own options)
    sessions = sessions_of(source)
    if sessions:
        concurrency = max(session.pool_size for session in sessions)
    else:
        concurrency, _ = options.http_settings(source.name)
    kept_before = pending_packages(pipeline)  # a run kept by the last sync: dlt loads it first
    try:
        with frozen_heap(), run_environment(run_settings(pipeline, concurrency)):
            if options.full_refresh:  # a selection starts over alone: its tables and state
                refresh: TRefreshMode = "drop_resources" if options.resources else "drop_sources"
                pipeline.run(source, refresh=refresh, loader_file_format=file_format)
            else:
                pipeline.run(source, loader_file_format=file_format)
    except BaseException as exc:
        causes = list(_causes(exc))
        interrupted = any(isinstance(c, KeyboardInterrupt) for c in causes)
        if not (interrupted or isinstance(exc, Exception)):
            raise  # SystemExit and kin: not a failed sync
        # a job the destination refused for good can never load; a package kept once already
        # and failing again is not retried for ever (it would block every later run)
        failed_for_good = any(isinstance(c, TERMINAL_JOB_FAILURES) for c in causes)
        job_failed = any(isinstance(c, LoadClientJobException) for c in causes)
        in_destination = loaded_tables(pipeline)
        # not a destination that is down (that keeps it): its jobs ran and failed again
        retried = job_failed and bool(set(kept_before) & set(pending_packages(pipeline)))
        kept = bool(in_destination) and not failed_for_good and not retried
        if kept:
            log.warning("this run was loaded in part; dlt loads the rest at the next run's start")
        else:
            abort_pending(pipeline, secrets or [])
        if interrupted:  # dlt wraps it; unwrap it
            raise KeyboardInterrupt(PARTLY_LOADED if kept else NOT_COMMITTED) from exc
        raise explain_failure(
            exc, source.name, secrets or [], loaded=in_destination, kept=kept, settings=settings
        ) from exc
    finally:
        close_sessions(source)
    seconds = time.perf_counter() - started
    normalize = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    loaded = dict(normalize.row_counts) if normalize else {}
    notes = (FINISHED_KEPT,) if kept_before else ()
    return SyncResult(
        pipeline_name=pipeline_name,
        dataset_name=pipeline.dataset_name,
        destination=pipeline.destination.destination_name,
        loaded_rows={t: n for t, n in loaded.items() if not t.startswith("_dlt")},
        table_rows=table_row_counts(pipeline),
        seconds=seconds,
        notes=notes,
        location=destination_location(pipeline),
    )


def check_selection(source: DltSource, selected: Collection[str]) -> None:
    """A resource that keeps state (an incremental cursor, or restsync's per-parent history)
    moves it on whenever it runs, selected or as a selected child's parent: run without all
    of its children, the records it passes are filtered out next time, so the children left
    out would never be read for them. Such a selection is an error, not a silent loss."""
    resources = source.resources
    children: dict[str, list[str]] = {name: [] for name in resources}
    for name, resource in resources.items():
        parent = resource._pipe.parent  # dlt's pipe: the transformer's parent, if any
        if parent is not None and parent.name in children:
            children[parent.name].append(name)
    chosen = set(selected)
    for name, resource in resources.items():
        if not _keeps_state(resource):
            continue
        family, stack = {name}, list(children[name])
        while stack:
            child = stack.pop()
            family.add(child)
            stack.extend(children[child])
        running = chosen & family
        if running and not family <= chosen:
            missing = sorted(family - chosen)
            whole = ",".join(sorted(chosen | family))
            raise ConfigError(
                f"--resources {','.join(sorted(chosen))} runs '{name}', whose incremental state"
                f" moves on with every run: {missing} would never be read for the records it"
                f" passes. Select them too (--resources {whole}), or leave --resources out"
            )


def _keeps_state(resource: DltResource) -> bool:
    """An incremental cursor (dlt's), or a per-parent history (restsync's)."""
    args = resource.explicit_args if resource.args_bound else {}
    return (
        args.get("incremental_object") is not None
        or wrapped(args.get("paginator"), StopAtKnown) is not None
    )


def pending_packages(pipeline: dlt.Pipeline) -> list[str]:
    """The load ids of packages extracted or normalized and not loaded yet."""
    try:
        return [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]
    except Exception:  # no package storage yet
        return []


def loaded_tables(pipeline: dlt.Pipeline) -> list[str]:
    """Data tables of pending packages already in the destination (their load job done)."""
    tables: set[str] = set()
    try:
        for load_id in pipeline.list_normalized_load_packages():
            jobs = pipeline.get_load_package_info(load_id).jobs.get("completed_jobs", [])
            tables.update(job.job_file_info.table_name for job in jobs)
    except Exception:  # no package storage yet (a failure before any extract)
        return []
    return sorted(t for t in tables if not t.startswith("_dlt"))


def abort_pending(pipeline: dlt.Pipeline, secrets: Sequence[str] = ()) -> None:
    """Nothing of a failed or interrupted run is committed: dlt would load its extracted
    packages at the start of the next run (and a package that cannot load, e.g. rows without
    their key, would fail every run after it), so they are aborted and the pipeline's state and
    schemas go back to where the run started (dlt's `abort_packages`)."""
    try:
        pipeline.abort_packages()
    except Exception as exc:  # e.g. the destination is down: dlt finishes the abort next run
        log.warning("could not abort this run's pending packages: %s", redact(str(exc), secrets))


def fast_file_format(pipeline: dlt.Pipeline) -> Any:
    """jsonl where the destination loads it (DuckDB: ~40x faster than dlt's default
    insert_values for 50,000 rows, measured here), else the destination's own preference."""
    destination = pipeline.destination
    if destination is None:
        return None
    caps = destination.capabilities()
    return FAST_FILE_FORMAT if FAST_FILE_FORMAT in caps.supported_loader_file_formats else None


def run_settings(pipeline: dlt.Pipeline, concurrency: int) -> dict[str, str]:
    """dlt settings for this run, as the environment variables dlt reads them from.

    - EXTRACT__WORKERS: the extract pool that fans children out (dlt's default is 5), and room
      for that many tasks in it (EXTRACT__MAX_PARALLEL_ITEMS, dlt's default 20).
    - Intermediate files uncompressed: gzip took ~0.6 s of a 2.5 s extract of 50,000 rows here;
      files that only this machine reads gain nothing from it. Kept for the filesystem
      destination (its files are the output) and for staging (files travel to a bucket).
    """
    settings = {
        EXTRACT_WORKERS_ENV: str(concurrency),
        EXTRACT_PARALLEL_ITEMS_ENV: str(max(DLT_PARALLEL_ITEMS, concurrency)),
        EXTRACT_UNCOMPRESSED_ENV: "true",
    }
    destination = pipeline.destination
    local = destination is not None and destination.destination_name != "filesystem"
    if local and pipeline.staging is None:
        settings[NORMALIZE_UNCOMPRESSED_ENV] = "true"
    return settings


@contextmanager
def run_environment(settings: Mapping[str, str]) -> Iterator[None]:
    """Set dlt settings for the run; the user's own variables win, except the worker count
    (`--concurrency` decides it)."""
    previous = {name: os.environ.get(name) for name in settings}
    for name, value in settings.items():
        if previous[name] is None or name == EXTRACT_WORKERS_ENV:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, before in previous.items():
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before


def destination_location(pipeline: dlt.Pipeline) -> str:
    """Where the loaded data is, so nobody hunts for it: DuckDB's file (dlt keeps it where the
    pipeline first ran), a bucket, or a server's URL with its password hidden; "" if unknown."""
    try:
        config = pipeline.destination_client().config
    except Exception:  # only shown to the user: never fail a finished sync for it
        return ""
    credentials = getattr(config, "credentials", None)
    database = getattr(credentials, "database", None)
    if isinstance(credentials, DuckDbCredentials) and isinstance(database, str):
        return database
    bucket = getattr(config, "bucket_url", None)
    if isinstance(bucket, str):
        return _without_secrets(bucket)
    if isinstance(credentials, ConnectionStringCredentials):
        return redact(str(credentials))  # dlt's form hides the password; redact the user too
    return ""


def _without_secrets(url: str) -> str:
    """A bucket URL without user, password or query. A password may hold `@` or `/`, so all up
    to the last `@` goes (for abfss' `container@account` too: safe beats complete)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # a local folder
    rest = rest.rpartition("@")[2].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{rest}"


def table_row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per data table in the destination, or {} where it cannot be queried with SQL."""
    tables = pipeline.default_schema.data_table_names()
    counts: dict[str, int] = {}
    try:
        with pipeline.sql_client() as client:
            for table in tables:
                name = client.make_qualified_table_name(table)
                rows = client.execute_sql(f"SELECT COUNT(*) FROM {name}")
                counts[table] = int(rows[0][0]) if rows else 0
    except Exception:  # a destination without SQL access (e.g. filesystem): no counts
        return {}
    return counts


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (dlt's `.exception`, `__cause__`, `__context__`)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "exception", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                stack.append(inner)


def explain_failure(
    exc: BaseException,
    source: str,
    secrets: list[str],
    *,
    loaded: Sequence[str] = (),
    kept: bool = False,
    settings: Mapping[str, str] | None = None,
) -> RestsyncError:
    """One paragraph: which step and resource failed, the URL without secrets, what to do;
    and, for a run whose `loaded` tables were in the destination already, whether it was `kept`
    for dlt to finish or aborted. A URL the API does not know names the `settings` it holds."""
    nothing = (
        f"Part of this run was loaded (tables {', '.join(loaded)})" if loaded else NOTHING_LOADED
    )
    causes = list(_causes(exc))
    step = next((str(c.step) for c in causes if hasattr(c, "step")), None)
    names = (getattr(c, a, None) for c in causes for a in ("resource_name", "pipe_name"))
    resource = next((str(n) for n in names if n), None)
    root = _most_specific(causes)
    if isinstance(root, UnboundColumnException):
        resource = resource or root.table_name
    where = f"Sync of '{source}' failed" + (f" in {step}" if step else "")
    where += f", resource '{resource}'" if resource else ""
    if isinstance(root, CredentialsError):
        what = f"{root}. {nothing}."
    elif isinstance(root, ApiError):
        what = f"{root}. {nothing}; what earlier runs loaded is untouched."
    elif isinstance(root, HTTPError) and root.response is not None:
        response = root.response
        if response.status_code in (404, 405, 410):
            held = _settings_in_path(str(response.url), settings or {})
            advice = (
                f"The API has no such endpoint: check {held}base_url and the endpoint's path"
                " (`restsync check` probes each resource)."
            )
        elif 400 <= response.status_code < 500:
            advice = (
                "The API refused the request as sent: check the endpoint's params and the"
                " paginator's (`restsync check` shows the first page of each resource)."
            )
        else:
            advice = "Retry later, or add the status to the endpoint's error_handler."
        what = (
            f"the API answered {response.status_code} {response.reason} for"
            f" {redact(str(response.url), secrets)}, a status the endpoint's retry policy does"
            f" not retry. {nothing}; what earlier runs loaded is untouched. {advice}"
        )
    elif isinstance(root, RestsyncError):
        what = str(root)
    elif "Ambiguous reference to catalog or schema" in str(root):
        what = (
            f"{root}. DuckDB cannot tell the database file from the dataset when both have the"
            " same name: name the file differently (e.g. DESTINATION__DUCKDB__CREDENTIALS="
            "my_data.duckdb) or pass --dataset."
        )
    elif (null_key := _null_key(causes)) is not None:
        table, column = null_key
        what = (
            f"table '{table}' got a row with no value for {column}, which the config marks as a"
            " key or non-nullable: some records lack that field or have it null. Set the"
            " resource's primary_key to a field every record carries (`restsync check` lists"
            f" them). {nothing}, and its extracted data was dropped."
        )
    elif isinstance(root, UnboundColumnException):
        columns = ", ".join(str(c.get("name")) for c in root.columns)
        what = (
            f"table '{root.table_name}' got no value for {columns}, which the config marks as a"
            " key or non-nullable: its records do not have that field. Set the resource's"
            f" primary_key to a field its records carry (`restsync check` lists them). {nothing},"
            " and its extracted data was dropped."
        )
    elif (refused := _first(causes, DestinationConnectionError)) is not None:
        what = f"dlt could not open the destination: {str(root).strip()}. {nothing}. "
        what += _destination_advice(refused, root)
    elif isinstance(root, ConfigFieldMissingException):
        what = (
            f"a setting is missing: {root}. Set it as an environment variable or in"
            " .dlt/secrets.toml (see dlt's credentials docs)."
        )
    else:
        what = (
            f"{type(root).__name__}: {root}. This is unexpected: rerun with --debug and report"
            " it with the trace."
        )
    what = what.removeprefix(f"resource '{resource}': ")  # said once, in `where`
    if loaded:
        if nothing not in what:
            what += f" {nothing}."
        what += f" {PARTLY_LOADED if kept else ABORTED_IN_PART}"
    message = redact(f"{where}: {what}", secrets)
    error: RestsyncError
    if isinstance(root, CredentialsError):
        error = CredentialsError(message, status=root.status, url=root.url)
    else:
        error = SyncError(message, step=step, resource=resource)
    return error


def _settings_in_path(url: str, settings: Mapping[str, str]) -> str:
    """Each setting whose value is a segment of the URL's path, as "the `workspace` setting
    ('acme'), ": a wrong one is the likeliest cause of a 404. Empty if none is."""
    segments = {unquote(part) for part in urlsplit(url).path.split("/") if part}
    held = (f"the `{k}` setting ('{v}'), " for k, v in settings.items() if v and v in segments)
    return "".join(held)


NULL_KEY_ERRORS = (  # (table, column) from dlt's normalizer and the destinations' own words
    re.compile(r"Cannot coerce NULL in table `(?P<t>[^`]+)` column `(?P<c>[^`]+)`"),
    re.compile(r"NOT NULL constraint failed: (?:\w+\.)?(?P<t>\w+)\.(?P<c>[\w$]+)"),
    re.compile(r'null value in column "(?P<c>[^"]+)" of relation "(?P<t>[^"]+)"'),
)


def _null_key(causes: list[BaseException]) -> tuple[str, str] | None:
    """The table and column a null reached that must not hold one, if that is what failed."""
    for cause in causes:
        for pattern in NULL_KEY_ERRORS:
            match = pattern.search(str(cause))
            if match:
                return match.group("t"), match.group("c")
    return None


def _first(causes: list[BaseException], kind: type[BaseException]) -> BaseException | None:
    return next((cause for cause in causes if isinstance(cause, kind)), None)


def _destination_advice(refused: BaseException, root: BaseException) -> str:
    """What to do when dlt could not connect to the destination."""
    client = str(getattr(refused, "client_type", ""))
    if "duckdb" in client.lower() and "No such file or directory" in str(root):
        return (
            "The DuckDB file's folder does not exist. Unless DESTINATION__DUCKDB__CREDENTIALS"
            " names a file by its absolute path, dlt keeps a pipeline's file in the folder where"
            " the pipeline first ran; if that folder is gone, name one (DESTINATION__DUCKDB__"
            "CREDENTIALS=/path/to/file.duckdb) and sync with --full-refresh: the pipeline's"
            " state still describes what the lost file held."
        )
    return (
        "Check its credentials (DESTINATION__<NAME>__CREDENTIALS, or [destination.<name>."
        "credentials] in .dlt/secrets.toml) and that it is up and reachable."
    )


def _most_specific(causes: list[BaseException]) -> BaseException:
    for kind in (RestsyncError, HTTPError, UnboundColumnException, ConfigFieldMissingException):
        for cause in causes:
            if isinstance(cause, kind):
                return cause
    return causes[-1]
