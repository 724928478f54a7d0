"""hosting (seed 004): projects with env vars, teams with members, the user, deployments, tokens.

Per /work/shared/specs/hosting.md: base `{host}`, versioned paths, `Authorization: Bearer`, 403
`{"error": {"code": "forbidden", "message": "Not authorized"}}`; lists come newest first by
`createdAt` with time-cursor paging (`limit` 20 by default, at most 100, `until=<ms>`, a
`pagination` block, `hasNext` on team members); `/v2/user` is one object, deployment events a bare
list; `/v6/deployments` takes `since=<ms>` (created at or after); timestamps are epoch ms.

Data at scale 1: 4 projects with 2, 21, 0 and 4 environment variables (21: two pages at the
default limit), 2 teams with 4 and 3 members (one person is in both), the user, 3 auth tokens,
5 aliases (some without a deployment or project), 50 deployments (pages of 20, 20, 10) with 4, 0,
1, 0, 3 build events in turn (80). Counts follow fixed cycles, so `scale=N` gives exactly N times
the records of every resource but `user`. `BENCHMARK_SCALE` (4,000) gives 200,000 deployments.
Every collection's `createdAt` values are unique, as `until` paging needs. Environment values
look like secrets (database URLs, API keys): they are data to load, never to log.
"""

from __future__ import annotations

import base64
import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager

from restsync.emulators.data import EPOCH_START, email, epoch_ms, person, sentence
from restsync.emulators.registry import ApiDefinition
from restsync.emulators.spec import (
    ApiSpec,
    BareList,
    BearerAuth,
    EndpointSpec,
    Filter,
    KeyEnvelope,
    NoPaging,
    Order,
    ParentLink,
    SingleObject,
    TimeCursorPaging,
)
from restsync.emulators.store import Record, Store

__all__ = ["API", "BENCHMARK_SCALE", "DEPLOYMENTS_PER_SCALE", "SPEC", "build_store"]

ACCESS_TOKEN = "hosting-emulator-access-token"
FORBIDDEN = {"error": {"code": "forbidden", "message": "Not authorized"}}
TIME_FIELD = "createdAt"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BENCHMARK_SCALE = 4000
PROJECTS_PER_SCALE = 4
TEAMS_PER_SCALE = 2
TOKENS_PER_SCALE = 3
ALIASES_PER_SCALE = 5
DEPLOYMENTS_PER_SCALE = 50
# counts cycle by index (project, team, deployment), so every scale unit looks alike
ENV_COUNTS = (2, 21, 0, 4)
TEAM_MEMBER_COUNTS = (4, 3)  # consecutive teams share one person
EVENT_COUNTS = (4, 0, 1, 0, 3)
START_MS = epoch_ms(EPOCH_START)
SPAN_MS = 540 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
UPDATE_SPAN_MS = 30 * DAY_MS
TOKEN_LIFETIME_MS = 90 * DAY_MS
BUILD_DELAY_MS = 500  # at least, plus up to SPREAD_MS
SPREAD_MS = 20_000
BUILD_TIME_MS = 300_000  # at most
EVENT_GAP_MS = 4_000
NAME_WORDS = 2
ID_LENGTH = 24
SHORT_ID_BITS = 36
SHORT_ID_FORMAT = "09x"
BASE64_CHARS = 4  # every 4 characters of base64 carry 3 bytes
BASE64_BYTES = 3
BASE64_ALTCHARS = b"xK"
ENV_ID_LENGTH = 16
SECRET_LENGTH = 32
SHA_BITS = 160
SHA_FORMAT = "040x"
EVENT_ID_BITS = 80
NULL_RATE = 0.25
TRUE_RATE = 0.5
DOMAIN = "example.com"
APP_DOMAIN = "example.app"
FRAMEWORKS = ("nextjs", "vite", "astro", "remix", "sveltekit", "gatsby")
QUEUED = "QUEUED"
STATES = ("READY", "READY", "READY", "READY", "ERROR", "CANCELED", "BUILDING", QUEUED)
FINISHED = frozenset({"READY", "ERROR", "CANCELED"})
TARGETS = ("production", "preview", None)
BRANCHES = ("main", "develop", "feature/login", "fix/cache", "release/2.0")
ROLES = ("OWNER", "MEMBER", "MEMBER", "DEVELOPER", "VIEWER")
ENV_TYPES = ("encrypted", "secret", "sensitive", "plain")
ENV_TARGETS = (
    ("production", "preview", "development"), ("production",), ("preview", "development"),
    ("development",), ("production", "preview"),
)  # fmt: skip
# (type, text, level) of a build log's events, in order; text and level may be null
EVENT_KINDS = (
    ("command", "Cloning repository", "info"),
    ("stdout", "Installing dependencies", None),
    ("stderr", None, "warning"),
    ("stdout", "Build completed", "info"),
    ("exit", "Deployment completed", "info"),
)
TOKEN_TYPES = ("oauth2-token", "token")
TOKEN_ORIGINS = ("manual", "github", "email", "saml")
LATEST_DEPLOYMENTS = 3
# a key and a value template per variable; `{}` takes a random secret
ENV_VARS = (
    ("DATABASE_URL", "postgres://app:{}@db.internal.example:5432/app"),
    ("STRIPE_SECRET_KEY", "sk_live_{}"),
    ("GITHUB_TOKEN", "ghp_{}"),
    ("JWT_SECRET", "{}"),
    ("SENTRY_DSN", "https://{}@o1.ingest.sentry.example/1"),
    ("OPENAI_API_KEY", "sk-{}"),
    ("REDIS_URL", "rediss://default:{}@cache.internal.example:6379"),
    ("NEXTAUTH_SECRET", "{}"),
)

SINCE = Filter("since", TIME_FIELD, "ge", int)  # on deployments: created at or after


def _cursor(
    resource: str,
    path: str,
    key: str,
    primary_key: str = "id",
    parent: ParentLink | None = None,
    has_next: bool = False,
) -> EndpointSpec:
    """A list paged by `until`, newest first by `createdAt`; `has_next` adds `hasNext`."""
    paging = TimeCursorPaging(TIME_FIELD, DEFAULT_LIMIT, MAX_LIMIT, has_next=has_next)
    filters = (SINCE,) if resource == "deployments" else ()
    return EndpointSpec(
        resource, path, KeyEnvelope(key), paging, parent, filters, primary_key=(primary_key,)
    )


SPEC = ApiSpec(
    name="hosting",
    prefix="",
    auth=BearerAuth(ACCESS_TOKEN),
    unauthorized_status=403,
    unauthorized_body=FORBIDDEN,
    endpoints=(
        _cursor("projects", "/v9/projects", "projects"),
        _cursor("teams", "/v2/teams", "teams"),
        EndpointSpec("user", "/v2/user", SingleObject("user"), primary_key=("id",)),
        _cursor("deployments", "/v6/deployments", "deployments", "uid"),
        _cursor("environments", "/v9/projects/{project}/env", "envs",
                parent=ParentLink("projects", "id", "project")),
        _cursor("auth_tokens", "/v5/user/tokens", "tokens"),
        _cursor("aliases", "/v4/aliases", "aliases", "uid"),
        EndpointSpec(
            "deployment_events",
            "/v3/deployments/{deployment}/events",
            BareList(),
            NoPaging(),
            parent=ParentLink("deployments", "uid", "deployment"),
            order=Order("created"),
            primary_key=("id",),
        ),
        # keyed on `uid` with the team's id: one person can be in two teams
        _cursor("teams_member", "/v2/teams/{team_id}/members", "members", "uid", has_next=True,
                parent=ParentLink("teams", "id", "team_id")),
    ),
)  # fmt: skip


def _ident(rng: random.Random, prefix: str = "", length: int = ID_LENGTH) -> str:
    """Random letters and digits (base64 with `x`/`K` for `+`/`/`); `length` a multiple of 4."""
    size = length // BASE64_CHARS * BASE64_BYTES
    return prefix + base64.b64encode(rng.randbytes(size), BASE64_ALTCHARS).decode()


def _times(rng: random.Random, count: int) -> list[int]:
    """`count` distinct epoch-ms instants, ascending: cursor paging needs unique times."""
    return [START_MS + offset for offset in sorted(rng.sample(range(SPAN_MS), count))]


def _slug(rng: random.Random, serial: int) -> str:
    return sentence(rng, NAME_WORDS).lower().replace(" ", "-") + f"-{serial}"


def _person(rng: random.Random, serial: int) -> Record:
    first, last = person(rng)
    address = email(first, last, DOMAIN, serial)
    name = None if rng.random() < NULL_RATE else f"{first} {last}"
    return {"uid": _ident(rng), "username": address.split("@")[0], "email": address, "name": name}


def _teams(rng: random.Random, count: int, user: Record) -> tuple[list[Record], list[Record]]:
    """Teams, each with its members under `_members`; the first holds the user as its owner."""
    teams, people = [], [user]
    for index, created in enumerate(_times(rng, count)):
        slug = _slug(rng, index + 1)
        teams.append({
            "id": _ident(rng, "team_"), "slug": slug, "name": slug.replace("-", " ").title(),
            "createdAt": created,
            "membership": {"role": "OWNER" if index == 0 else rng.choice(ROLES), "confirmed": True},
        })  # fmt: skip
        # the first team starts with the user; every second team shares a person with the last
        shared = people[-1:] if index == 0 or index % len(TEAM_MEMBER_COUNTS) else []
        size = TEAM_MEMBER_COUNTS[index % len(TEAM_MEMBER_COUNTS)]
        new = [_person(rng, len(people) + n + 1) for n in range(size - len(shared))]
        people.extend(new)
        teams[-1]["_members"] = [
            {**member, "role": "OWNER" if member is user else rng.choice(ROLES),
             "confirmed": rng.random() > NULL_RATE, "createdAt": joined}
            for member, joined in zip(shared + new, _times(rng, size), strict=True)
        ]  # fmt: skip
    return teams, people


def _projects(rng: random.Random, count: int, teams: list[Record]) -> list[Record]:
    return [
        {"id": _ident(rng, "prj_"), "name": _slug(rng, serial + 1),
         "accountId": rng.choice(teams)["id"] if teams else None,
         "framework": None if rng.random() < NULL_RATE else rng.choice(FRAMEWORKS),
         "createdAt": created, "updatedAt": created + rng.randrange(UPDATE_SPAN_MS),
         "latestDeployments": []}
        for serial, created in enumerate(_times(rng, count))
    ]  # fmt: skip


def _environments(rng: random.Random, count: int) -> list[Record]:
    envs = []
    for index, created in enumerate(_times(rng, count)):
        key, template = ENV_VARS[index % len(ENV_VARS)]
        suffix = f"_{index // len(ENV_VARS)}" if index >= len(ENV_VARS) else ""
        envs.append({
            "id": _ident(rng, length=ENV_ID_LENGTH), "key": key + suffix,
            "value": template.format(_ident(rng, length=SECRET_LENGTH)),
            "type": ENV_TYPES[int(rng.random() * len(ENV_TYPES))],
            "target": list(ENV_TARGETS[int(rng.random() * len(ENV_TARGETS))]),
            "createdAt": created, "updatedAt": created + int(rng.random() * UPDATE_SPAN_MS),
        })  # fmt: skip
    return envs


def _deployments(
    rng: random.Random, count: int, projects: list[Record], creators: list[Record]
) -> list[Record]:
    """The hot loop at benchmark scale: plain draws, shared `creator` objects; oldest first."""
    deployments, owners = [], []
    rnd = rng.random  # index by `int(rnd() * n)`: a third of the cost of `rng.choice`
    for created in _times(rng, count):
        project = projects[int(rnd() * len(projects))]
        state = STATES[int(rnd() * len(STATES))]
        building = None if state == QUEUED else created + BUILD_DELAY_MS + int(rnd() * SPREAD_MS)
        ready = building + int(rnd() * BUILD_TIME_MS) if building and state in FINISHED else None
        short = format(rng.getrandbits(SHORT_ID_BITS), SHORT_ID_FORMAT)
        deployments.append({
            "uid": _ident(rng, "dpl_"), "name": project["name"],
            "url": f"{project['name']}-{short}.{APP_DOMAIN}", "state": state,
            "target": TARGETS[int(rnd() * len(TARGETS))], "createdAt": created,
            "buildingAt": building, "ready": ready,
            "creator": creators[int(rnd() * len(creators))],
            "meta": {"githubCommitRef": BRANCHES[int(rnd() * len(BRANCHES))],
                     "githubCommitSha": format(rng.getrandbits(SHA_BITS), SHA_FORMAT)},
        })  # fmt: skip
        owners.append(project)
    for deployment, project in zip(reversed(deployments), reversed(owners), strict=True):
        latest = project["latestDeployments"]  # each project's newest, and no older updatedAt
        if len(latest) < LATEST_DEPLOYMENTS:
            latest.append({key: deployment[key] for key in ("uid", "url", "state", TIME_FIELD)})
            project["updatedAt"] = max(project["updatedAt"], deployment[TIME_FIELD])
    return deployments


def _events(rng: random.Random, deployment: Record, count: int) -> list[Record]:
    """A build log: the kinds in order, a few seconds apart (cheap: two draws an event)."""
    at = deployment["buildingAt"] or deployment[TIME_FIELD]
    info = {"type": "build", "name": _ident(rng, "bld_"), "entrypoint": "."}
    events = []
    for serial in range(count):
        at += 1 + int(rng.random() * EVENT_GAP_MS)
        kind, text, level = EVENT_KINDS[serial % len(EVENT_KINDS)]
        events.append({
            "id": f"evt_{rng.getrandbits(EVENT_ID_BITS):020x}", "type": kind, "created": at,
            "deploymentId": deployment["uid"], "serial": f"{at}{serial:06d}", "text": text,
            "level": level, "info": info,
        })  # fmt: skip
    return events


def _auth_tokens(rng: random.Random, count: int) -> list[Record]:
    tokens = []
    for created in _times(rng, count):
        origin = rng.choice(TOKEN_ORIGINS)
        expires = None if rng.random() < NULL_RATE else created + TOKEN_LIFETIME_MS
        tokens.append({
            "id": _ident(rng), "name": sentence(rng, NAME_WORDS), "type": rng.choice(TOKEN_TYPES),
            "origin": origin,
            "scopes": [
                {"type": "user", "origin": origin, "createdAt": created, "expiresAt": expires}
            ],
            "activeAt": created + rng.randrange(UPDATE_SPAN_MS), "createdAt": created,
            "expiresAt": expires,
        })  # fmt: skip
    return tokens


def _aliases(
    rng: random.Random, count: int, projects: list[Record], deployments: list[Record]
) -> list[Record]:
    aliases: list[Record] = []
    for created in _times(rng, count):
        deployment = rng.choice(deployments) if deployments and rng.random() > NULL_RATE else None
        project = rng.choice(projects) if projects and rng.random() > NULL_RATE else None
        name = project["name"] if project else _slug(rng, len(aliases) + 1)
        aliases.append({
            "uid": _ident(rng), "alias": f"{name}.{APP_DOMAIN}",
            "deploymentId": deployment["uid"] if deployment else None,
            "projectId": project["id"] if project else None,
            "createdAt": created, "updatedAt": created + rng.randrange(UPDATE_SPAN_MS),
        })  # fmt: skip
    return aliases


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: it would scan the growing records (acyclic) over and
    over, which doubles the time to build 200,000 deployments."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_store(seed: int, scale: int) -> Store:
    """The API's data for a seed and scale: the same arguments always give the same records."""
    with _collector_paused():
        return _build(random.Random(seed), scale)


def _build(rng: random.Random, scale: int) -> Store:
    store = Store(SPEC)
    user = _person(rng, 0)
    teams, people = _teams(rng, TEAMS_PER_SCALE * scale, user)
    for team in teams:
        store.put("teams_member", team.pop("_members"), (team["id"],))
    store.put("teams", teams)
    store.put("user", [{
        "id": user["uid"], "email": user["email"], "username": user["username"],
        "name": user["name"], "defaultTeamId": teams[0]["id"] if teams else None,
        "createdAt": START_MS,
    }])  # fmt: skip
    projects = _projects(rng, PROJECTS_PER_SCALE * scale, teams)
    for index, project in enumerate(projects):
        store.put("environments", _environments(rng, ENV_COUNTS[index % len(ENV_COUNTS)]),
                  (project["id"],))  # fmt: skip
    creators = [{"uid": p["uid"], "username": p["username"]} for p in people]
    deployments = _deployments(rng, DEPLOYMENTS_PER_SCALE * scale, projects, creators)
    store.put("projects", projects)
    store.put("deployments", deployments)
    for index, deployment in enumerate(deployments):
        count = EVENT_COUNTS[index % len(EVENT_COUNTS)]
        if count:  # a deployment without events still answers, with an empty list
            store.put("deployment_events", _events(rng, deployment, count), (deployment["uid"],))
    store.put("auth_tokens", _auth_tokens(rng, TOKENS_PER_SCALE * scale))
    store.put("aliases", _aliases(rng, ALIASES_PER_SCALE * scale, projects, deployments))
    return store


API = ApiDefinition(
    spec=SPEC,
    build_store=build_store,
    description="Projects, env vars, teams, members, the user, deployments and events (seed 004)",
)
