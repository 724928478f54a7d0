"""hosting (seed 004): projects and their env vars, teams and members, the user, deployments
and their build events, auth tokens, aliases.

Read it beside `../shared/seeds/004_*.txt`. Bearer auth; cursor pages by `until=<pagination.next>`
with the seed's `limit: 100` sent as a query parameter; `user` is one object (no paging), and
`deployment_events` a bare list (the seed's `data_selector: []`). Keys as the spec gives them:
`uid` for deployments and aliases, team + `uid` for members (a user can be in two teams).
Deployments are read incrementally with `since`, so events are fetched only for new deployments;
and since `until`/`since` bound a time range, one big deployments collection is read as several
time ranges side by side (`http/slices.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from restsync.connectors.base import Connector, from_parent
from restsync.http.slices import TimeCursorPaginator

PAGE_SIZE = 100
RETRY = {"retry_on_status_codes": [429, 500, 502, 503, 504], "max_retries": 3, "backoff_factor": 2}
CURSOR = {
    "type": "cursor",
    "limit": PAGE_SIZE,
    "cursor_param": "until",
    "cursor_path": "pagination.next",
}


def _listed(
    name: str, path: str, key: str | list[str], selector: str, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "primary_key": key,
        "endpoint": {"path": path, "data_selector": selector, "paginator": CURSOR},
        **extra,
    }


def build(values: Mapping[str, str]) -> dict[str, Any]:
    """The seed-004 config, complete: keys, single objects, bare lists, incremental deployments."""
    deployments = _listed("deployments", "/v6/deployments", "uid", "deployments")
    # the cursor is a time and `since` bounds it from below: read as time ranges side by side
    deployments["endpoint"]["paginator"] = TimeCursorPaginator(
        cursor_path="pagination.next", cursor_param="until", since_param="since"
    )
    deployments["endpoint"]["params"] = {
        "limit": PAGE_SIZE,
        "since": {"type": "incremental", "cursor_path": "createdAt", "initial_value": 0},
    }
    members = _listed(
        "teams_member",
        "/v2/teams/{team_id}/members",
        ["team_id", "uid"],
        "members",
        include_from_parent=["id"],
        processing_steps=[{"map": _member_of_team}],
    )
    members["endpoint"]["params"] = {"team_id": from_parent("teams", "id")}
    environments = _listed(
        "environments",
        "/v9/projects/{project}/env",
        "id",
        "envs",
        include_from_parent=["id"],
        processing_steps=[{"map": _of_project}],
    )
    environments["endpoint"]["params"] = {"project": from_parent("projects", "id")}
    return {
        "client": {
            "base_url": values["base_url"],
            "auth": {"type": "bearer", "token": values["access_token"]},
        },
        "resource_defaults": {
            "write_disposition": "merge",
            "endpoint": {"paginator": "single_page", "error_handler": RETRY},
        },
        "resources": [
            _listed("projects", "/v9/projects", "id", "projects"),
            _listed("teams", "/v2/teams", "id", "teams"),
            {
                "name": "user",
                "primary_key": "id",
                "endpoint": {"path": "/v2/user", "data_selector": "user"},
            },
            deployments,
            environments,
            _listed("auth_tokens", "/v5/user/tokens", "id", "tokens"),
            _listed("aliases", "/v4/aliases", "uid", "aliases"),
            {
                "name": "deployment_events",
                "primary_key": "id",
                "endpoint": {
                    "path": "/v3/deployments/{deployment}/events",
                    "data_selector": [],
                    "params": {"deployment": from_parent("deployments", "uid")},
                },
            },
            members,
        ],
    }


def _of_project(record: dict[str, Any]) -> dict[str, Any]:
    """Keep which project an env var belongs to, as `project_id` (its records do not say)."""
    record["project_id"] = record.pop("_projects_id")
    return record


def _member_of_team(record: dict[str, Any]) -> dict[str, Any]:
    """Name the parent field `team_id`, the key's first half, instead of dlt's prefix."""
    record["team_id"] = record.pop("_teams_id")
    return record


CONNECTOR = Connector(
    name="hosting",
    description="Projects, env vars, teams and members, the user, deployments and their events,"
    " tokens, aliases (seed 004)",
    seed="004_d0b37981d1fe8b98.txt",
    default_base_url="https://api.example.com",
    secrets=("access_token",),
    build=build,
)
