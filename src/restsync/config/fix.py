"""Apply the lint fixes that are certain, and write the corrected config beside the original.

Certain means one answer: a `//` comment goes; a placeholder with exactly one fitting parent gets
its `resolve` param; a child of two ancestors gets `include_from_parent` on the middle resource; a
placeholder that is a user setting is read from `dlt.config`. Everything else (a key the API
really uses, which version segment is right, ...) stays a finding for a human.

The corrected config is written in the original's format: YAML, JSON, or Python as
`rest_api_source({...})` with `dlt.secrets[...]` references kept; never over the original, but
beside it as `<stem>.fixed<suffix>` (a seed document's becomes `<stem>.fixed.py`).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from restsync.config.lint import Edit, Finding, Severity, lint
from restsync.config.lint_rules import APPEND
from restsync.config.loader import (
    DEFAULT_SOURCE_NAME,
    DOCUMENT_SUFFIXES,
    FIXED_MARK,
    JSON,
    PYTHON,
    YAML,
    LoadedConfig,
    Reference,
)
from restsync.errors import ConfigError

__all__ = [
    "FixResult",
    "apply_edits",
    "fix",
    "fixed_path",
    "left_to_a_human",
    "render",
    "write_fixed",
]

MAX_PASSES = 3  # a fix may make another certain (a parent found once its own parent is set)
PY_INDENT = 4
JSON_INDENT = 2
PYTHON_SUFFIX = ".py"
ENDPOINT = "endpoint"
COMMENT_RULE = "RS001"
PY_HEADER = "import dlt\nfrom dlt.sources.rest_api import rest_api_source\n"
HEADER = "Corrected by restsync's config fix; run the linter for what is left to decide."


@dataclass(frozen=True)
class FixResult:
    """The corrected config, the findings fixed, and those left for a human (errors, warnings)."""

    original: LoadedConfig
    fixed: LoadedConfig
    applied: tuple[Finding, ...]
    unfixed: tuple[Finding, ...]

    @property
    def config(self) -> Any:
        """The corrected config (references unresolved)."""
        return self.fixed.config


def fix(loaded: LoadedConfig | Mapping[str, Any], *, source_name: str | None = None) -> FixResult:
    """Apply every certain fix, so a seed needs only its secrets and settings to run."""
    if not isinstance(loaded, LoadedConfig):
        loaded = LoadedConfig(loaded, source_name or DEFAULT_SOURCE_NAME, PYTHON)
    name = source_name or loaded.source_name
    findings = lint(loaded, source_name=name)
    attempted = [f for f in findings if f.rule == COMMENT_RULE]  # rendering drops comments
    config = copy.deepcopy(loaded.config)
    for _ in range(MAX_PASSES):
        changed = False
        for item in findings:
            updated = apply_edits(config, item.edits) if item.edits else None
            if updated is not None:
                attempted.append(item)
                changed, config = changed or updated != config, updated
        if not changed:
            break
        findings = lint(config, source_name=name)
    fixed = replace(loaded, config=config, js_comments=(), lines={})
    left = lint(fixed, source_name=name)
    still = {(f.rule, f.path, f.message) for f in left}
    applied = [f for f in attempted if (f.rule, f.path, f.message) not in still]
    return FixResult(loaded, fixed, tuple(dict.fromkeys(applied)), tuple(left_to_a_human(left)))


def left_to_a_human(findings: Iterable[Finding]) -> list[Finding]:
    """The findings a fix leaves for a person to act on: notes (INFO) ask nothing."""
    return [f for f in findings if f.severity != Severity.INFO]


def apply_edits(config: Any, edits: tuple[Edit, ...]) -> dict[str, Any] | None:
    """A copy of the config with all the edits made, or None if any cannot be made."""
    if not isinstance(config, dict):
        return None
    result = copy.deepcopy(config)
    for edit in edits:
        parent: Any = result
        for key, following in zip(edit.path[:-1], edit.path[1:], strict=True):
            parent = _step(parent, key, want_list=isinstance(following, int))
            if parent is None:
                return None
        last = edit.path[-1]
        if not isinstance(parent, dict):
            return None
        if edit.op == APPEND:
            items = parent.setdefault(last, [])
            if not isinstance(items, list):
                return None
            if edit.value not in items:
                items.append(edit.value)
        else:
            parent[last] = copy.deepcopy(edit.value)
    return result


def _step(parent: Any, key: str | int, *, want_list: bool) -> Any:
    """One step down a path, making the container dlt would make (an endpoint from a path)."""
    if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        if isinstance(parent[key], str):  # a resource given by its name
            parent[key] = {"name": parent[key], ENDPOINT: {"path": parent[key]}}
        value = parent[key]
    elif isinstance(parent, dict) and not isinstance(key, int):
        value = parent.get(key)
        if value is None:
            value = parent[key] = [] if want_list else {}
        elif key == ENDPOINT and isinstance(value, str):
            value = parent[key] = {"path": value}
    else:
        return None
    return value if isinstance(value, list if want_list else dict) else None


def render(loaded: LoadedConfig) -> str:
    """The config as text in its own format, references written as `dlt.secrets["name"]`."""
    try:
        if loaded.format == YAML:
            body = yaml.dump(
                loaded.config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
            )
            return f"# {HEADER}\n{body}"
        if loaded.format == JSON:
            text = json.dumps(_plain(loaded.config), indent=JSON_INDENT, ensure_ascii=False)
            return text + "\n"
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot write this config as {loaded.format}: {exc}") from exc
    name = f'    name="{loaded.source_name}",\n' if loaded.named_in_file else ""
    body = _python(loaded.config, PY_INDENT)
    return f"# {HEADER}\n{PY_HEADER}\nsource = rest_api_source(\n    {body},\n{name})\n"


def fixed_path(original: Path) -> Path:
    """Where the corrected config of `original` goes: beside it, `<stem>.fixed<suffix>`."""
    suffix = PYTHON_SUFFIX if original.suffix.lower() in DOCUMENT_SUFFIXES else original.suffix
    return original.with_name(f"{original.stem}{FIXED_MARK}{suffix}")


def write_fixed(result: FixResult, path: Path | None = None) -> Path:
    """Write the corrected config (beside the original by default), never over the original."""
    original = result.original.path
    if path is None:
        if original is None:
            raise ConfigError("the config was not read from a file: say where to write it")
        path = fixed_path(original)
    if original is not None and path.resolve() == original.resolve():
        raise ConfigError(f"refusing to overwrite the original config {original}")
    path.write_text(render(result.fixed), encoding="utf-8")
    return path


class _Dumper(yaml.SafeDumper):
    """YAML that writes references as `dlt.secrets["name"]`, the loader's text form."""


_Dumper.add_representer(Reference, lambda dumper, ref: dumper.represent_str(str(ref)))


def _plain(value: Any) -> Any:
    if isinstance(value, Reference):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _python(value: Any, indent: int) -> str:
    """A Python literal laid out like the seeds (one key a line, trailing commas)."""
    pad, close = " " * (indent + PY_INDENT), " " * indent
    if isinstance(value, Reference):
        return str(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = (
            f"{pad}{_python(k, 0)}: {_python(v, indent + PY_INDENT)}," for k, v in value.items()
        )
        return "{\n" + "\n".join(items) + f"\n{close}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        elements = (f"{pad}{_python(v, indent + PY_INDENT)}," for v in value)
        return "[\n" + "\n".join(elements) + f"\n{close}]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a Python literal too
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise ConfigError(f"cannot write a {type(value).__name__} ({value!r}) into a Python config")
