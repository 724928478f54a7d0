"""bi_workspace per /work/shared/specs/bi_workspace.md, over real sockets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restsync.emulators import Emulator, EmulatorOptions, PageNumberPaging, Store, run_emulator
from restsync.emulators.bi_workspace import (
    API,
    BENCHMARK_SCALE,
    PAGE_SIZE,
    REPORT_RUN_COUNTS,
    WORKSPACE,
    build_store,
)

TIMEOUT_S = 10
UNAUTHORIZED = {"id": "unauthorized", "message": "Authentication failed"}
SCALE = 3
CHILD_REQUESTS_AT_SCALE_ONE = 140
TOP_LEVEL = ("definitions", "groups", "memberships", "spaces", "data_sources")
BENCHMARK_CHILD_REQUESTS = (1900, 2100)
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RUN = {"token", "state", "parameters", "is_latest_report_run", "created_at", "updated_at",
       "completed_at"}  # fmt: skip
SCHEDULE = {"token", "name", "report_token", "frequency", "hour", "minute", "time_zone",
            "next_scheduled_run", "created_at"}  # fmt: skip
# per resource: the `_embedded` key (the seed's, sic) and the record's fields besides `_links`
SHAPES: dict[str, tuple[str, set[str]]] = {
    "definitions": ("definitions", {"id", "token", "name", "description", "source",
                                    "data_source_id", "created_at", "updated_at"}),
    "groups": ("groups", {"token", "name", "group_type", "member_count", "state"}),
    "memberships": ("memberships", {"member_username", "member_token", "admin", "state",
                                    "activated_at"}),
    "spaces": ("spaces", {"id", "token", "name", "space_type", "state", "restricted",
                          "description"}),
    "space_memberships": ("space_memberships", {"token", "member_token", "member_type", "email"}),
    "groups_memberships": ("group_memberships", {"token", "member_token"}),
    "data_sources": ("data_sources", {"id", "token", "name", "adapter", "host", "database",
                                      "queryable", "created_at"}),
    "reports": ("reports", {"id", "token", "name", "description", "type", "space_token",
                            "archived", "query_count", "runs_count", "created_at", "updated_at"}),
    "report_runs": ("report_runs", RUN),
    "queries": ("queries", {"id", "token", "name", "raw_query", "data_source_id", "created_at",
                            "updated_at"}),
    "query_runs": ("query_runs", {"id", "token", "state", "query_token", "raw_source",
                                  "created_at", "completed_at"}),
    "charts": ("charts", {"token", "view", "view_version", "created_at"}),
    "report_filters": ("report_filters", {"id", "token", "name", "control_type", "data_type",
                                          "options", "created_at"}),
    "datasets": ("reports", {"id", "token", "name", "type", "space_token", "created_at",
                             "updated_at"}),
    "datasets_runs": ("report_runs", RUN),
    "field_descriptions": ("field_descriptions", {"token", "name", "description"}),
    "report_schedules": ("report_schedules", SCHEDULE),
    "reports_subscriptions": ("report_subscriptions", {"email", "csv_attachments_enabled",
                                                       "pdf_attachments_enabled",
                                                       "report_links_enabled"}),
    "datasets_schedules": ("report_schedules", SCHEDULE),
}  # fmt: skip

Crawl = dict[str, list[tuple[dict[str, str], dict[str, Any]]]]


class BiClient:
    """A session with the workspace's `api_token`/`api_secret` as Basic credentials."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.auth = (emu.credentials["api_token"], emu.credentials["api_secret"])

    def get(self, url: str, **params: Any) -> requests.Response:
        """GET a full URL."""
        return self.session.get(url, params=params, timeout=TIMEOUT_S)

    def json(self, url: str, **params: Any) -> Any:
        """GET and decode, asserting 200."""
        response = self.get(url, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def records(self, resource: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
        """Every record of one collection (paging until a short page) and the requests made."""
        endpoint = API.spec.endpoint(resource)
        key = SHAPES[resource][0]
        url = self.emu.url(resource, params)
        if not isinstance(endpoint.paging, PageNumberPaging):
            return self.json(url)["_embedded"][key], 1
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            chunk = self.json(url, page=page)["_embedded"][key]
            records.extend(chunk)
            if len(chunk) < PAGE_SIZE:
                return records, page
            page += 1


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with run_emulator(API) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


@pytest.fixture
def client(emu: Emulator) -> Iterator[BiClient]:
    client = BiClient(emu)
    yield client
    client.session.close()


def crawl(client: BiClient) -> tuple[Crawl, int]:
    """Read the whole API as a connector does: each child's params from its parent's records
    (the parent's own URL params inherited, so two-ancestor children get both tokens)."""
    out: Crawl = {}
    requests_made = 0
    for endpoint in API.spec.endpoints:
        link = endpoint.parent
        parents = [({}, {})] if link is None else out[link.resource]
        out[endpoint.resource] = []
        for parent_params, parent in parents:
            known = dict(parent_params)
            if link is not None:
                known[link.placeholder] = parent[link.field]
            params = {name: known[name] for name in API.spec.params_of(endpoint.resource)}
            records, made = client.records(endpoint.resource, params)
            requests_made += made
            out[endpoint.resource].extend((params, record) for record in records)
    return out, requests_made


def child_requests(store: Store) -> int:
    """Requests a connector makes below the top level, paging until a short page."""
    total = 0
    for endpoint in API.spec.endpoints:
        if endpoint.parent is None:
            continue
        paged = isinstance(endpoint.paging, PageNumberPaging)
        for key in store.keys(endpoint.resource):
            size = len(store.records(endpoint.resource, key))
            total += size // PAGE_SIZE + 1 if paged else 1
    return total


def test_every_resource_over_http_equals_truth(emu: Emulator, client: BiClient) -> None:
    crawled, requests_made = crawl(client)
    assert set(crawled) == set(API.spec.resources)
    for resource in API.spec.resources:
        assert crawled[resource], resource
        assert crawled[resource] == [tuple(s) for s in emu.truth(resource)], resource
    assert requests_made == len(TOP_LEVEL) + CHILD_REQUESTS_AT_SCALE_ONE
    assert child_requests(emu.store) == CHILD_REQUESTS_AT_SCALE_ONE
    assert emu.requests.count(status=200) == len(emu.requests) == requests_made


def test_hal_envelopes_and_record_shapes(emu: Emulator, client: BiClient) -> None:
    assert emu.base_url == emu.host_url and emu.settings == {"workspace": WORKSPACE}
    for resource, (key, fields) in SHAPES.items():
        params, _ = emu.truth(resource)[0]
        url = emu.url(resource, params)
        body = client.json(url)
        assert set(body) == {"_links", "_embedded"}, resource  # no pagination block
        assert body["_links"] == {"self": {"href": url.removeprefix(emu.host_url)}}
        assert list(body["_embedded"]) == [key], resource
        for _, record in emu.truth(resource):
            assert set(record) == fields | {"_links"}, resource
            href = record["_links"]["self"]["href"]
            assert href.startswith(f"/{WORKSPACE}/"), resource
            own = record.get("token") or record.get("member_username") or record["email"]
            assert href.endswith("/" + own), resource


def test_timestamps_are_iso_with_milliseconds(emu: Emulator) -> None:
    seen = 0
    for resource in API.spec.resources:
        for _, record in emu.truth(resource):
            for name, value in record.items():
                if name.endswith("_at") or name == "next_scheduled_run":
                    assert value is None or ISO_MS.match(value), (resource, name, value)
                    seen += 1
    assert seen


def _by_parent(emu: Emulator, resource: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for params, record in emu.truth(resource):
        out.setdefault(next(iter(params.values())), []).append(record)
    return out


def test_report_runs_pages_and_boundaries(emu: Emulator, client: BiClient) -> None:
    runs = _by_parent(emu, "report_runs")
    sizes = sorted(len(v) for v in runs.values())
    assert sizes == sorted(n for n in REPORT_RUN_COUNTS if n)  # a report without runs: no entry
    for token, expected in runs.items():
        url = emu.url("report_runs", {"report_token": token})
        pages = [client.json(url, page=n)["_embedded"]["report_runs"] for n in range(1, 5)]
        lengths = [len(page) for page in pages]
        if len(expected) == max(REPORT_RUN_COUNTS):
            assert lengths == [PAGE_SIZE, PAGE_SIZE, len(expected) - 2 * PAGE_SIZE, 0]
        if len(expected) == PAGE_SIZE:
            assert lengths == [PAGE_SIZE, 0, 0, 0]  # a full page, then an empty one
        assert [r for page in pages for r in page] == expected
        times = [r["created_at"] for r in expected]
        assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
        assert [r["is_latest_report_run"] for r in expected] == [True] + [False] * (len(times) - 1)
        assert pages[0] == client.json(url)["_embedded"]["report_runs"]  # no page = page 1


def test_a_dataset_with_over_a_page_of_runs_and_fields(emu: Emulator, client: BiClient) -> None:
    runs = _by_parent(emu, "datasets_runs")
    fields = _by_parent(emu, "field_descriptions")
    big = [token for token in runs if len(runs[token]) > PAGE_SIZE]
    assert big and len(fields[big[0]]) > PAGE_SIZE
    token = big[0]
    for resource, key, expected in (
        ("datasets_runs", "report_runs", runs[token]),
        ("field_descriptions", "field_descriptions", fields[token]),
    ):
        url = emu.url(resource, {"dataset_token": token})
        second = client.json(url, page=2)["_embedded"][key]
        assert second == expected[PAGE_SIZE : 2 * PAGE_SIZE], resource
        assert client.json(url, page=99)["_embedded"][key] == [], resource


def test_unpaged_endpoints_ignore_page_and_bad_pages_are_400(
    emu: Emulator, client: BiClient
) -> None:
    url = emu.url("definitions")
    assert client.json(url, page=2)["_embedded"] == client.json(url)["_embedded"]
    token = next(iter(_by_parent(emu, "report_runs")))
    response = client.get(emu.url("report_runs", {"report_token": token}), page=0)
    assert response.status_code == 400


def test_unauthorized_body(emu: Emulator) -> None:
    url = emu.url("definitions")
    creds = emu.credentials
    assert set(creds) == {"api_token", "api_secret"}
    for auth in (None, (creds["api_token"], "wrong"), (creds["api_secret"], creds["api_token"])):
        response = requests.get(url, auth=auth, timeout=TIMEOUT_S)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_two_ancestor_children(emu: Emulator, client: BiClient) -> None:
    query_run = emu.truth("query_runs")[0]
    assert set(query_run.params) == {"report_token", "run_token"}
    assert client.json(emu.url("query_runs", query_run.params))["_embedded"]["query_runs"]
    other_report = next(
        s.record["token"] for s in emu.truth("reports")
        if s.record["token"] != query_run.params["report_token"]
    )  # fmt: skip
    wrong = {**query_run.params, "report_token": other_report}
    assert client.get(emu.url("query_runs", wrong)).status_code == 404
    chart = emu.truth("charts")[0]
    assert set(chart.params) == {"report_token", "query_token"}
    wrong = {**chart.params, "report_token": other_report}
    assert client.get(emu.url("charts", wrong)).status_code == 404
    for params, run in emu.truth("query_runs"):  # each names a query of its own report
        queries = emu.store.records("queries", {"report_token": params["report_token"]})
        assert run["query_token"] in {query["token"] for query in queries}


def test_subscriptions_have_no_key_of_their_own(emu: Emulator) -> None:
    by_report = _by_parent(emu, "reports_subscriptions")
    assert by_report
    for records in by_report.values():
        emails = [r["email"] for r in records]
        assert len(set(emails)) == len(emails)
        assert all("token" not in r and "id" not in r for r in records)


def test_references_are_consistent(emu: Emulator) -> None:
    spaces = {s.record["token"] for s in emu.truth("spaces")}
    members = {s.record["member_token"] for s in emu.truth("memberships")}
    groups = {s.record["token"] for s in emu.truth("groups")}
    assert {s.record["space_token"] for s in emu.truth("reports")} <= spaces
    for params, dataset in emu.truth("datasets"):
        assert dataset["space_token"] == params["space_token"]
    kinds = {r["member_type"] for _, r in emu.truth("space_memberships")}
    assert kinds == {"user", "group"}
    for _, member in emu.truth("space_memberships"):
        assert member["member_token"] in (members if member["member_type"] == "user" else groups)
    assert {s.record["member_token"] for s in emu.truth("groups_memberships")} <= members
    for _, report in emu.truth("reports"):
        key = {"report_token": report["token"]}
        assert report["runs_count"] == len(emu.store.records("report_runs", key))
        assert report["query_count"] == len(emu.store.records("queries", key))
    for resource, param in (
        ("report_schedules", "report_token"),
        ("datasets_schedules", "dataset_token"),
    ):
        for params, schedule in emu.truth(resource):
            assert schedule["report_token"] == params[param]


def test_workspace_setting_changes_every_path() -> None:
    with run_emulator(API, EmulatorOptions(settings={"workspace": "globex"})) as emu:
        client = BiClient(emu)
        assert client.get(emu.host_url + "/globex/definitions").status_code == 200
        assert client.get(emu.host_url + f"/{WORKSPACE}/definitions").status_code == 404
        assert emu.url("spaces").endswith("/globex/spaces")


def test_determinism() -> None:
    first, again, other = build_store(5, 1), build_store(5, 1), build_store(6, 1)
    for resource in API.spec.resources:
        assert first.truth(resource) == again.truth(resource), resource
    assert first.truth("reports") != other.truth("reports")


def test_scale_multiplies_and_benchmark_scale() -> None:
    small, large = build_store(0, 1), build_store(0, SCALE)
    for resource in API.spec.resources:
        assert large.count(resource) == SCALE * small.count(resource), resource
    assert child_requests(large) == SCALE * CHILD_REQUESTS_AT_SCALE_ONE
    low, high = BENCHMARK_CHILD_REQUESTS
    assert low <= child_requests(build_store(0, BENCHMARK_SCALE)) <= high
