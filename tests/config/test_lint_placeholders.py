"""Path placeholders: which parent each one is inferred from, and the RS2xx findings."""

from __future__ import annotations

import pytest

from restsync.config.lint import RULES, lint
from restsync.config.lint_parents import Parent, infer_parent
from restsync.config.lint_view import build_view
from tests.config.test_lint_rules import CASES, Case, check_case, config, resolve, resource

ORGS = resource("organizations", "/organizations", primary_key="organizationId")
MEMBERS = resource("organization_members", "/organizations/{organizationId}/members")
REPORTS = resource("reports", "/reports")
RUNS = resource(
    "report_runs",
    "/reports/{report_token}/runs",
    endpoint={"params": {"report_token": resolve("reports", "token")}},
)

PLACEHOLDER_CASES = [
    Case(
        "placeholder with one parent",
        config(ORGS, MEMBERS),
        "RS201",
        "resources[1].endpoint.path",
        "{organizationId} has no parameter that fills it; its parent is `organizations`, field"
        " `organizationId`.",
    ),
    Case(
        "bare placeholder, parent keyed on uid",
        config(
            resource("deployments", "/v6/deployments", primary_key="uid"),
            resource("events", "/v3/deployments/{deployment}/events"),
        ),
        "RS201",
        "resources[1].endpoint.path",
        "its parent is `deployments`, field `uid`.",
    ),
    Case(
        "placeholder with two candidate parents",
        config(
            resource("item", "/item"), resource("items", "/items"), resource("c", "/x/{item_id}")
        ),
        "RS201",
        "resources[2].endpoint.path",
        "several resources could be its parent: `item`, `items`.",
    ),
    Case(
        "placeholder that is a setting",
        config(resource("reports", "/{workspace}/reports")),
        "RS202",
        "resources[0].endpoint.path",
        "{workspace} matches no resource's field: it is a user setting.",
    ),
    Case(
        "params from two resources",
        config(
            REPORTS,
            RUNS,
            resource(
                "query_runs",
                "/reports/{report_token}/runs/{run_token}/query_runs",
                endpoint={
                    "params": {
                        "report_token": resolve("reports", "token"),
                        "run_token": resolve("report_runs", "token"),
                    }
                },
            ),
        ),
        "RS203",
        "resources[2].endpoint.path",
        "dlt resolves params only from the immediate parent.",
    ),
    Case(
        "resolve from a resource that does not exist",
        config(
            resource("products", "/products"),
            resource(
                "tags",
                "/products/{productId}/tags",
                endpoint={"params": {"productId": resolve("product", "productId")}},
            ),
        ),
        "RS204",
        "resources[1].endpoint.params.productId",
        "{productId} is filled from resource `product`, which does not exist.",
    ),
    Case(
        "inline parent that does not exist",
        config(resource("products", "/products"), resource("tags", "/p/{resources.product.id}")),
        "RS204",
        "resources[1].endpoint.path",
        "is filled from resource `product`, which does not exist.",
    ),
    Case(
        "resolve param not in the path",
        config(
            resource("products", "/products"),
            resource("tags", "/tags", endpoint={"params": {"p": resolve("products", "id")}}),
        ),
        "RS205",
        "resources[1].endpoint.params.p",
        "resolve param `p` is not used in the path `/tags`",
    ),
]


@pytest.mark.parametrize("case", PLACEHOLDER_CASES, ids=[c.id for c in PLACEHOLDER_CASES])
def test_placeholder_config_gives_the_rule_at_the_path_with_the_message(case: Case) -> None:
    check_case(case)


def test_every_rule_has_a_case_here_or_in_test_lint_rules() -> None:
    # RS001 and RS002 come from reading files: test_lint_seeds.py, test_lint_rules.py
    assert {c.rule for c in (*CASES, *PLACEHOLDER_CASES)} | {"RS001", "RS002"} == set(RULES)


def bare(name: str, path: str, **extra: object) -> dict[str, object]:
    """A resource keyed on `id` by default, as the seeds' resource_defaults do."""
    found = resource(name, path, **extra)
    if "primary_key" not in extra:
        del found["primary_key"]
    return found


# (the parent candidates, the child's path, the placeholder) -> the parent and field to resolve
INFERENCES = [
    (  # found by the placeholder's name alone: category -> categories
        [bare("categories", "/categories")],
        "/x/{category_id}/items",
        "category_id",
        Parent("categories", "id"),
    ),
    (
        [bare("organizations", "/organizations")],
        "/organizations/{organizationId}/members",
        "organizationId",
        Parent("organizations", "organizationId"),
    ),
    (
        [bare("products", "/v1/products")],
        "/v1/products/{product_id}/reports",
        "product_id",
        Parent("products", "id"),
    ),
    (
        [bare("products", "/products")],
        "/products/{productId}/tags",
        "productId",
        Parent("products", "productId"),
    ),
    (
        [
            bare("report_runs", "/{w}/reports/{report_token}/runs"),
            bare("datasets_runs", "/{w}/runs"),
        ],
        "/{w}/reports/{report_token}/runs/{run_token}/query_runs",
        "run_token",
        Parent("report_runs", "token"),
    ),
    (
        [bare("deployments", "/v6/deployments", primary_key="uid")],
        "/v3/deployments/{deployment}/events",
        "deployment",
        Parent("deployments", "uid"),
    ),
    (
        [bare("deployments", "/v6/deployments")],
        "/v3/deployments/{deployment}/events",
        "deployment",
        Parent("deployments", "id"),
    ),
    ([bare("teams", "/v2/teams")], "/v2/teams/{team_id}/members", "team_id", Parent("teams", "id")),
    (
        [bare("projects", "/v9/projects")],
        "/v9/projects/{project}/env",
        "project",
        Parent("projects", "id"),
    ),
    (
        [bare("spaces", "/{workspace}/spaces")],
        "/{workspace}/spaces/{space_token}/datasets",
        "space_token",
        Parent("spaces", "token"),
    ),
    (
        [bare("datasets", "/{workspace}/spaces/{space_token}/datasets")],
        "/{workspace}/datasets/{dataset_token}/runs",
        "dataset_token",
        Parent("datasets", "token"),
    ),
    (
        [bare("queries", "/queries")],
        "/queries/{query_token}/charts",
        "query_token",
        Parent("queries", "token"),
    ),
    (
        [bare("products", "/products", primary_key="product_id")],
        "/x/{product_id}",
        "product_id",
        Parent("products", "product_id"),
    ),
    (
        [bare("organizations", "/organizations", primary_key="id")],
        "/o/{organizationId}/m",
        "organizationId",
        Parent("organizations", "id"),
    ),
    ([bare("reports", "/reports")], "/{workspace}/r", "workspace", None),
]


@pytest.mark.parametrize(("parents", "path", "placeholder", "expected"), INFERENCES)
def test_parent_inferred_from_path_name_and_declared_key(
    parents: list[dict[str, object]], path: str, placeholder: str, expected: Parent | None
) -> None:
    cfg = config(*parents, bare("child", path), resource_defaults={"primary_key": "id"})
    view = build_view(cfg, "src")
    assert infer_parent(view, view.resources[-1], placeholder) == expected


def test_a_child_with_its_parents_declared_has_no_findings() -> None:
    params = {"organizationId": resolve("organizations", "organizationId")}
    members = {**MEMBERS, "endpoint": {**MEMBERS["endpoint"], "params": params}}
    assert lint(config(ORGS, members)) == []
    inline = resource("m", "/organizations/{resources.organizations.organizationId}/m")
    assert lint(config(ORGS, inline)) == []


def test_literal_param_or_setting_fills_a_placeholder() -> None:
    child = resource("reports", "/{workspace}/reports")
    assert lint(config(child, resource_defaults={"endpoint": {"params": {"workspace": "a"}}})) == []
