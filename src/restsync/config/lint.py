"""Static checks of a seed-format config: what dlt would reject or get wrong, and how to fix it.

`lint(config)` returns findings sorted by JSON path then rule, each with a stable rule ID (see
`RULES` and docs/lint-rules.md), a severity, a one-line message and a concrete fix; findings that
`fix` can apply for certain also carry `edits`. The checks live beside this module:

| module           | what                                                          |
|------------------|---------------------------------------------------------------|
| lint_rules.py    | the rule table `RULES`, `Finding`, `Edit`                     |
| lint_view.py     | a forgiving view of any config, so no check meets a bad type  |
| lint_keys.py     | keys, types, credentials, seed-dialect notes (RS1xx, RS7xx)   |
| lint_parents.py  | path placeholders and their parents (RS2xx)                   |
| lint_checks.py   | paginators, data selectors, primary keys, URLs (RS3xx-RS6xx)  |

RS001 (`//` comments) comes from the loader, which records them while reading a Python file;
RS002 from `lint_file`, for a file the loader cannot read (a syntax error, a non-literal).

Lint never raises on a malformed config: whatever the shape, the answer is findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from restsync.config.lint_checks import (
    check_data_selectors,
    check_keys,
    check_literal_secrets,
    check_paginators,
    check_path_values,
    check_urls,
)
from restsync.config.lint_keys import check_shape
from restsync.config.lint_parents import check_placeholders
from restsync.config.lint_rules import RULES, Edit, Finding, Rule, Severity, finding
from restsync.config.lint_view import ConfigView, build_view
from restsync.config.loader import (
    DEFAULT_SOURCE_NAME,
    ConfigSyntaxError,
    LoadedConfig,
    load_config,
)

__all__ = [
    "RULES",
    "Edit",
    "Finding",
    "Rule",
    "Severity",
    "lint",
    "lint_file",
    "path_key",
    "sort_findings",
]

Check = Callable[[ConfigView], Iterable[Finding]]
CHECKS: tuple[Check, ...] = (
    check_shape,
    check_placeholders,
    check_paginators,
    check_data_selectors,
    check_keys,
    check_urls,
    check_path_values,
    check_literal_secrets,
)
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def lint(
    config_or_loaded: LoadedConfig | Mapping[str, Any] | object, *, source_name: str | None = None
) -> list[Finding]:
    """Every finding for a config (or a loaded file), sorted by path then rule, never raising."""
    if isinstance(config_or_loaded, LoadedConfig):
        loaded = config_or_loaded
        config, lines = loaded.config, loaded.lines
        name = source_name or loaded.source_name
        found = [_js_comment(c.line, c.text, c.path) for c in loaded.js_comments]
    else:
        config, lines, found = config_or_loaded, {}, []
        name = source_name or DEFAULT_SOURCE_NAME
    if not isinstance(config, Mapping):
        found.append(
            finding(
                "RS103",
                "",
                f"a config must be a mapping, got {type(config).__name__}.",
                "write a mapping with `client` and `resources`.",
            )
        )
    else:
        view = build_view(config, name)
        for check in CHECKS:
            found.extend(_located(check(view), lines))
    return sort_findings(found)


def lint_file(path: str | Path, *, source_name: str | None = None) -> list[Finding]:
    """Findings for a config file; one that cannot be read is a finding too (RS002, its line)."""
    try:
        loaded = load_config(path, source_name=source_name)
    except ConfigSyntaxError as exc:
        unreadable = finding(
            "RS002",
            "",
            f"{exc.problem}.",
            "correct it at that line: configs are read, never run, so only literals count.",
        )
        return [replace(unreadable, line=exc.line)]
    return lint(loaded, source_name=source_name)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings without duplicates, in a stable order: JSON path (indexes numerically), rule."""
    unique = {(f.rule, f.path, f.message, f.line): f for f in findings}
    return sorted(unique.values(), key=lambda f: (path_key(f.path), f.rule, f.line or 0, f.message))


def path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """A sort key for a JSON path that orders `resources[2]` before `resources[10]`."""
    return tuple(
        (1, int(index), "") if index else (0, 0, key) for key, index in PATH_PART.findall(path)
    )


def _located(findings: Iterable[Finding], lines: Mapping[str, int]) -> Iterator[Finding]:
    for item in findings:
        line = _line(item.path, lines)
        yield replace(item, line=line) if line is not None and item.line is None else item


def _line(path: str, lines: Mapping[str, int]) -> int | None:
    """The line of the path, else of its nearest written ancestor."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _js_comment(line: int, text: str, path: str) -> Finding:
    found = finding(
        "RS001",
        path,
        f"`{text}` is a JavaScript comment: Python reads `//` as floor division, so the file"
        " is not valid Python (restsync skipped it to read the rest).",
        "delete it or make it a `#` comment (`restsync.config.fix` strips it).",
    )
    return replace(found, line=line)
