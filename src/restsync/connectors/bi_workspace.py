"""bi_workspace (seed 003): a BI workspace's definitions, groups, members, spaces, data sources,
reports with their runs, queries, query runs, charts, filters, schedules and subscriptions, and
datasets with their runs, field descriptions and schedules.

Read it beside `../shared/seeds/003_*.txt`: the same 19 endpoints under `/{workspace}` (a user
setting, `SOURCES__BI_WORKSPACE__WORKSPACE`, not a parent field), records under `_embedded.<key>`
(datasets under `_embedded.reports`, as the seed says). What the seed left out, made explicit:
each child names its parent with `resolve` params and keeps the parent's token as a column;
`query_runs` and `charts` need two ancestors' tokens, so the middle resource (`report_runs`,
`queries`) passes the report's token down; `reports_subscriptions` has no key in its records
and is keyed on the report's token plus `email`; page numbers from 1 on the three paged
endpoints, 20 a page, stopping on a short page; no paginator guessed anywhere else. Runs are
read incrementally per report (and per dataset) by `created_at` (see `restsync.history`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from restsync.connectors.base import Connector, basic_client, from_parent
from restsync.history import History, HistorySpec
from restsync.http.paginators import ShortPagePageNumberPaginator

RETRY = {"retry_on_status_codes": [429, 500, 502, 503, 504], "max_retries": 3, "backoff_factor": 2}
PAGE_SIZE = 20
PAGES = {"type": "page_number", "page_param": "page", "start_from_page": 1, "page_size": PAGE_SIZE}
ID = {"data_type": "bigint"}


def _resource(name: str, path: str, key: str | list[str], embedded: str) -> dict[str, Any]:
    return {
        "name": name,
        "primary_key": key,
        "endpoint": {"path": "/{workspace}" + path, "data_selector": f"_embedded.{embedded}"},
    }


def _child(
    name: str,
    path: str,
    embedded: str,
    parents: Mapping[str, tuple[str, str]],
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A child endpoint: `parents` maps placeholder -> (parent, field). Options: `key`
    (default `token`), `keep` (parent field -> the column that stores it on each row; dlt
    delivers it as `_<parent>_<field>`), `paged` (page numbers), `json` (objects kept whole),
    `columns` (more type hints)."""
    options = options or {}
    resource = _resource(name, path, options.get("key", "token"), embedded)
    resource["endpoint"]["params"] = {
        placeholder: from_parent(parent, field) for placeholder, (parent, field) in parents.items()
    }
    history: History | None = options.get("history")
    if history is not None:
        pages = ShortPagePageNumberPaginator(page_param="page", base_page=1, page_size=PAGE_SIZE)
        resource["endpoint"]["paginator"] = history.paginator(pages)
    elif options.get("paged"):
        resource["endpoint"]["paginator"] = dict(PAGES)
    resource["columns"] = {
        **{field: {"data_type": "json"} for field in options.get("json", ())},
        **options.get("columns", {}),
    }
    steps: list[dict[str, Any]] = []
    if keep := options.get("keep"):
        parent = next(iter(parents.values()))[0]
        resource["include_from_parent"] = list(keep)
        steps.append({"map": _renamer(parent, keep)})
    if history is not None:
        steps += [{"filter": history.keep}, {"map": history.observe}]
    if steps:
        resource["processing_steps"] = steps
    return resource


def _runs(resource: str, parent: str, parent_column: str) -> History:
    """Runs are append-only history, newest first: read each parent's only up to known runs."""
    spec = HistorySpec(
        resource=resource,
        cursor="created_at",
        key="token",
        parent_column=parent_column,
        parent_in_url=rf"/{parent}/([^/?]+)/runs(?:$|\?)",
        open_field="completed_at",  # a run without it is still going and may change
    )
    return History(spec)


def _renamer(parent: str, keep: Mapping[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A map step naming dlt's `_<parent>_<field>` columns as the API would."""
    moves = {f"_{parent}_{field}": column for field, column in keep.items()}

    def rename(record: dict[str, Any]) -> dict[str, Any]:
        for old, new in moves.items():
            record[new] = record.pop(old)
        return record

    return rename


def build(values: Mapping[str, str]) -> dict[str, Any]:
    """The seed-003 config, complete: parents, two-ancestor chains, keys, pages, workspace."""
    space = {"space_token": ("spaces", "token")}
    report = {"report_token": ("reports", "token")}
    dataset = {"dataset_token": ("datasets", "token")}
    run = {"report_token": ("report_runs", "report_token"), "run_token": ("report_runs", "token")}
    query = {"report_token": ("queries", "report_token"), "query_token": ("queries", "token")}
    of_report = {"keep": {"token": "report_token"}}
    of_dataset = {"keep": {"token": "dataset_token"}}
    runs = {"json": ["parameters"]}
    schedule = {"columns": {"next_scheduled_run": {"data_type": "timestamp"}}}
    return {
        "client": basic_client(values, "api_token", "api_secret"),
        "resource_defaults": {
            "write_disposition": "merge",
            "params": {"workspace": values["workspace"]},
            "endpoint": {"paginator": "single_page", "error_handler": RETRY},
        },
        "resources": [
            {
                **_resource("definitions", "/definitions", "id", "definitions"),
                "columns": {"id": ID},
            },
            _resource("groups", "/groups", "token", "groups"),
            _resource("memberships", "/memberships", "member_username", "memberships"),
            _resource("spaces", "/spaces", "token", "spaces"),
            _child(
                "space_memberships",
                "/spaces/{space_token}/memberships",
                "space_memberships",
                space,
                {"keep": {"token": "space_token"}},
            ),
            _child(
                "groups_memberships",
                "/groups/{group_token}/memberships",
                "group_memberships",
                {"group_token": ("groups", "token")},
                {"keep": {"token": "group_token"}},
            ),
            _resource("data_sources", "/data_sources", "token", "data_sources"),
            _child(
                "reports",
                "/data_sources/{data_source_token}/reports",
                "reports",
                {"data_source_token": ("data_sources", "token")},
                {"keep": {"token": "data_source_token"}},
            ),
            _child(
                "report_runs",
                "/reports/{report_token}/runs",
                "report_runs",
                report,
                {**of_report, **runs, "history": _runs("report_runs", "reports", "report_token")},
            ),
            _child("queries", "/reports/{report_token}/queries", "queries", report, of_report),
            _child(
                "query_runs",
                "/reports/{report_token}/runs/{run_token}/query_runs",
                "query_runs",
                run,
                {"keep": {"token": "run_token", "report_token": "report_token"}},
            ),
            _child(
                "charts",
                "/reports/{report_token}/queries/{query_token}/charts",
                "charts",
                query,
                {
                    "keep": {"token": "query_token", "report_token": "report_token"},
                    "json": ["view"],
                },
            ),
            _child(
                "report_filters",
                "/reports/{report_token}/filters",
                "report_filters",
                report,
                {**of_report, "json": ["options"]},
            ),
            # sic: the API embeds datasets under `reports`, their runs under `report_runs`
            _child("datasets", "/spaces/{space_token}/datasets", "reports", space),
            _child(
                "datasets_runs",
                "/datasets/{dataset_token}/runs",
                "report_runs",
                dataset,
                {
                    **of_dataset,
                    **runs,
                    "history": _runs("datasets_runs", "datasets", "dataset_token"),
                },
            ),
            _child(
                "field_descriptions",
                "/datasets/{dataset_token}/field_descriptions",
                "field_descriptions",
                dataset,
                {**of_dataset, "paged": True},
            ),
            _child(
                "report_schedules",
                "/reports/{report_token}/schedules",
                "report_schedules",
                report,
                schedule,
            ),
            _child(
                "reports_subscriptions",
                "/reports/{report_token}/subscriptions",
                "report_subscriptions",
                report,
                {**of_report, "key": ["report_token", "email"]},
            ),
            _child(
                "datasets_schedules",
                "/datasets/{dataset_token}/schedules",
                "report_schedules",
                dataset,
                {**of_dataset, **schedule},
            ),
        ],
    }


CONNECTOR = Connector(
    name="bi_workspace",
    description="A BI workspace: spaces, reports, runs, queries, charts, datasets... (seed 003)",
    seed="003_bdb50ee2caf88b50.txt",
    default_base_url="https://api.example.com",
    secrets=("api_token", "api_secret"),
    settings=("workspace",),
    build=build,
)
