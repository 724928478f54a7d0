"""How the CLI shows lint findings and probe results: rich tables, no logic."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from restsync.check import Probe
from restsync.config.lint import Finding

__all__ = ["render_findings", "render_probes"]

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render_findings(console: Console, findings: Iterable[Finding], source: str = "") -> None:
    """One finding per line, like a compiler: where, rule, severity, message; then the fix."""
    rows = list(findings)
    for f in rows:
        where = source + (f":{f.line}" if f.line is not None else "")
        style = SEVERITY_STYLE.get(str(f.severity), "")
        head = escape(f"{where} ") if where else ""  # the user's words are text, not markup
        path, message = escape(f.path or "(file)"), escape(f.message)
        console.print(
            f"{head}[bold]{f.rule}[/] [{style}]{f.severity}[/] {path}: {message}",
            highlight=False,
        )
        console.print(f"    fix: {escape(f.fix)}", highlight=False)
    counts = {s: sum(1 for f in rows if str(f.severity) == s) for s in SEVERITY_STYLE}
    summary = ", ".join(f"{n} {s}{'s' if n > 1 else ''}" for s, n in counts.items() if n)
    console.print(summary or "no findings")


def render_probes(console: Console, probes: Iterable[Probe]) -> None:
    """One row per resource: what its first page showed."""
    table = Table(
        "resource", "status", "records", "data selector", "primary key", "placeholders",
        "pagination", show_lines=True,
    )  # fmt: skip
    for p in probes:
        if p.selector_matched is False:
            selector = f"[red]{escape(repr(p.selector))} matched nothing[/]"
            selector += escape(f"; the list is at '{p.list_at}'") if p.list_at else ""
        else:
            selector = "matched" if p.selector_matched else escape(str(p.selector or "auto"))
        if p.key_missing:
            missing, fields = escape(", ".join(p.key_missing)), escape(", ".join(p.fields))
            key = f"[red]missing {missing}[/]; fields: {fields}"
        else:
            key = escape(", ".join(p.key)) + (" present" if p.first else "")
        filled = escape(", ".join(f"{k}={v}" for k, v in p.placeholders.items())) or "-"
        more = "" if p.more_pages is None else (", more pages" if p.more_pages else ", last page")
        pagination = escape(p.pagination + more)
        table.add_row(
            escape(p.resource), escape(p.status), str(p.records), selector, key, filled, pagination
        )
    console.print(table)
