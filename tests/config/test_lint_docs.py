"""docs/lint-rules.md and `RULES` in step: a section per rule, and every example fires its rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from restsync.config import lint_keys
from restsync.config.lint import RULES, lint_file

DOCS = Path(__file__).parents[2] / "docs" / "lint-rules.md"


def doc_sections() -> dict[str, str]:
    text = DOCS.read_text()
    parts = re.split(r"^## (RS\d{3}) ", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_each_rule_has_a_doc_section_with_its_severity_and_fix() -> None:
    sections = doc_sections()
    assert sorted(sections) == sorted(RULES)
    for rule_id, rule in RULES.items():
        body = sections[rule_id]
        assert body.startswith(f"{rule.name}\n"), rule_id
        assert f"**Severity:** {rule.severity}." in body, rule_id
        assert "**Fix:**" in body, rule_id
        assert f"| {rule_id} | {rule.name} | {rule.severity} | {rule.title} |" in DOCS.read_text()
        assert rule.anchor == f"docs/lint-rules.md#{rule_id.lower()}-{rule.name}"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_each_documented_example_fires_its_rule(rule_id: str, tmp_path: Path) -> None:
    block = re.search(r"```(yaml|python)\n(.*?)```", doc_sections()[rule_id], re.DOTALL)
    assert block is not None, rule_id
    example = tmp_path / f"docs.{'py' if block.group(1) == 'python' else 'yaml'}"
    example.write_text(block.group(2))
    assert rule_id in {f.rule for f in lint_file(example)}


def test_dialect_notes_come_from_dialect_py_s_own_table() -> None:
    rows = [value for name, value in vars(lint_keys).items() if name.startswith("ROW_")]
    assert len(rows) == 9
    assert all(row in lint_keys.DIALECT_TABLE for row in rows)
    assert lint_keys.dialect_note(lint_keys.ROW_BASIC) == "`http_basic`"
