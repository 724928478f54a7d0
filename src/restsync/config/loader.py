"""Read a seed-format config file without running it: YAML, JSON, Python (`ast`), seed documents.

- YAML / JSON: the config mapping itself. A string written exactly `dlt.secrets["name"]` or
  `dlt.config["name"]` is a reference to a secret or setting, as in Python.
- Python: the dict literal passed to `rest_api_source({...})` (or a top-level `name = {...}`); only
  literals are read, plus `dlt.secrets["name"]` / `dlt.config["name"]` (and `.value`) references.
  JavaScript-style `//` comments (seed 001 has one) are recorded with their line and skipped, so
  lint can report them and `fix` can drop them; any other syntax error is a `ConfigSyntaxError`.
- A seed document (`.md`, `.txt`): the first fenced python block, read as Python; lines are the
  document's.

References stay `Reference` objects until `resolve` looks them up in dlt's config system
(`SOURCES__<SOURCE>__<NAME>` env vars, `.dlt/secrets.toml`, `.dlt/config.toml`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import dlt
import yaml

from restsync.config.pyscan import parse_python
from restsync.errors import ConfigError, ConfigSyntaxError

__all__ = [
    "ConfigSyntaxError",
    "JsComment",
    "LoadedConfig",
    "Reference",
    "join_path",
    "load_config",
    "load_text",
    "references",
    "resolve",
    "source_name_for",
]

Format = Literal["yaml", "json", "python"]
Provider = Literal["secrets", "config"]
YAML: Format = "yaml"
JSON: Format = "json"
PYTHON: Format = "python"
SECRETS: Provider = "secrets"
SETTINGS: Provider = "config"
SUFFIX_FORMATS: dict[str, Format] = {".yaml": YAML, ".yml": YAML, ".json": JSON, ".py": PYTHON}
DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
FIXED_MARK = ".fixed"  # `fix` writes `<stem>.fixed<suffix>`; its source name stays `<stem>`'s
DEFAULT_SOURCE_NAME = "rest_api"  # dlt's own default for rest_api_source
CALL_NAME = "rest_api_source"
CALL_NAMES = (CALL_NAME, "rest_api_resources")  # dlt's source, or its resources in a @dlt.source
NAME_PREFIX = "config_"  # before a file name that is not an identifier (`000_seed.py`)
CONFIG_KWARG = "config"
NAME_KWARG = "name"
VALUE_ATTR = "value"  # `dlt.secrets.value`: named after the key it is assigned to
CONFIG_KEYS = frozenset({"client", "resources"})
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
REFERENCE_TEXT = re.compile(r"""^dlt\.(secrets|config)\[\s*(["'])([^"']+)\2\s*\]$""")


@dataclass(frozen=True)
class Reference:
    """A secret or setting the config reads from dlt's config system, not yet resolved."""

    provider: Provider
    name: str

    def key(self, source_name: str) -> str:
        """The dlt config key it resolves from, e.g. `sources.commerce.username`."""
        return f"sources.{source_name}.{self.name}"

    def env_var(self, source_name: str) -> str:
        """The environment variable dlt reads it from."""
        return f"SOURCES__{source_name.upper()}__{self.name.upper()}"

    def __str__(self) -> str:
        return f'dlt.{self.provider}["{self.name}"]'


@dataclass(frozen=True)
class JsComment:
    """A JavaScript-style `//` comment in a Python config: where it is and what it holds."""

    line: int
    text: str
    path: str  # the innermost key or list holding it ("" when outside the config)


@dataclass(frozen=True)
class LoadedConfig:
    """A config as read from a file, with references unresolved and where each key was written."""

    config: Any
    source_name: str
    format: Format
    path: Path | None = None
    js_comments: tuple[JsComment, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)
    named_in_file: bool = False  # the Python call carried `name=`; `fix` keeps it


def join_path(parent: str, key: Any) -> str:
    """The JSON path of `key` under `parent`, e.g. `resources[1].endpoint.path`."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def load_config(path: str | Path, *, source_name: str | None = None) -> LoadedConfig:
    """Read a config file by its suffix, so lint and sync can run it without executing code."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigSyntaxError(
            f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.end]!r}): save the"
            " file as UTF-8",
            line=line,
            path=path,
        ) from None
    name = source_name or source_name_for(path)
    if suffix in DOCUMENT_SUFFIXES:
        match = FENCE.search(text)
        if match is None:
            raise ConfigSyntaxError("no ```python block in this document", line=None, path=path)
        first_line = text.count("\n", 0, match.start(1)) + 1
        return _load_python(match.group(1), name, path, first_line)
    if suffix not in SUFFIX_FORMATS:
        raise ConfigError(f"unknown config format '{suffix}' ({path}); use .yaml, .json or .py")
    return load_text(text, SUFFIX_FORMATS[suffix], source_name=name, path=path)


def load_text(
    text: str, fmt: Format, *, source_name: str = DEFAULT_SOURCE_NAME, path: Path | None = None
) -> LoadedConfig:
    """Read config text in a known format (files, tests, stdin alike)."""
    try:
        return _load_text(text, fmt, source_name, path)
    except RecursionError:
        raise ConfigSyntaxError(
            "the config nests too deep, or a YAML alias contains itself (`a: &a [*a]`): write"
            " the values out",
            line=None,
            path=path,
        ) from None


def _load_text(text: str, fmt: Format, source_name: str, path: Path | None) -> LoadedConfig:
    if fmt == PYTHON:
        return _load_python(text, source_name, path, 1)
    if fmt == YAML:
        try:
            data = yaml.safe_load(text)
            lines = _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader))
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise ConfigSyntaxError(f"invalid YAML: {exc.problem}", line=line, path=path) from exc
        except yaml.YAMLError as exc:
            raise ConfigSyntaxError(f"invalid YAML: {exc}", line=None, path=path) from exc
        return LoadedConfig(_text_references(data), source_name, YAML, path, lines=lines)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigSyntaxError(f"invalid JSON: {exc.msg}", line=exc.lineno, path=path) from exc
    return LoadedConfig(_text_references(data), source_name, JSON, path, lines=_json_lines(text))


def _json_lines(text: str) -> dict[str, int]:
    """Each key's line in a JSON file, read as the YAML it also is (none where YAML differs)."""
    try:
        return _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return {}


def source_name_for(path: Path) -> str:
    """A file's default source name: its stem (less `.fixed`), as a dlt config section name."""
    stem = path.stem
    while stem.endswith(FIXED_MARK):
        stem = stem.removesuffix(FIXED_MARK)
    name = re.sub(r"\W", "_", stem) or DEFAULT_SOURCE_NAME
    return name if name.isidentifier() else f"{NAME_PREFIX}{name}"  # dlt's rule for a name


def references(config: Any, path: str = "") -> Iterator[tuple[str, Reference]]:
    """Every unresolved reference in a config, with its JSON path, in document order."""
    if isinstance(config, Reference):
        yield path, config
    elif isinstance(config, Mapping):
        for key, value in config.items():
            yield from references(value, join_path(path, key))
    elif isinstance(config, list):
        for index, value in enumerate(config):
            yield from references(value, join_path(path, index))


def resolve(
    loaded: LoadedConfig | Mapping[str, Any],
    source_name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The config with every reference replaced by its value, or one error naming all missing."""
    config = loaded.config if isinstance(loaded, LoadedConfig) else loaded
    if not isinstance(config, Mapping):
        raise ConfigError(f"a config must be a mapping, got {type(config).__name__}")
    default_name = loaded.source_name if isinstance(loaded, LoadedConfig) else DEFAULT_SOURCE_NAME
    source = source_name or default_name
    overrides = overrides or {}
    values: dict[Reference, Any] = {}
    missing: list[Reference] = []
    for ref in sorted({ref for _, ref in references(config)}, key=lambda r: (r.name, r.provider)):
        value = overrides.get(ref.name)
        if value is None:
            provider = dlt.secrets if ref.provider == SECRETS else dlt.config
            value = provider.get(ref.key(source))
        if value is None:
            missing.append(ref)
        else:
            values[ref] = value
    if missing:
        names = ", ".join(ref.name for ref in missing)
        hints = ", ".join(ref.env_var(source) for ref in missing)
        raise ConfigError(
            f"the config needs {names}: set {hints}, or add them under [sources.{source}] in"
            " .dlt/secrets.toml (settings may go in .dlt/config.toml)"
        )
    return dict(_substitute(config, values))


def _substitute(value: Any, values: Mapping[Reference, Any]) -> Any:
    if isinstance(value, Reference):
        return values[value]
    if isinstance(value, Mapping):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    return value


def _text_references(value: Any) -> Any:
    """Strings written `dlt.secrets["x"]` in YAML/JSON become references, as in Python."""
    if isinstance(value, str):
        match = REFERENCE_TEXT.match(value.strip())
        return Reference(match.group(1), match.group(3)) if match else value  # type: ignore[arg-type]
    if isinstance(value, dict):
        return {k: _text_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_references(v) for v in value]
    return value


def _yaml_lines(node: yaml.Node | None, path: str = "") -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = join_path(path, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            lines.update(_yaml_lines(value_node, child))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = join_path(path, index)
            lines[child] = item.start_mark.line + 1
            lines.update(_yaml_lines(item, child))
    return lines


# --- Python, read by ast -------------------------------------------------------------------------


def _load_python(text: str, source_name: str, path: Path | None, first_line: int) -> LoadedConfig:
    offset = first_line - 1
    tree, slashes = parse_python(text, path, offset)
    node, name = _config_node(tree, path, offset)
    reader = _LiteralReader(offset, path)
    config = reader.read(node, "")
    original = text.split("\n")
    comments = tuple(
        JsComment(
            s.line + offset,
            original[s.line - 1][s.column :].strip(),
            reader.enclosing(s.line, s.column),
        )
        for s in sorted(slashes, key=lambda s: s.line)
    )
    return LoadedConfig(
        config,
        name or source_name,
        PYTHON,
        path,
        js_comments=comments,
        lines=reader.lines,
        named_in_file=name is not None,
    )


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _config_node(tree: ast.Module, path: Path | None, offset: int) -> tuple[ast.expr, str | None]:
    """The config expression: `rest_api_source`'s argument, else a top-level dict literal."""
    assigned = _dict_assignments(tree)
    calls = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _callee(n.func) in CALL_NAMES),
        key=lambda n: (n.lineno, n.col_offset),
    )
    if calls:
        call = calls[0]
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        arg = call.args[0] if call.args else keywords.get(CONFIG_KWARG)
        if isinstance(arg, ast.Name):
            arg = _value_at(assigned, arg.id, call, tree) or arg
        if arg is None:
            raise ConfigSyntaxError(
                f"{_callee(call.func)}() has no config argument",
                line=call.lineno + offset,
                path=path,
            )
        name_node = keywords.get(NAME_KWARG)
        name = None
        if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str):
            name = name_node.value
        return arg, name
    dicts = [value for _, scope, _, value in assigned if scope is tree]
    dicts += [value for _, scope, _, value in assigned if scope is not tree]
    for node in dicts:
        if {k.value for k in node.keys if isinstance(k, ast.Constant)} & CONFIG_KEYS:
            return node, None
    if dicts:
        return dicts[0], None
    raise ConfigSyntaxError(
        f"no {CALL_NAME}({{...}}) call and no top-level dict literal", line=None, path=path
    )


Assignment = tuple[str, ast.AST, int, ast.Dict]  # name, scope (module or function), line, dict


def _dict_assignments(tree: ast.Module) -> list[Assignment]:
    """Every `name = {...}` and `name: T = {...}`, in the module, a function (a `@dlt.source`
    yielding its resources) or a class body, with the scope it is in, in source order."""
    found: list[Assignment] = []

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Assign | ast.AnnAssign) and isinstance(child.value, ast.Dict):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        found.append((target.id, scope, child.lineno, child.value))
            visit(child, child if isinstance(child, SCOPES) else scope)

    visit(tree, tree)
    return sorted(found, key=lambda a: a[2])


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _value_at(
    assigned: list[Assignment], name: str, call: ast.Call, tree: ast.Module
) -> ast.Dict | None:
    """The dict `name` holds where `call` reads it, as Python resolves it: the innermost
    enclosing function that assigns it (its last assignment before the call), else the
    module's (the last before the call; any, for a call in a function, which runs later).
    Class bodies are not enclosing scopes; `global name` sends a function to the module."""
    enclosing = [
        node
        for node in ast.walk(tree)
        if isinstance(node, SCOPES)
        and not isinstance(node, ast.ClassDef)
        and node.lineno <= call.lineno <= (node.end_lineno or node.lineno)
        and any(child is call for child in ast.walk(node))
    ]
    enclosing.sort(key=lambda node: node.lineno, reverse=True)  # innermost first
    for function in enclosing:
        declared = any(isinstance(n, ast.Global) and name in n.names for n in ast.walk(function))
        if declared:
            break
        own = [a for a in assigned if a[0] == name and a[1] is function]
        if own:
            before = [a for a in own if a[2] <= call.lineno]
            return before[-1][3] if before else None
    module = [a for a in assigned if a[0] == name and a[1] is tree]
    if enclosing:  # a function runs after the module has run to its end
        return module[-1][3] if module else None
    before = [a for a in module if a[2] <= call.lineno]
    return before[-1][3] if before else None


class _LiteralReader:
    """Evaluates literals and dlt references only, noting each key's line and each list's span."""

    def __init__(self, offset: int, path: Path | None) -> None:
        self.offset = offset
        self.path = path
        self.lines: dict[str, int] = {}
        self.spans: list[tuple[tuple[int, int], tuple[int, int], str]] = []

    def enclosing(self, line: int, column: int) -> str:
        """The innermost dict or list whose brackets hold a position of the read text."""
        at = (line, column)
        inside = [s for s in self.spans if s[0] < at < s[1]]
        return max(inside, key=lambda s: s[0])[2] if inside else ""

    def read(self, node: ast.expr, path: str, key: Any = None) -> Any:
        """The value of a literal expression; anything that would need running is an error."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Dict):
            self._span(node, path)
            out: dict[Any, Any] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                if not isinstance(key_node, ast.Constant):
                    self._fail(key_node or value_node, "a dict key must be a literal")
                child = join_path(path, key_node.value)
                self.lines[child] = key_node.lineno + self.offset
                out[key_node.value] = self.read(value_node, child, key_node.value)
            return out
        if isinstance(node, ast.List | ast.Tuple):
            self._span(node, path)
            items = []
            for index, item in enumerate(node.elts):
                child = join_path(path, index)
                self.lines[child] = item.lineno + self.offset
                items.append(self.read(item, child))
            return items
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.read(node.operand, path)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return -value if isinstance(node.op, ast.USub) else value
        reference = _reference(node, key)
        if reference is not None:
            return reference
        self._fail(node, "is not a literal")

    def _span(self, node: ast.expr, path: str) -> None:
        end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        self.spans.append(((node.lineno, node.col_offset), end, path))

    def _fail(self, node: ast.expr, problem: str) -> NoReturn:
        raise ConfigSyntaxError(
            f"`{ast.unparse(node)}` {problem}: a Python config is read without running it, so"
            ' only literals, dlt.secrets["name"] and dlt.config["name"] are allowed',
            line=node.lineno + self.offset,
            path=self.path,
        )


def _reference(node: ast.expr, key: Any) -> Reference | None:
    """`dlt.secrets["x"]`, `dlt.config["x"]`, or `dlt.secrets.value` (named after its key)."""
    target: ast.expr | None = None
    name: Any = None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        target, name = node.value, node.slice.value
    elif isinstance(node, ast.Attribute) and node.attr == VALUE_ATTR and isinstance(key, str):
        target, name = node.value, key
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "dlt"
        and target.attr in (SECRETS, SETTINGS)
        and isinstance(name, str)
    ):
        return Reference(target.attr, name)  # type: ignore[arg-type]
    return None
