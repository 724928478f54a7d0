"""hosting per /work/shared/specs/hosting.md, over real sockets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restsync.emulators import Emulator, EmulatorOptions, Outcome, run_emulator
from restsync.emulators.hosting import (
    API,
    BENCHMARK_SCALE,
    DEFAULT_LIMIT,
    DEPLOYMENTS_PER_SCALE,
    ENV_COUNTS,
    MAX_LIMIT,
    build_store,
)
from tests.emulators.toy_api import Client

TIMEOUT_S = 10
FORBIDDEN = {"error": {"code": "forbidden", "message": "Not authorized"}}
LISTS = {  # resource -> (path, key) of the top-level lists paged by `until`
    "projects": ("/v9/projects", "projects"),
    "teams": ("/v2/teams", "teams"),
    "deployments": ("/v6/deployments", "deployments"),
    "auth_tokens": ("/v5/user/tokens", "tokens"),
    "aliases": ("/v4/aliases", "aliases"),
}
BENCHMARK_DEPLOYMENTS = 200_000
SCALE = 3
SECRET_PATTERN = re.compile(r"^(postgres://|sk_live_|ghp_|https://|sk-|rediss://|[A-Za-z0-9]{32}$)")

Crawl = dict[str, list[tuple[dict[str, str], dict[str, Any]]]]


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with run_emulator(API) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


@pytest.fixture
def client(emu: Emulator) -> Iterator[Client]:
    client = Client(emu)
    yield client
    client.session.close()


def walk(client: Client, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `pagination.next` as `until` to the end, the way the seed's paginator does."""
    records: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        body = client.json(path, **query)
        records.extend(body[key])
        cursor = body["pagination"]["next"]
        if cursor is None:
            return records
        query["until"] = cursor


def crawl(client: Client) -> Crawl:
    """Read the whole API: lists to the end, the user, then every child from its parent."""
    out: Crawl = {name: [({}, r) for r in walk(client, *where)] for name, where in LISTS.items()}
    out["user"] = [({}, client.json("/v2/user")["user"])]
    out["environments"] = [
        ({"project": project["id"]}, env)
        for _, project in out["projects"]
        for env in walk(client, f"/v9/projects/{project['id']}/env", "envs")
    ]
    out["deployment_events"] = [
        ({"deployment": deployment["uid"]}, event)
        for _, deployment in out["deployments"]
        for event in client.json(f"/v3/deployments/{deployment['uid']}/events")
    ]
    out["teams_member"] = [
        ({"team_id": team["id"]}, member)
        for _, team in out["teams"]
        for member in walk(client, f"/v2/teams/{team['id']}/members", "members")
    ]
    return out


def test_every_resource_over_http_equals_truth(emu: Emulator, client: Client) -> None:
    crawled = crawl(client)
    assert set(crawled) == set(API.spec.resources)
    for resource in API.spec.resources:
        assert crawled[resource], resource
        assert crawled[resource] == [tuple(s) for s in emu.truth(resource)], resource
    assert emu.requests.count(status=200) == len(emu.requests)


def test_counts_at_scale_one(emu: Emulator) -> None:
    assert emu.base_url == emu.host_url  # no prefix: every path carries its own version
    assert emu.store.count("deployments") == DEPLOYMENTS_PER_SCALE
    assert emu.store.count("environments") == sum(ENV_COUNTS)
    assert emu.store.count("user") == 1


def test_deployments_walk_pages_newest_first(emu: Emulator, client: Client) -> None:
    pages: list[dict[str, Any]] = []
    query: dict[str, Any] = {}
    while True:
        body = client.json("/v6/deployments", **query)
        assert set(body) == {"deployments", "pagination"}
        pages.append(body)
        if body["pagination"]["next"] is None:
            break
        query = {"until": body["pagination"]["next"]}
    sizes = [len(page["deployments"]) for page in pages]
    assert sizes == [DEFAULT_LIMIT, DEFAULT_LIMIT, DEPLOYMENTS_PER_SCALE - 2 * DEFAULT_LIMIT]
    times = [d["createdAt"] for page in pages for d in page["deployments"]]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
    uids = [d["uid"] for page in pages for d in page["deployments"]]
    assert uids == [s.record["uid"] for s in emu.truth("deployments")]  # no dupes, no gaps
    for page in pages:
        records, pagination = page["deployments"], page["pagination"]
        assert pagination["count"] == len(records)
        assert pagination["prev"] == records[0]["createdAt"]
    assert [p["pagination"]["next"] for p in pages[:-1]] == [
        p["deployments"][-1]["createdAt"] for p in pages[:-1]
    ]


def test_limit_default_and_past_the_end(client: Client) -> None:
    assert len(client.json("/v6/deployments", limit=7)["deployments"]) == 7
    everything = client.json("/v6/deployments", limit=MAX_LIMIT)
    assert len(everything["deployments"]) == DEPLOYMENTS_PER_SCALE
    assert everything["pagination"]["next"] is None
    oldest = everything["deployments"][-1]["createdAt"]
    past = client.json("/v6/deployments", until=oldest)
    assert past == {"deployments": [], "pagination": {"count": 0, "next": None, "prev": None}}


def test_since_returns_deployments_created_at_or_after(emu: Emulator, client: Client) -> None:
    truth = [s.record for s in emu.truth("deployments")]
    since = truth[24]["createdAt"]
    got = walk(client, "/v6/deployments", "deployments", since=since)
    assert got == truth[:25]
    newest = truth[0]["createdAt"]
    assert [d["uid"] for d in walk(client, "/v6/deployments", "deployments", since=newest)] == [
        truth[0]["uid"]
    ]
    assert walk(client, "/v6/deployments", "deployments", since=newest + 1) == []
    assert client.get("/v6/deployments", since="yesterday").status_code == 400


def test_new_deployment_shows_up_first(emu: Emulator, client: Client) -> None:
    newest = emu.truth("deployments")[0].record
    added = {**newest, "uid": "dpl_new", "createdAt": newest["createdAt"] + 1}
    emu.store.add("deployments", added)
    body = client.json("/v6/deployments", since=added["createdAt"])
    assert [d["uid"] for d in body["deployments"]] == ["dpl_new"]
    assert client.json("/v3/deployments/dpl_new/events") == []  # a child URL, empty


def test_forbidden_body(emu: Emulator) -> None:
    url = emu.host_url + "/v9/projects"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        response = requests.get(url, headers=headers, timeout=TIMEOUT_S)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert emu.requests.count(outcome=Outcome.UNAUTHORIZED) == 3
    assert set(emu.credentials) == {"access_token"}


def test_user_is_one_object(emu: Emulator, client: Client) -> None:
    body = client.json("/v2/user")
    assert set(body) == {"user"}
    user = body["user"]
    assert set(user) == {"id", "email", "username", "name", "defaultTeamId", "createdAt"}
    assert user["defaultTeamId"] == emu.truth("teams")[-1].record["id"]  # the oldest team
    owners = [s for s in emu.truth("teams_member") if s.record["uid"] == user["id"]]
    assert [s.record["role"] for s in owners] == ["OWNER"]


def test_events_are_a_bare_list_in_order(emu: Emulator, client: Client) -> None:
    by_deployment: dict[str, list[dict[str, Any]]] = {}
    for params, event in emu.truth("deployment_events"):
        by_deployment.setdefault(params["deployment"], []).append(event)
    uid, events = next(iter(by_deployment.items()))
    body = client.json(f"/v3/deployments/{uid}/events", limit=1)
    assert body == events and isinstance(body, list)
    assert [e["created"] for e in body] == sorted(e["created"] for e in body)
    assert all(e["deploymentId"] == uid for e in body)
    ids = [s.record["id"] for s in emu.truth("deployment_events")]
    assert len(set(ids)) == len(ids)
    assert len(by_deployment) < emu.store.count("deployments")  # some have no events
    assert client.get("/v3/deployments/dpl_nope/events").status_code == 404


def test_a_member_in_two_teams_and_has_next(emu: Emulator, client: Client) -> None:
    teams_of: dict[str, set[str]] = {}
    for params, member in emu.truth("teams_member"):
        teams_of.setdefault(member["uid"], set()).add(params["team_id"])
    assert any(len(teams) == 2 for teams in teams_of.values())
    team = emu.truth("teams")[0].record["id"]
    path = f"/v2/teams/{team}/members"
    first = client.json(path, limit=2)
    assert first["hasNext"] is True and len(first["members"]) == 2
    rest = client.json(path, limit=MAX_LIMIT, until=first["pagination"]["next"])
    assert rest["hasNext"] is False and rest["pagination"]["next"] is None
    assert first["members"] + rest["members"] == [
        s.record for s in emu.truth("teams_member") if s.params["team_id"] == team
    ]
    assert "hasNext" not in client.json("/v2/teams")


def test_environments_page_and_look_secret(emu: Emulator, client: Client) -> None:
    project = max(
        (s.record["id"] for s in emu.truth("projects")),
        key=lambda pid: len(emu.store.records("environments", (pid,))),
    )
    first = client.json(f"/v9/projects/{project}/env")
    assert len(first["envs"]) == DEFAULT_LIMIT and first["pagination"]["next"] is not None
    envs = [s.record for s in emu.truth("environments")]
    keys_by_project: dict[str, list[str]] = {}
    for params, env in emu.truth("environments"):
        keys_by_project.setdefault(params["project"], []).append(env["key"])
    assert all(len(set(keys)) == len(keys) for keys in keys_by_project.values())
    assert all(SECRET_PATTERN.match(env["value"]) for env in envs)  # no values in the message
    assert all(isinstance(env["target"], list) and env["target"] for env in envs)


def test_created_at_is_unique_per_collection() -> None:
    store = build_store(1, SCALE)
    for resource in ("projects", "teams", "deployments", "auth_tokens", "aliases"):
        times = [s.record["createdAt"] for s in store.truth(resource)]
        assert len(set(times)) == len(times), resource
    for resource in ("environments", "teams_member"):
        for key in store.keys(resource):
            times = [r["createdAt"] for r in store.records(resource, key)]
            assert len(set(times)) == len(times), resource


def test_projects_link_their_latest_deployments(emu: Emulator) -> None:
    deployments = {s.record["uid"]: s.record for s in emu.truth("deployments")}
    for _, project in emu.truth("projects"):
        for latest in project["latestDeployments"]:
            assert deployments[latest["uid"]]["name"] == project["name"]
        assert project["updatedAt"] >= project["createdAt"]


def test_determinism() -> None:
    first, again, other = build_store(7, 1), build_store(7, 1), build_store(8, 1)
    for resource in API.spec.resources:
        assert first.truth(resource) == again.truth(resource), resource
    assert first.truth("deployments") != other.truth("deployments")


def test_scale_multiplies_and_benchmark_scale() -> None:
    small, large = build_store(0, 1), build_store(0, SCALE)
    for resource in API.spec.resources:
        expected = 1 if resource == "user" else SCALE * small.count(resource)
        assert large.count(resource) == expected, resource
    assert DEPLOYMENTS_PER_SCALE * BENCHMARK_SCALE == BENCHMARK_DEPLOYMENTS


def test_limit_is_capped_over_http() -> None:
    with run_emulator(API, EmulatorOptions(scale=SCALE, seed=4)) as emu:
        client = Client(emu)
        body = client.json("/v6/deployments", limit=10 * MAX_LIMIT)
        assert len(body["deployments"]) == MAX_LIMIT
        rest = walk(client, "/v6/deployments", "deployments", limit=MAX_LIMIT)
        assert len(rest) == SCALE * DEPLOYMENTS_PER_SCALE
        assert len({d["uid"] for d in rest}) == len(rest)
