"""The linter on the five seeds, against findings written by hand from the seeds and the specs.

The expected sets below were written by reading each seed's code block and its spec, not by
running the linter: every finding the linter gives must be here, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from restsync.config.lint import Finding, lint
from restsync.config.loader import load_config

SEEDS = Path(__file__).parent / "seeds"
Expected = list[tuple[str, str]]


def res(index: int, tail: str) -> str:
    return f"resources[{index}].{tail}"


def each(rule: str, indexes: Iterable[int], tail: str) -> Expected:
    return [(rule, res(i, tail)) for i in indexes]


COMMON = [("RS102", "client.auth.type"), ("RS503", "resource_defaults.primary_key")]

# 000 feature_flags: basic auth; `primary_key: id` in resource_defaults; no paginator anywhere;
# {organizationId} and {productId} (twice) filled by nothing.
SEED_000 = [
    *COMMON,
    *each("RS302", range(5), "endpoint.paginator"),
    *each("RS201", (1, 3, 4), "endpoint.path"),
]

# 001 commerce: the `//` comment inside `resources`; three endpoints with error_handler, offset
# paging without a total, and a `/v1/` base with `/...` paths.
SEED_001 = [
    ("RS001", "resources"),
    *COMMON,
    *each("RS102", range(3), "endpoint.error_handler"),
    *each("RS301", range(3), "endpoint.paginator"),
    *each("RS602", range(3), "endpoint.path"),
]

# 002 product_analytics: as 001, plus `/v3/` + `/v1/...` and {product_id} on the three children.
SEED_002 = [
    *COMMON,
    *each("RS102", range(4), "endpoint.error_handler"),
    *each("RS301", range(4), "endpoint.paginator"),
    *each("RS601", range(4), "endpoint.path"),
    *each("RS602", range(4), "endpoint.path"),
    *each("RS201", (1, 2, 3), "endpoint.path"),
]

# 003 bi_workspace: {workspace} (a setting) in all 19 paths; one parent placeholder in 12 paths;
# two ancestors for query_runs (10) and charts (11); page_number with start_from_page on
# report_runs (8), datasets_runs (14) and field_descriptions (15); no paginator on the others.
PAGED_003 = (8, 14, 15)
SEED_003 = [
    *COMMON,
    *each("RS202", range(19), "endpoint.path"),
    *each("RS201", (4, 5, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18), "endpoint.path"),
    *each("RS203", (10, 11), "endpoint.path"),
    *each("RS301", PAGED_003, "endpoint.paginator"),
    *each("RS102", PAGED_003, "endpoint.paginator.start_from_page"),
    *each("RS302", (i for i in range(19) if i not in PAGED_003), "endpoint.paginator"),
]

# 004 hosting: bearer auth (no note); cursor `limit` everywhere but environments (4);
# `data_selector: []` on deployment_events (7); {project}, {deployment}, {team_id}.
SEED_004 = [
    ("RS503", "resource_defaults.primary_key"),
    *each("RS102", (0, 1, 2, 3, 5, 6, 7, 8), "endpoint.paginator.limit"),
    ("RS102", res(7, "endpoint.data_selector")),
    *each("RS201", (4, 7, 8), "endpoint.path"),
]

EXPECTED = {0: SEED_000, 1: SEED_001, 2: SEED_002, 3: SEED_003, 4: SEED_004}


def seed_findings(number: int) -> list[Finding]:
    return lint(load_config(SEEDS / f"seed_00{number}.py"))


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_seed_findings_are_exactly_the_expected_ones(number: int) -> None:
    found = [(f.rule, f.path) for f in seed_findings(number)]
    assert sorted(found) == sorted(EXPECTED[number])


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_seed_findings_are_sorted_and_deterministic(number: int) -> None:
    first, second = seed_findings(number), seed_findings(number)
    assert first == second
    assert [f.line for f in first] == [f.line for f in second]
    assert all(f.line is not None for f in first)


def parents(number: int) -> dict[str, tuple[str, str]]:
    """`resource.placeholder` -> (parent, field) that RS201 fixes name."""
    config = load_config(SEEDS / f"seed_00{number}.py").config
    out = {}
    for item in seed_findings(number):
        if item.rule == "RS201":
            (edit,) = item.edits
            _, index, _, _, placeholder = edit.path
            name = config["resources"][index]["name"]
            out[f"{name}.{placeholder}"] = (edit.value["resource"], edit.value["field"])
    return out


def test_parents_inferred_for_feature_flags_match_the_spec() -> None:
    assert parents(0) == {
        "organization_members.organizationId": ("organizations", "organizationId"),
        "tags.productId": ("products", "productId"),
        "environments.productId": ("products", "productId"),
    }


def test_parents_inferred_for_product_analytics_match_the_spec() -> None:
    assert parents(2) == {
        f"{r}.product_id": ("products", "id") for r in ("reports", "events", "properties")
    }


def test_parents_inferred_for_bi_workspace_match_the_spec() -> None:
    assert parents(3) == {
        "space_memberships.space_token": ("spaces", "token"),
        "groups_memberships.group_token": ("groups", "token"),
        "reports.data_source_token": ("data_sources", "token"),
        "report_runs.report_token": ("reports", "token"),
        "queries.report_token": ("reports", "token"),
        "report_filters.report_token": ("reports", "token"),
        "datasets.space_token": ("spaces", "token"),
        "datasets_runs.dataset_token": ("datasets", "token"),
        "field_descriptions.dataset_token": ("datasets", "token"),
        "report_schedules.report_token": ("reports", "token"),
        "reports_subscriptions.report_token": ("reports", "token"),
        "datasets_schedules.dataset_token": ("datasets", "token"),
    }


def test_parents_inferred_for_hosting_follow_the_configs_own_keys() -> None:
    # The bare config keys every resource on resource_defaults' `id`, so {deployment} resolves
    # from deployments.id here; with `primary_key: uid` declared it is uid (see test_lint_rules).
    assert parents(4) == {
        "environments.project": ("projects", "id"),
        "deployment_events.deployment": ("deployments", "id"),
        "teams_member.team_id": ("teams", "id"),
    }


def test_two_ancestor_children_resolve_through_the_middle_resource() -> None:
    two = {f.path: f for f in seed_findings(3) if f.rule == "RS203"}
    query_runs = two[res(10, "endpoint.path")]
    assert "dlt resolves params only from the immediate parent" in query_runs.message
    edits = {(e.op, e.path): e.value for e in query_runs.edits}
    assert edits == {
        ("append", ("resources", 8, "include_from_parent")): "token",
        ("set", ("resources", 10, "endpoint", "params", "report_token")): {
            "type": "resolve",
            "resource": "report_runs",
            "field": "_reports_token",
        },
        ("set", ("resources", 10, "endpoint", "params", "run_token")): {
            "type": "resolve",
            "resource": "report_runs",
            "field": "token",
        },
    }
    charts = two[res(11, "endpoint.path")]
    assert "include_from_parent: ['token']" in charts.fix and "queries._reports_token" in charts.fix


def test_workspace_is_a_user_setting_with_its_env_var() -> None:
    setting = next(f for f in seed_findings(3) if f.rule == "RS202")
    assert "{workspace}" in setting.message
    assert "resource_defaults.params.workspace" in setting.fix
    assert "SOURCES__SEED_003__WORKSPACE" in setting.fix


def test_js_comment_is_reported_with_its_line_in_the_file_and_in_the_document(
    tmp_path: Path,
) -> None:
    (comment,) = [f for f in seed_findings(1) if f.rule == "RS001"]
    assert comment.line == 69 and comment.severity == "error"
    assert "// Additional resources can be added here" in comment.message
    code = (SEEDS / "seed_001.py").read_text()
    document = tmp_path / "001_seed.txt"
    document.write_text(f"# Overview\n\nSome prose.\n\n```python\n{code}```\n\n// prose\n")
    (in_document,) = [f for f in lint(load_config(document)) if f.rule == "RS001"]
    assert in_document.line == 69 + 5


def test_lines_point_at_the_offending_key() -> None:
    by_key = {(f.rule, f.path): f.line for f in seed_findings(0)}
    assert by_key[("RS201", res(1, "endpoint.path"))] == 28
    assert by_key[("RS102", "client.auth.type")] == 8
    assert by_key[("RS503", "resource_defaults.primary_key")] == 14
