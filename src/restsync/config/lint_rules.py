"""The lint rules: stable IDs, severities and titles (`RULES`), and what a finding carries.

Each rule has a section in `docs/lint-rules.md` (its `anchor`); a test keeps the two in step.
IDs never change meaning: a retired rule keeps its number unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = ["RULES", "Edit", "Finding", "Rule", "Severity", "finding"]

DOCS_PAGE = "docs/lint-rules.md"


class Severity(StrEnum):
    """How bad a finding is: errors stop a sync, warnings risk wrong data, info explains."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Rule:
    """One lint rule: what it is called, how severe its findings are, where it is documented."""

    id: str
    name: str
    severity: Severity
    title: str

    @property
    def anchor(self) -> str:
        """Where the rule is documented, e.g. `docs/lint-rules.md#rs101-unknown-key`."""
        return f"{DOCS_PAGE}#{self.id.lower()}-{self.name}"


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("RS001", "js-comment", _E, "JavaScript-style `//` comment in a Python config"),
        Rule("RS002", "unreadable", _E, "File that cannot be read as a config"),
        Rule("RS101", "unknown-key", _E, "Key that neither dlt nor restsync knows"),
        Rule("RS102", "dialect-key", _I, "Seed-dialect key that restsync translates for dlt"),
        Rule("RS103", "invalid-value", _E, "Value of the wrong type or not an allowed value"),
        Rule("RS104", "missing-key", _E, "Required key missing"),
        Rule("RS105", "duplicate-resource", _E, "Two resources with the same name"),
        Rule("RS201", "unresolved-placeholder", _E, "Path placeholder that nothing fills"),
        Rule("RS202", "placeholder-setting", _E, "Path placeholder that is a user setting"),
        Rule("RS203", "two-ancestors", _E, "Child that needs fields of two ancestors"),
        Rule("RS204", "unknown-parent", _E, "Parent reference to a resource that does not exist"),
        Rule("RS205", "resolve-not-in-path", _E, "`resolve` param that no path placeholder uses"),
        Rule("RS301", "no-total", _W, "Offset or page-number paginator with no total"),
        Rule("RS302", "no-paginator", _W, "Resource with no paginator set anywhere"),
        Rule("RS303", "offset-without-limit", _E, "Offset paginator without `limit`"),
        Rule("RS401", "no-data-selector", _I, "Resource with no `data_selector`"),
        Rule("RS501", "merge-without-key", _W, "`merge` with no primary key"),
        Rule("RS502", "key-not-in-columns", _W, "Primary key missing from the declared columns"),
        Rule("RS503", "default-primary-key", _W, "`resource_defaults.primary_key` applies to all"),
        Rule("RS601", "two-version-segments", _W, "URL with two API version segments"),
        Rule("RS602", "double-slash", _I, "`base_url` ends with `/` and the path starts with `/`"),
        Rule("RS701", "literal-secret", _W, "Credential written into the config"),
        Rule("RS702", "secret-from-config", _W, "Credential read from `dlt.config`"),
    )
}

EditOp = Literal["set", "append"]
SET: EditOp = "set"
APPEND: EditOp = "append"


@dataclass(frozen=True)
class Edit:
    """One certain change to a config: set a value, or append to a list (created if absent)."""

    op: EditOp
    path: tuple[str | int, ...]
    value: Any


@dataclass(frozen=True)
class Finding:
    """One problem or note: rule, severity, JSON path, what is wrong and how to fix it."""

    rule: str
    severity: Severity
    path: str
    message: str
    fix: str
    line: int | None = None
    edits: tuple[Edit, ...] = field(default=(), compare=False)

    @property
    def fixable(self) -> bool:
        """`fix` can apply this finding's change without a human choosing."""
        return bool(self.edits)

    def __str__(self) -> str:
        where = f"{self.path or '<config>'}" + (f" (line {self.line})" if self.line else "")
        return f"{where}: {self.rule} {self.severity}: {self.message} Fix: {self.fix}"


def finding(rule: str, path: str, message: str, fix: str, edits: tuple[Edit, ...] = ()) -> Finding:
    """A finding of `rule` with that rule's severity."""
    return Finding(rule, RULES[rule].severity, path, message, fix, edits=edits)
