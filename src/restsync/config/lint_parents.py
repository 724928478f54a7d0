"""Lint checks on path placeholders: what fills each one, and which parent should when nothing does.

A placeholder nothing fills is matched to a parent resource, in this order:
1. by path: the path before `/{placeholder}` is another resource's path (`/products/{x}/tags`
   -> the resource at `/products`; placeholder names do not matter: `/{a}/reports/{b}/runs`);
2. by name: a resource named after the placeholder's stem, singular or plural, or after the path
   segment before it (`{report_token}` -> `reports`, `{deployment}` -> `deployments`).
The field: the placeholder names it (`{product_id}` -> `id`, `{organizationId}` ->
`organizationId`) unless the parent declares a primary key among those candidates; a bare name
(`{project}`) takes the parent's primary key (its own, else resource_defaults', else `id`).
No parent at all: a user setting (`{workspace}`). Two parents: dlt resolves only from the
immediate one, so the other's field comes through `include_from_parent`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from restsync.config.dialect import placeholders
from restsync.config.lint_rules import APPEND, SET, Edit, Finding, finding
from restsync.config.lint_view import ConfigView, ResourceView, as_mapping, key_names
from restsync.config.loader import SETTINGS, Reference, join_path

__all__ = ["Parent", "check_placeholders", "infer_parent"]

RESOLVE = "resolve"
INLINE = "resources."
INCREMENTAL = "incremental."
DEFAULT_KEY = "id"
CAMEL_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
ANY_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Parent:
    """A parent resource and the field of its records that fills a placeholder."""

    resource: str
    field: str

    def param(self) -> dict[str, str]:
        """The `resolve` param that names this parent."""
        return {"type": RESOLVE, "resource": self.resource, "field": self.field}


@dataclass(frozen=True)
class _Placeholders:
    """A resource's placeholders: declared parents, unfilled ones and their candidate parents."""

    declared: dict[str, Parent]
    candidates: dict[str, tuple[ResourceView, ...]]


def check_placeholders(view: ConfigView) -> Iterator[Finding]:
    """Placeholders nothing fills, parents that do not exist, children with two parents."""
    for resource in view.resources:
        yield from _check_resource(view, resource)


def infer_parent(view: ConfigView, resource: ResourceView, name: str) -> Parent | None:
    """The one parent (resource and field) that fits placeholder `name`, or None."""
    candidates = _candidates(view, resource, name)
    if len(candidates) != 1:
        return None
    return Parent(candidates[0].name, _field(view, candidates[0], name))


def _check_resource(view: ConfigView, resource: ResourceView) -> Iterator[Finding]:
    at = join_path(resource.endpoint_at, "path")
    found = _read(view, resource)
    yield from _problems(view, resource, found, at)
    parents = dict(found.declared)
    for name, candidates in found.candidates.items():
        if len(candidates) == 1:
            parents[name] = Parent(candidates[0].name, _field(view, candidates[0], name))
    two = len({p.resource for p in parents.values()}) > 1
    if two:
        yield _two_ancestors(view, resource, parents, at)
    for name, candidates in found.candidates.items():
        if not candidates:
            yield _setting(view, name, at)
        elif len(candidates) > 1:
            listed = ", ".join(f"`{c.name}`" for c in candidates)
            yield finding(
                "RS201",
                at,
                f"path placeholder {{{name}}} has no parameter that fills it, and several"
                f" resources could be its parent: {listed}.",
                f"add `params.{name}: {{type: resolve, resource: <one of them>, field: <field>}}`.",
            )
        elif not two:
            parent = parents[name]
            path = ("resources", resource.index, "endpoint", "params", name)
            yield finding(
                "RS201",
                at,
                f"path placeholder {{{name}}} has no parameter that fills it; its parent is"
                f" `{parent.resource}`, field `{parent.field}`{_why(view, candidates[0], name)}.",
                f"add `params.{name}: {{type: resolve, resource: {parent.resource},"
                f" field: {parent.field}}}`.",
                (Edit(SET, path, parent.param()),),
            )


def _read(view: ConfigView, resource: ResourceView) -> _Placeholders:
    declared: dict[str, Parent] = {}
    candidates: dict[str, tuple[ResourceView, ...]] = {}
    for name in dict.fromkeys(placeholders(resource.url_path)):
        value = resource.params.get(name)
        if _inline(name):
            _, parent, field = name.split(".", 2)
            declared[name] = Parent(parent, field)
        elif isinstance(value, Mapping) and value.get("type") == RESOLVE:
            source, column = value.get("resource"), value.get("field")
            if isinstance(source, str) and isinstance(column, str):
                declared[name] = Parent(source, column)
        elif name not in resource.params and "." not in name:
            candidates[name] = _candidates(view, resource, name)
    return _Placeholders(declared, candidates)


def _problems(
    view: ConfigView, resource: ResourceView, found: _Placeholders, at: str
) -> Iterator[Finding]:
    """Placeholders and params dlt would reject outright."""
    names = set(placeholders(resource.url_path))
    for name in sorted(names):
        value = resource.params.get(name)
        if "." in name and not name.startswith(INCREMENTAL) and not _inline(name):
            yield finding(
                "RS103",
                at,
                f"placeholder {{{name}}} is not a valid name (dots are for"
                " `{resources.<parent>.<field>}` and `{incremental.<...>}`).",
                "name it without dots and fill it with a param.",
            )
        elif isinstance(value, Mapping) and value.get("type") == "incremental":
            yield finding(
                "RS103",
                join_path(join_path(resource.endpoint_at, "params"), name),
                f"placeholder {{{name}}} is bound to an incremental param; dlt binds only"
                " `resolve` params into a path.",
                f"use `{{incremental.start_value}}` in the path, or a query param for `{name}`.",
            )
    for name, value in resource.own_params.items():
        if isinstance(value, Mapping) and value.get("type") == RESOLVE and name not in names:
            yield finding(
                "RS205",
                join_path(join_path(resource.endpoint_at, "params"), name),
                f"resolve param `{name}` is not used in the path `{resource.url_path}`; dlt"
                " refuses it.",
                f"put {{{name}}} into the path, or send the parent's field as a query param"
                " with `{resources.<parent>.<field>}`.",
            )
    params_at = join_path(resource.endpoint_at, "params")
    for name, parent in found.declared.items():
        if view.named(parent.resource) is None:
            close = difflib.get_close_matches(parent.resource, [r.name for r in view.resources])
            hint = f"did you mean `{close[0]}`?" if close else "name an existing resource."
            yield finding(
                "RS204",
                at if _inline(name) else join_path(params_at, name),
                f"{{{name}}} is filled from resource `{parent.resource}`, which does not exist.",
                hint,
            )


def _inline(name: str) -> bool:
    return name.startswith(INLINE) and name.count(".") >= 2


def _setting(view: ConfigView, name: str, at: str) -> Finding:
    reference = Reference(SETTINGS, name)
    return finding(
        "RS202",
        at,
        f"path placeholder {{{name}}} matches no resource's field: it is a user setting.",
        f"set `resource_defaults.params.{name}` (restsync puts it into every path), e.g."
        f" `{reference}` read from env var {reference.env_var(view.source_name)}.",
        (Edit(SET, ("resource_defaults", "params", name), reference),),
    )


def _two_ancestors(
    view: ConfigView, resource: ResourceView, parents: dict[str, Parent], at: str
) -> Finding:
    names = list(dict.fromkeys(p.resource for p in parents.values()))
    listed = ", ".join(f"{{{n}}} from `{p.resource}`" for n, p in parents.items())
    message = (
        f"`{resource.name}` needs fields of {len(names)} resources ({listed}), but dlt resolves"
        " params only from the immediate parent."
    )
    chain = _chain(view, names)
    if chain is None or any(_inline(n) for n in parents):
        return finding(
            "RS203",
            at,
            message,
            "make one of them the immediate parent: add `include_from_parent` on it for the"
            " other's fields and resolve every placeholder from it (`_<parent>_<field>`).",
        )
    middle, top = chain
    edits: list[Edit] = []
    steps: list[str] = []
    for name, parent in parents.items():
        field = parent.field
        if parent.resource == top.name:
            field = f"_{top.name}_{parent.field}"
            include = ("resources", middle.index, "include_from_parent")
            edits.append(Edit(APPEND, include, parent.field))
        path = ("resources", resource.index, "endpoint", "params", name)
        edits.append(Edit(SET, path, Parent(middle.name, field).param()))
        steps.append(f"{{{name}}} from `{middle.name}.{field}`")
    fields = sorted({p.field for p in parents.values() if p.resource == top.name})
    return finding(
        "RS203",
        at,
        message,
        f"on `{middle.name}` add `include_from_parent: {fields}` (its records then carry"
        f" {', '.join(f'`_{top.name}_{f}`' for f in fields)}) and resolve {', '.join(steps)}.",
        tuple(edits),
    )


def _chain(view: ConfigView, names: list[str]) -> tuple[ResourceView, ResourceView] | None:
    """(immediate parent, grandparent) when one of two parents is the other's child."""
    if len(names) != 2:
        return None
    first, second = view.named(names[0]), view.named(names[1])
    if first is None or second is None:
        return None
    if _parent_name(view, second) == first.name:
        return second, first
    if _parent_name(view, first) == second.name:
        return first, second
    return None


def _parent_name(view: ConfigView, resource: ResourceView) -> str | None:
    found = _read(view, resource)
    names = {p.resource for p in found.declared.values()}
    names |= {c[0].name for c in found.candidates.values() if len(c) == 1}
    return names.pop() if len(names) == 1 else None


def _candidates(view: ConfigView, resource: ResourceView, name: str) -> tuple[ResourceView, ...]:
    others = [r for r in view.resources if r.name and r.name != resource.name]
    prefix = _normalized(resource.url_path.split("{" + name + "}", 1)[0])
    if prefix:
        by_path = [r for r in others if _normalized(r.url_path) == prefix]
        if by_path:
            return _unique(by_path)
    segment = prefix.rsplit("/", 1)[-1] if prefix else ""
    names = _plurals(_stem(name)) | ({segment} if segment and "{" not in segment else set())
    return _unique([r for r in others if r.name in names])


def _unique(resources: list[ResourceView]) -> tuple[ResourceView, ...]:
    first: dict[str, ResourceView] = {}
    for resource in resources:
        first.setdefault(resource.name, resource)
    return tuple(first.values())


def _normalized(path: str) -> str:
    return "/".join(s for s in ANY_PLACEHOLDER.sub("{}", path.strip()).split("/") if s)


def _words(name: str) -> list[str]:
    if "_" in name:
        return [w for w in name.split("_") if w]
    return [w.lower() for w in CAMEL_WORDS.findall(name)] or [name]


def _stem(name: str) -> str:
    words = _words(name)
    return "_".join(words[:-1]) if len(words) > 1 else name


def _plurals(stem: str) -> set[str]:
    forms = {stem, f"{stem}s", f"{stem}es"}
    if stem.endswith("y"):
        forms.add(f"{stem[:-1]}ies")
    return forms


def _why(view: ConfigView, parent: ResourceView, name: str) -> str:
    """Why a bare placeholder's field is what it is, when only the defaults say so."""
    if len(_words(name)) > 1 or "primary_key" in parent.raw:
        return ""
    origin = "resource_defaults'" if view.primary_key(parent) else "the default"
    return (
        f" ({origin} primary key of `{parent.name}`; if its records are keyed otherwise, set"
        " its primary_key and this field)"
    )


def _field(view: ConfigView, parent: ResourceView, name: str) -> str:
    own = key_names(parent.raw.get("primary_key"))
    key = view.primary_key(parent)
    words = _words(name)
    if len(words) == 1:
        return key[0] if len(key) == 1 else DEFAULT_KEY
    choices = [words[-1], name] if "_" in name else [name, words[-1]]
    if len(own) == 1 and own[0] in choices:
        return own[0]
    columns = as_mapping(parent.raw.get("columns"))
    return next((c for c in choices if c in columns), choices[0])
