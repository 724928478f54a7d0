"""bi_workspace (seed 003): a BI workspace's members, spaces, data sources, reports and datasets.

Per /work/shared/specs/bi_workspace.md: base `{host}`, every path starts with `/{workspace}` (a
setting, default `acme`), HTTP Basic with `api_token`/`api_secret`, HAL bodies with the records
under `_embedded.<key>` and a `_links` object in every record, page-number paging (`page` from 1,
20 a page) on `report_runs`, `datasets_runs` and `field_descriptions` only, runs newest first by
`created_at`, ISO-8601 timestamps with milliseconds and `Z`, 401
`{"id": "unauthorized", "message": "Authentication failed"}`.

Data at scale 1: 8 workspace members; 3 groups with 3, 0 and 2 members; 4 definitions; 3 spaces
with 2, 4 and 1 members (users, and in the second space also a group) and 2, 0 and 1 datasets;
the 3 datasets have 25, 3 and 0 runs, 23, 5 and 0 field descriptions, 1, 0 and 2 schedules.
2 data sources with 3 reports each; the 6 reports have 45, 20, 3, 0, 7 and 1 runs (pages of 20:
45 -> 20, 20, 5; 20 -> 20, then an empty page), 2, 1, 3, 1, 0 and 2 queries, one query run per
query per run (121), 1, 2 or 0 charts per query, 0 to 2 filters, schedules and subscriptions.
Counts follow fixed cycles, so `scale=N` gives exactly N times the records of every resource.
A connector paging until a short page makes 140 child requests at scale 1, 1,960 at
`BENCHMARK_SCALE` (14).
Record hrefs name the default workspace: the generator does not see the settings in force.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from restsync.emulators.data import company_name, email, iso_ms, moment, person, sentence
from restsync.emulators.registry import ApiDefinition
from restsync.emulators.spec import (
    ApiSpec,
    BasicAuth,
    EndpointSpec,
    HalEnvelope,
    NoPaging,
    Order,
    PageNumberPaging,
    ParentLink,
    Setting,
    placeholders,
)
from restsync.emulators.store import Key, Record, Store

__all__ = ["API", "BENCHMARK_SCALE", "PAGE_SIZE", "SPEC", "WORKSPACE", "build_store"]

WORKSPACE = "acme"
API_TOKEN = "bi-emulator-token"
API_SECRET = "bi-emulator-secret"
UNAUTHORIZED = {"id": "unauthorized", "message": "Authentication failed"}
PAGE_SIZE = 20
BENCHMARK_SCALE = 14
MEMBERS_PER_SCALE = 8
GROUPS_PER_SCALE = 3
DEFINITIONS_PER_SCALE = 4
SPACES_PER_SCALE = 3
DATA_SOURCES_PER_SCALE = 2
REPORTS_PER_SOURCE = 3
# counts cycle by index (group, space, dataset, report, query), so every scale unit looks alike
GROUP_MEMBER_COUNTS = (3, 0, 2)
SPACE_MEMBER_COUNTS = (2, 4, 1)
DATASET_COUNTS = (2, 0, 1)
DATASET_RUN_COUNTS = (25, 3, 0)
FIELD_COUNTS = (23, 5, 0)
DATASET_SCHEDULE_COUNTS = (1, 0, 2)
REPORT_RUN_COUNTS = (45, 20, 3, 0, 7, 1)
QUERY_COUNTS = (2, 1, 3, 1, 0, 2)
FILTER_COUNTS = (1, 0, 2, 1, 0, 1)
SCHEDULE_COUNTS = (1, 2, 0, 0, 1, 1)
SUBSCRIPTION_COUNTS = (2, 0, 1, 0, 1, 1)
CHART_COUNTS = (1, 2, 0)
GROUP_MEMBER_SPACES = (0, 1, 0)  # 1: one of the space's members is a group
TOKEN_BITS = 48
TOKEN_FORMAT = "012x"  # 12 hex digits, as the API's tokens look
ID_START = 100
ID_STEP = (1, 9)
QUERY_RUN_ID_START = 5_000_000
RUN_GAP_MINUTES = (30, 3 * 24 * 60)
UPDATE_GAP_DAYS = 60
RUN_SECONDS = (2, 900)
NULL_RATE = 0.25
TRUE_RATE = 0.5
ACTIVATED_STATE = "active"
MEMBER_STATES = (ACTIVATED_STATE, ACTIVATED_STATE, ACTIVATED_STATE, "invited")
FINISHED_RUN_STATES = ("succeeded", "succeeded", "succeeded", "failed", "cancelled")
RUNNING = "running"
ADAPTERS = ("jdbc:postgresql", "jdbc:mysql", "jdbc:snowflake", "bigquery", "jdbc:redshift")
SPACE_TYPES = ("custom", "custom", "private")
CONTROL_TYPES = (("dropdown", "string"), ("date_range", "date"), ("text", "string"))
FREQUENCIES = ("daily", "weekly", "hourly", "monthly")
TIME_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")
CHART_TYPES = ("bar", "line", "pie", "table", "area")
COLUMNS = ("created_at", "revenue", "country", "plan", "users", "orders", "region", "channel")
DOMAIN = "example.com"
COUNTRIES = ("DE", "US", "JP", "BR")
DATABASES = ("analytics", "warehouse", "prod")
TABLES = ("orders", "events", "accounts", "sessions")
VIEW_VERSIONS = (1, 3)
HOURS_PER_DAY = 24
MINUTE_STEP = 15
MINUTES_PER_HOUR = 60
NAME_WORDS = 2
DESCRIPTION_WORDS = 6

# resource, path after /{workspace}, `_embedded` key (None: the resource's name), parent resource;
# a child's parent fills the last placeholder of its path with its `token` field
_TABLE: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("definitions", "/definitions", None, None),
    ("groups", "/groups", None, None),
    ("memberships", "/memberships", None, None),
    ("spaces", "/spaces", None, None),
    ("space_memberships", "/spaces/{space_token}/memberships", None, "spaces"),
    ("groups_memberships", "/groups/{group_token}/memberships", "group_memberships", "groups"),
    ("data_sources", "/data_sources", None, None),
    ("reports", "/data_sources/{data_source_token}/reports", None, "data_sources"),
    ("report_runs", "/reports/{report_token}/runs", None, "reports"),
    ("queries", "/reports/{report_token}/queries", None, "reports"),
    ("query_runs", "/reports/{report_token}/runs/{run_token}/query_runs", None, "report_runs"),
    ("charts", "/reports/{report_token}/queries/{query_token}/charts", None, "queries"),
    ("report_filters", "/reports/{report_token}/filters", None, "reports"),
    ("datasets", "/spaces/{space_token}/datasets", "reports", "spaces"),
    ("datasets_runs", "/datasets/{dataset_token}/runs", "report_runs", "datasets"),
    ("field_descriptions", "/datasets/{dataset_token}/field_descriptions", None, "datasets"),
    ("report_schedules", "/reports/{report_token}/schedules", None, "reports"),
    ("reports_subscriptions", "/reports/{report_token}/subscriptions", "report_subscriptions",
     "reports"),
    ("datasets_schedules", "/datasets/{dataset_token}/schedules", "report_schedules", "datasets"),
)  # fmt: skip
# every record is keyed on `token` but these; a subscription has no key of its own: it is the
# report's token (a URL param) plus `email`
KEYS = {"definitions": "id", "memberships": "member_username", "reports_subscriptions": "email"}
PARENT_FIELD = "token"
PAGED = frozenset({"report_runs", "datasets_runs", "field_descriptions"})
NEWEST_FIRST = frozenset({"report_runs", "datasets_runs"})


def _endpoint(resource: str, path: str, key: str | None, parent: str | None) -> EndpointSpec:
    link = ParentLink(parent, PARENT_FIELD, placeholders(path)[-1]) if parent else None
    return EndpointSpec(
        resource,
        "/{workspace}" + path,
        HalEnvelope(key or resource),
        PageNumberPaging(PAGE_SIZE) if resource in PAGED else NoPaging(),
        parent=link,
        order=Order("created_at", descending=True) if resource in NEWEST_FIRST else None,
        primary_key=(KEYS.get(resource, "token"),),
    )


SPEC = ApiSpec(
    name="bi_workspace",
    prefix="",
    auth=BasicAuth(API_TOKEN, API_SECRET, username_key="api_token", password_key="api_secret"),
    unauthorized_status=401,
    unauthorized_body=UNAUTHORIZED,
    endpoints=tuple(_endpoint(*row) for row in _TABLE),
    settings=(Setting("workspace", WORKSPACE, "the workspace name that starts every path"),),
)


def _links(*parts: str) -> dict[str, Any]:
    return {"self": {"href": "/" + "/".join((WORKSPACE, *parts))}}


def _sql(rng: random.Random) -> str:
    dimension, measure = rng.sample(COLUMNS, 2)
    table = rng.choice(TABLES)
    return f"SELECT {dimension}, count({measure}) FROM {table} GROUP BY 1"


class _Builder:
    """Draws every record from one seeded generator and puts the collections in a store."""

    def __init__(self, rng: random.Random, store: Store) -> None:
        self.rng, self.store = rng, store
        self.next_id, self.query_run_id = ID_START, QUERY_RUN_ID_START
        self.seen = dict.fromkeys(("groups", "spaces", "datasets", "reports", "queries"), 0)

    def token(self) -> str:
        return format(self.rng.getrandbits(TOKEN_BITS), TOKEN_FORMAT)

    def id(self) -> int:
        value = self.next_id
        self.next_id += self.rng.randint(*ID_STEP)
        return value

    def maybe(self, value: Any) -> Any:
        return None if self.rng.random() < NULL_RATE else value

    def flag(self) -> bool:
        return self.rng.random() < TRUE_RATE

    def name(self) -> str:
        return sentence(self.rng, NAME_WORDS)

    def text(self) -> str:
        return sentence(self.rng, DESCRIPTION_WORDS)

    def at(self) -> str:
        return iso_ms(moment(self.rng))

    def cycle(self, kind: str, counts: tuple[int, ...]) -> int:
        return counts[self.seen[kind] % len(counts)]

    def stamps(self) -> dict[str, str]:
        created = moment(self.rng)
        updated = moment(self.rng, created, UPDATE_GAP_DAYS)
        return {"created_at": iso_ms(created), "updated_at": iso_ms(updated)}

    def put(self, resource: str, key: Key, href: tuple[str, ...], rows: Iterable[Record]) -> None:
        """Store rows as one collection, each with a token first and its own `_links` last."""
        records = [
            {"token": (t := self.token()), **row, "_links": _links(*href, t)} for row in rows
        ]
        self.store.put(resource, records, key)

    def people(self, count: int) -> list[Record]:
        people = []
        for serial in range(1, count + 1):
            first, last = person(self.rng)
            username = email(first, last, DOMAIN, serial).split("@")[0]
            state = self.rng.choice(MEMBER_STATES)
            people.append({
                "member_username": username, "member_token": self.token(),
                "admin": serial == 1 or self.rng.random() < NULL_RATE, "state": state,
                "activated_at": self.at() if state == ACTIVATED_STATE else None,
                "_links": _links("memberships", username),
            })  # fmt: skip
        self.store.put("memberships", people)
        return people

    def groups(self, count: int, people: list[Record]) -> list[Record]:
        groups = []
        for token in (self.token() for _ in range(count)):
            size = min(len(people), self.cycle("groups", GROUP_MEMBER_COUNTS))
            members = [{"member_token": m["member_token"]} for m in self.rng.sample(people, size)]
            self.put("groups_memberships", (token,), ("groups", token, "memberships"), members)
            groups.append({
                "token": token, "name": self.name(), "group_type": "custom",
                "member_count": size, "state": "active", "_links": _links("groups", token),
            })  # fmt: skip
            self.seen["groups"] += 1
        self.store.put("groups", groups)
        return groups

    def spaces(self, count: int, people: list[Record], groups: list[Record]) -> list[Record]:
        spaces = []
        for token in (self.token() for _ in range(count)):
            size = min(len(people), self.cycle("spaces", SPACE_MEMBER_COUNTS))
            members: list[Record] = [
                {"member_token": u["member_token"], "member_type": "user",
                 "email": f"{u['member_username']}@{DOMAIN}"}
                for u in self.rng.sample(people, size)
            ]  # fmt: skip
            if self.cycle("spaces", GROUP_MEMBER_SPACES) and groups and members:
                group = self.rng.choice(groups)["token"]
                members[-1] = {"member_token": group, "member_type": "group", "email": None}
            self.put("space_memberships", (token,), ("spaces", token, "memberships"), members)
            self.datasets(token, self.cycle("spaces", DATASET_COUNTS))
            spaces.append({
                "id": self.id(), "token": token, "name": self.name(),
                "space_type": self.rng.choice(SPACE_TYPES), "state": "active",
                "restricted": self.flag(), "description": self.maybe(self.text()),
                "_links": _links("spaces", token),
            })  # fmt: skip
            self.seen["spaces"] += 1
        self.store.put("spaces", spaces)
        return spaces

    def runs(self, resource: str, count: int, parts: tuple[str, str]) -> list[Record]:
        rows, at = [], moment(self.rng)
        for index in range(count):
            at += timedelta(minutes=self.rng.randint(*RUN_GAP_MINUTES), milliseconds=index + 1)
            latest = index == count - 1
            running = latest and count % 2 == 1  # a newest run still running, by a fixed rule
            done = None if running else at + timedelta(seconds=self.rng.randint(*RUN_SECONDS))
            rows.append({
                "state": RUNNING if running else self.rng.choice(FINISHED_RUN_STATES),
                "parameters": {"country": self.rng.choice(COUNTRIES)} if self.flag() else {},
                "is_latest_report_run": latest, "created_at": iso_ms(at),
                "updated_at": iso_ms(done or at), "completed_at": iso_ms(done) if done else None,
            })  # fmt: skip
        self.put(resource, (parts[1],), (*parts, "runs"), rows)
        return self.store.records(resource, (parts[1],))

    def schedules(self, resource: str, count: int, parts: tuple[str, str]) -> None:
        self.put(resource, (parts[1],), (*parts, "schedules"), [
            {"name": self.name(), "report_token": parts[1],
             "frequency": self.rng.choice(FREQUENCIES),
             "hour": f"{self.rng.randrange(HOURS_PER_DAY):02d}",
             "minute": f"{self.rng.randrange(0, MINUTES_PER_HOUR, MINUTE_STEP):02d}",
             "time_zone": self.rng.choice(TIME_ZONES),
             "next_scheduled_run": self.at() if self.flag() else None, "created_at": self.at()}
            for _ in range(count)
        ])  # fmt: skip

    def datasets(self, space_token: str, count: int) -> None:
        datasets = []
        for token in (self.token() for _ in range(count)):
            parts = ("datasets", token)
            self.runs("datasets_runs", self.cycle("datasets", DATASET_RUN_COUNTS), parts)
            self.put("field_descriptions", (token,), (*parts, "field_descriptions"), [
                {"name": f"{self.rng.choice(COLUMNS)}_{n}", "description": self.maybe(self.text())}
                for n in range(self.cycle("datasets", FIELD_COUNTS))
            ])  # fmt: skip
            self.schedules(
                "datasets_schedules", self.cycle("datasets", DATASET_SCHEDULE_COUNTS), parts
            )
            datasets.append({
                "id": self.maybe(self.id()), "token": token, "name": self.name(),
                "type": "dataset", "space_token": space_token, **self.stamps(),
                "_links": _links(*parts),
            })  # fmt: skip
            self.seen["datasets"] += 1
        self.store.put("datasets", datasets, (space_token,))

    def data_sources(self, count: int, spaces: list[Record], people: list[Record]) -> list[Record]:
        sources = []
        for serial in range(1, count + 1):
            token = self.token()
            sources.append({
                "id": self.id(), "token": token, "name": company_name(self.rng, serial),
                "adapter": self.rng.choice(ADAPTERS), "host": self.maybe(f"db{serial}.{DOMAIN}"),
                "database": self.maybe(self.rng.choice(DATABASES)),
                "queryable": self.rng.random() > NULL_RATE, "created_at": self.at(),
                "_links": _links("data_sources", token),
            })  # fmt: skip
            reports = [self.report(sources[-1], spaces, people) for _ in range(REPORTS_PER_SOURCE)]
            self.store.put("reports", reports, (token,))
        self.store.put("data_sources", sources)
        return sources

    def definitions(self, count: int, sources: list[Record]) -> None:
        self.store.put("definitions", [
            {"id": self.id(), "token": (token := self.token()), "name": self.name(),
             "description": self.maybe(self.text()), "source": _sql(self.rng),
             "data_source_id": self.rng.choice(sources)["id"], **self.stamps(),
             "_links": _links("definitions", token)}
            for _ in range(count)
        ])  # fmt: skip

    def report(self, source: Record, spaces: list[Record], people: list[Record]) -> Record:
        token = self.token()
        parts = ("reports", token)
        runs = self.runs("report_runs", self.cycle("reports", REPORT_RUN_COUNTS), parts)
        rows = [{"id": self.id(), "name": self.name(), "raw_query": _sql(self.rng),
                 "data_source_id": source["id"], **self.stamps()}
                for _ in range(self.cycle("reports", QUERY_COUNTS))]  # fmt: skip
        self.put("queries", (token,), (*parts, "queries"), rows)
        queries = self.store.records("queries", (token,))
        for query in queries:
            self.charts(query, parts)
        for run in runs:
            self.query_runs(run, queries, parts)
        controls = self.rng.choices(CONTROL_TYPES, k=self.cycle("reports", FILTER_COUNTS))
        self.put("report_filters", (token,), (*parts, "filters"), [
            {"id": self.id(), "name": self.rng.choice(COLUMNS), "control_type": control,
             "data_type": data_type, "options": {"multiple": self.flag(), "default": None},
             "created_at": self.at()}
            for control, data_type in controls
        ])  # fmt: skip
        self.schedules("report_schedules", self.cycle("reports", SCHEDULE_COUNTS), parts)
        emails = [f"{p['member_username']}@{DOMAIN}" for p in people]
        count = min(len(emails), self.cycle("reports", SUBSCRIPTION_COUNTS))
        self.store.put("reports_subscriptions", [
            {"email": mail, "csv_attachments_enabled": self.flag(),
             "pdf_attachments_enabled": self.flag(), "report_links_enabled": self.flag(),
             "_links": _links(*parts, "subscriptions", mail)}
            for mail in self.rng.sample(emails, count)
        ], (token,))  # fmt: skip
        report = {
            "id": self.id(), "token": token, "name": self.name(),
            "description": self.maybe(self.text()), "type": "report",
            "space_token": spaces[self.seen["reports"] % len(spaces)]["token"],
            "archived": self.rng.random() < NULL_RATE, "query_count": len(queries),
            "runs_count": len(runs), **self.stamps(), "_links": _links(*parts),
        }  # fmt: skip
        self.seen["reports"] += 1
        return report

    def charts(self, query: Record, parts: tuple[str, str]) -> None:
        rows = []
        for _ in range(self.cycle("queries", CHART_COUNTS)):
            x, y = self.rng.sample(COLUMNS, 2)
            view = {"type": self.rng.choice(CHART_TYPES), "x": x, "y": y}
            rows.append({"view": view, "view_version": self.rng.randint(*VIEW_VERSIONS),
                         "created_at": self.at()})  # fmt: skip
        self.seen["queries"] += 1
        key = (parts[1], query["token"])
        self.put("charts", key, (*parts, "queries", query["token"], "charts"), rows)

    def query_runs(self, run: Record, queries: list[Record], parts: tuple[str, str]) -> None:
        rows = []
        for query in queries:
            self.query_run_id += 1
            rows.append({
                "id": str(self.query_run_id), "state": run["state"], "query_token": query["token"],
                "raw_source": query["raw_query"], "created_at": run["created_at"],
                "completed_at": run["completed_at"],
            })  # fmt: skip
        href = (*parts, "runs", run["token"], "query_runs")
        self.put("query_runs", (parts[1], run["token"]), href, rows)


def build_store(seed: int, scale: int) -> Store:
    """The API's data for a seed and scale: the same arguments always give the same records."""
    builder = _Builder(random.Random(seed), Store(SPEC))
    people = builder.people(MEMBERS_PER_SCALE * scale)
    groups = builder.groups(GROUPS_PER_SCALE * scale, people)
    spaces = builder.spaces(SPACES_PER_SCALE * scale, people, groups)
    sources = builder.data_sources(DATA_SOURCES_PER_SCALE * scale, spaces, people)
    builder.definitions(DEFINITIONS_PER_SCALE * scale, sources)
    return builder.store


API = ApiDefinition(
    spec=SPEC,
    build_store=build_store,
    description="Workspace members, spaces, data sources, reports, runs and datasets (seed 003)",
)
