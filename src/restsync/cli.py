"""The `restsync` command: thin; parses flags, calls the library, renders with rich."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import dlt
import typer
from dlt.common import logger as dlt_logger
from dlt.common.exceptions import DltException
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from restsync import connectors
from restsync.config.loader import load_config
from restsync.errors import CredentialsError, RestsyncError
from restsync.http.redact import redact
from restsync.render import render_findings, render_probes
from restsync.source import DEFAULT_CONCURRENCY
from restsync.sync import (
    NOT_COMMITTED,
    SyncOptions,
    SyncResult,
    rate_budget,
    sync_connector,
    target_source,
)
from restsync.sync import sync as run_sync
from restsync.targets import is_file, load_target, unresolved_config

app = typer.Typer(
    help="Sync REST APIs into a database from dlt REST API source configurations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

EXIT_FAILED = 1
EXIT_CREDENTIALS = 3
EXIT_INTERRUPTED = 130  # what shells report for SIGINT
DEMO_DATABASE = "restsync_demo.duckdb"
DEFAULT_DEMO_CONNECTOR = "feature_flags"

Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and dlt's logs.")]


def _fail(exc: BaseException, debug: bool, secrets: tuple[str, ...] = ()) -> typer.Exit:
    if debug:  # the chain as Python prints it, secrets masked
        trace = "".join(traceback.format_exception(exc))
        err.print(escape(redact(trace, secrets)), highlight=False, soft_wrap=True)
    message = escape(redact(str(exc), secrets))  # `[sources.x]` is text, not rich markup
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_CREDENTIALS if isinstance(exc, CredentialsError) else EXIT_FAILED)


def _interrupted(exc: KeyboardInterrupt) -> typer.Exit:
    err.print(f"interrupted: {escape(str(exc) or NOT_COMMITTED)}", highlight=False)
    return typer.Exit(EXIT_INTERRUPTED)


def _setup_logging(debug: bool) -> None:
    level = logging.DEBUG if debug else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not debug and dlt.config.get("runtime.log_level") is None:
        # dlt's own job tracebacks (the error message says what failed and why), unless the
        # user set dlt's level (env or .dlt/config.toml)
        os.environ["RUNTIME__LOG_LEVEL"] = "CRITICAL"
        if dlt_logger.LOGGER is not None:  # made by reading the config just now, at WARNING
            dlt_logger.LOGGER.setLevel(logging.CRITICAL)
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _MaskingRecords):
        logging.setLogRecordFactory(_MaskingRecords(factory))


class _MaskingRecords:
    """Every log record, of any logger (dlt's, urllib3's, restsync's), with the source's
    secrets and secret query parameters masked in its message and its traceback."""

    secrets: tuple[str, ...] = ()  # set once the target's secrets are known

    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make(*args, **kwargs)
        try:
            text = record.getMessage()
            safe = redact(text, _MaskingRecords.secrets)
            if safe != text:
                record.msg, record.args = safe, None
            if record.exc_info:
                trace = "".join(traceback.format_exception(*record.exc_info))
                record.exc_text = redact(trace, _MaskingRecords.secrets).rstrip("\n")
        except Exception:  # a malformed call: logging reports it when it formats, as ever
            pass
        return record


@app.command("list")
def list_connectors() -> None:
    """List the built-in connectors and their resources."""
    rows = []  # connector, resources, settings (one a line), about
    for name in connectors.available():
        connector = connectors.get_connector(name)
        settings = "\n".join((*connector.secrets, *connector.settings))
        rows.append((name, "\n".join(connector.resources()), settings, connector.description))
    table = Table(
        "connector",
        "resources",
        "settings",
        "about",
        caption="set each setting as SOURCES__<CONNECTOR>__<SETTING> or in .dlt/secrets.toml",
    )
    for index, column in enumerate(table.columns[:3]):  # names to type in full: never cut
        column.min_width = max(len(line) for row in rows for line in row[index].splitlines())
        column.no_wrap = True
    table.columns[3].ratio = 1
    for row in rows:
        table.add_row(*row)
    out.print(table)


Target = Annotated[
    str, typer.Argument(help="A built-in connector (see `restsync list`) or a config file.")
]


@app.command()
def sync(
    target: Target,
    base_url: Annotated[str | None, typer.Option(help="The API's base URL.")] = None,
    destination: Annotated[str, typer.Option(help="Any dlt destination by name.")] = "duckdb",
    dataset: Annotated[str | None, typer.Option(help="Dataset (schema) name.")] = None,
    resources: Annotated[str | None, typer.Option(help="Comma-separated resources.")] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            help="Drop this source's tables and state, start over (with --resources: only"
            " those resources').",
        ),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Requests in flight (1: one parent, one page at a time). Default: the"
            f" source's `concurrency` setting, else {DEFAULT_CONCURRENCY}.",
        ),
    ] = None,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            help="Requests per second to the API host, all workers. Default: the source's"
            " `rate_limit` setting, else what the API announces."
        ),
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Requests allowed at once, with a rate (the flag's or the source's). Default:"
            " the source's `burst` setting, else 1.",
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Sync a connector or a config file into a destination (DuckDB by default)."""
    _setup_logging(debug)
    secrets: tuple[str, ...] = ()
    try:
        loaded = load_target(target, {"base_url": base_url})
        secrets = _MaskingRecords.secrets = loaded.secrets
        options = SyncOptions(
            destination=destination,
            dataset_name=dataset,
            resources=tuple(r.strip() for r in (resources or "").split(",") if r.strip()),
            full_refresh=full_refresh,
            concurrency=concurrency,
            # each of rate and burst: the flag, else the source's setting
            rate_limit=rate_budget(loaded.name, rate_limit, burst),
        )
        source = target_source(loaded, options.source_options(loaded.name))
        result = run_sync(source, options, secrets=list(secrets), settings=loaded.settings)
    except RestsyncError as exc:
        raise _fail(exc, debug, secrets) from None
    except KeyboardInterrupt as exc:
        raise _interrupted(exc) from None
    _print_result(result)


@app.command()
def lint(
    target: Target,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    fix: Annotated[
        bool, typer.Option("--fix", help="Write the certain fixes beside the original.")
    ] = False,
) -> None:
    """Check a config (or a built-in connector) statically; exit 1 on any error."""
    from restsync.config.fix import fix as fix_config
    from restsync.config.fix import left_to_a_human, write_fixed
    from restsync.config.lint import Severity, lint_file
    from restsync.config.lint import lint as lint_config

    if output not in ("text", "json"):
        raise typer.BadParameter(f"{output!r}: use text or json", param_hint="--format")
    if fix and not is_file(target):
        err.print("note: --fix writes fixes beside a config file; a built-in connector has none")
    try:
        if is_file(target):
            findings = lint_file(target)
        else:
            name, config, _ = unresolved_config(target)
            findings = lint_config(config, source_name=name)
        written = None
        if fix and is_file(target) and findings:
            result = fix_config(load_config(target))
            written = write_fixed(result)
            # what is left for a human, with its lines in the file just written
            findings = left_to_a_human(lint_file(written))
    except RestsyncError as exc:
        raise _fail(exc, False) from None
    if output == "json":
        out.print_json(data={"findings": [_finding_json(f) for f in findings]})
    else:
        render_findings(out, findings, str(written or target) if is_file(target) else "")
    if written is not None:
        err.print(
            f"wrote {escape(str(written))} with the certain fixes; the findings above are left"
            " to you"
        )
    if any(f.severity == Severity.ERROR for f in findings):
        raise typer.Exit(EXIT_FAILED)


def _finding_json(finding: Any) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": str(finding.severity),
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
        "fix": finding.fix,
    }


@app.command()
def check(
    target: Target,
    base_url: Annotated[str | None, typer.Option(help="The API's base URL.")] = None,
) -> None:
    """Probe the API live: one page per resource, and what it held."""
    from restsync.check import check as probe_api

    _setup_logging(False)
    secrets: tuple[str, ...] = ()
    try:
        loaded = load_target(target, {"base_url": base_url})
        secrets = _MaskingRecords.secrets = loaded.secrets
        probes = probe_api(loaded.config, secrets, rate_budget(loaded.name))
    except RestsyncError as exc:
        raise _fail(exc, False, secrets) from None
    render_probes(out, probes)
    if not all(p.ok for p in probes):
        raise typer.Exit(EXIT_FAILED)


@app.command()
def emulate(
    connector: Annotated[str, typer.Argument(help="The API to emulate.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 0,
    scale: Annotated[int, typer.Option(help="Data volume multiplier.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Delay added to every request.")] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second before 429s.")
    ] = None,
    fail_rate: Annotated[float, typer.Option(help="Fraction of requests answered 5xx.")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="Fraction of connections cut.")] = 0.0,
    quota_headers: Annotated[
        bool, typer.Option(help="Announce the rate limit's quota (X-RateLimit-*) on answers.")
    ] = True,
) -> None:
    """Serve an emulated API on 127.0.0.1 until Ctrl-C."""
    from restsync.emulators import EmulatorOptions, Faults, serve

    try:
        faults = Faults(
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            fail_rate=fail_rate,
            drop_rate=drop_rate,
            quota_headers=quota_headers,
        )
        serve(connector, EmulatorOptions(scale=scale, seed=seed, faults=faults, port=port))
    except KeyboardInterrupt:
        err.print("emulator stopped")
    except (RestsyncError, KeyError, ValueError) as exc:
        raise _fail(exc, False) from None
    except OSError as exc:  # e.g. the port is taken
        message = f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}"
        raise _fail(OSError(message), False) from None


@app.command()
def demo(
    connector: Annotated[
        str, typer.Argument(help="The connector to demo.")
    ] = DEFAULT_DEMO_CONNECTOR,
    scale: Annotated[int, typer.Option(help="Data volume multiplier.")] = 1,
    debug: Debug = False,
) -> None:
    """Start the connector's emulator in-process and sync it into ./restsync_demo.duckdb."""
    import dlt

    from restsync.emulators import EmulatorOptions, run_emulator

    _setup_logging(debug)
    try:
        with run_emulator(connector, EmulatorOptions(scale=scale)) as emulator:
            err.print(f"emulator for [bold]{connector}[/] at {emulator.base_url}")
            options = SyncOptions(
                destination=dlt.destinations.duckdb(str(Path(DEMO_DATABASE).resolve())),
                pipeline_name=f"restsync_demo_{connector}",
                full_refresh=True,
            )
            overrides = {
                "base_url": emulator.base_url,
                **emulator.credentials,
                **emulator.settings,
            }
            result = sync_connector(connector, overrides, options)
    except RestsyncError as exc:
        raise _fail(exc, debug) from None
    _print_result(result)
    out.print(f"query it: duckdb {DEMO_DATABASE}, schema '{result.dataset_name}'")


def _print_result(result: SyncResult) -> None:
    table = Table(
        "table",
        "rows loaded this run",
        "rows in destination",
        title=f"{result.pipeline_name} -> {result.destination} dataset '{result.dataset_name}'",
    )
    for name in sorted(set(result.loaded_rows) | set(result.table_rows)):
        table.add_row(
            name, str(result.loaded_rows.get(name, 0)), str(result.table_rows.get(name, "?"))
        )
    out.print(table)
    if result.location:
        out.print(f"loaded into {escape(result.location)}", highlight=False, soft_wrap=True)
    for note in result.notes:
        err.print(f"note: {escape(note)}", highlight=False)
    out.print(f"done in {result.seconds:.1f}s")


def main() -> None:
    """Entry point of the `restsync` script."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except DltException as exc:  # dlt's own settings (e.g. RUNTIME__*) it cannot read
        message = escape(redact(str(exc), _MaskingRecords.secrets))
        err.print(f"[bold red]error:[/] dlt: {message}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_FAILED)
