"""feature_flags per /work/shared/specs/feature_flags.md, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restsync.emulators import Emulator, EmulatorOptions, Faults, get_api, run_emulator
from restsync.emulators.feature_flags import ORGS_PER_SCALE, PRODUCTS_PER_ORG
from tests.emulators.toy_api import Client

RESOURCES = ("organizations", "organization_members", "products", "tags", "environments")
TIMEOUT_S = 10


@pytest.fixture(scope="module")
def ff_server() -> Iterator[Emulator]:
    with run_emulator("feature_flags") as emu:
        yield emu


@pytest.fixture
def ff(ff_server: Emulator) -> Emulator:
    ff_server.reset()
    return ff_server


def crawl(client: Client) -> dict[str, list[tuple[dict[str, str], dict[str, Any]]]]:
    """Read the whole API the way a connector does: parents first, children from parent fields."""
    out: dict[str, list[tuple[dict[str, str], dict[str, Any]]]] = {}
    out["organizations"] = [({}, r) for r in client.json("/organizations")["data"]]
    out["products"] = [({}, r) for r in client.json("/products")["data"]]
    out["organization_members"] = [
        ({"organizationId": org["organizationId"]}, member)
        for _, org in out["organizations"]
        for member in client.json(f"/organizations/{org['organizationId']}/members")["data"]
    ]
    for child in ("tags", "environments"):
        out[child] = [
            ({"productId": product["productId"]}, record)
            for _, product in out["products"]
            for record in client.json(f"/products/{product['productId']}/{child}")["data"]
        ]
    return out


def test_truth_matches_what_http_serves(ff: Emulator) -> None:
    crawled = crawl(Client(ff))
    assert set(crawled) == set(RESOURCES) == set(ff.api.spec.resources)
    for resource in RESOURCES:
        assert crawled[resource], resource
        assert crawled[resource] == [tuple(s) for s in ff.truth(resource)], resource
    assert ff.requests.count(status=200) == len(ff.requests)


def test_shape_per_spec(ff: Emulator) -> None:
    assert ff.base_url.endswith("/v1")
    orgs = {s.record["organizationId"]: s.record for s in ff.truth("organizations")}
    assert len(orgs) == ORGS_PER_SCALE
    for _, org in ff.truth("organizations"):
        assert set(org) == {"organizationId", "name"}
    products = ff.truth("products")
    assert len(products) == ORGS_PER_SCALE * PRODUCTS_PER_ORG
    for _, product in products:
        assert set(product) == {
            "productId", "name", "description", "order", "reasonRequired", "organizationId"
        }  # fmt: skip
        assert product["organizationId"] == orgs[product["organizationId"]["organizationId"]]
        assert isinstance(product["order"], int) and isinstance(product["reasonRequired"], bool)
    for _, member in ff.truth("organization_members"):
        assert set(member) == {"userId", "fullName", "email"} and "@" in member["email"]


def test_tags_have_unique_integer_ids_and_a_product(ff: Emulator) -> None:
    tags = ff.truth("tags")
    ids = [s.record["tagId"] for s in tags]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids)
    for params, tag in tags:
        assert tag["product"]["productId"] == params["productId"]
        assert set(tag) == {"tagId", "name", "color", "product"}
    tagged = {s.params["productId"] for s in tags}
    assert len(tagged) < len(ff.truth("products"))  # some product has an empty tag list


def test_environments_have_nulls_but_always_an_id(ff: Emulator) -> None:
    envs = [s.record for s in ff.truth("environments")]
    assert all(isinstance(e["environmentId"], str) for e in envs)
    assert len({e["environmentId"] for e in envs}) == len(envs)
    for name in ("name", "description", "color", "order", "reasonRequired"):
        values = [e[name] for e in envs]
        assert None in values, name
        assert any(v is not None for v in values), name


def test_a_user_belongs_to_two_organizations(ff: Emulator) -> None:
    orgs_of: dict[str, set[str]] = {}
    records_of: dict[str, list[dict[str, Any]]] = {}
    for org, members in _members_by_org(ff).items():
        ids = [m["userId"] for m in members]
        assert len(ids) == len(set(ids))  # once per organization
        for member in members:
            orgs_of.setdefault(member["userId"], set()).add(org)
            records_of.setdefault(member["userId"], []).append(member)
    shared = [user for user, orgs in orgs_of.items() if len(orgs) >= 2]
    assert shared
    first, second = records_of[shared[0]][:2]
    assert first == second  # the same person in both


def _members_by_org(ff: Emulator) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for params, record in ff.truth("organization_members"):
        out.setdefault(params["organizationId"], []).append(record)
    return out


def test_unauthorized_body(ff: Emulator) -> None:
    response = requests.get(ff.base_url + "/organizations", auth=("x", "y"), timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_rate_limit_header_names(ff: Emulator) -> None:
    ff.set_faults(Faults(rate_limit=10, rate_burst=1))
    client = Client(ff)
    ok, limited = client.get("/products"), client.get("/products")
    assert ok.status_code == 200 and limited.status_code == 429
    for response in (ok, limited):
        assert "X-Rate-Limit-Remaining" in response.headers
        assert "X-Rate-Limit-Reset" in response.headers
        assert "X-RateLimit-Remaining" not in response.headers
    assert int(limited.headers["Retry-After"]) >= 1


def test_no_pagination_params_change_nothing(ff: Emulator) -> None:
    client = Client(ff)
    assert client.json("/products", offset=5, limit=1, page=3) == client.json("/products")


def test_scale_multiplies_the_data() -> None:
    api = get_api("feature_flags")
    small, large = api.build_store(0, 1), api.build_store(0, 10)
    for resource in RESOURCES:
        assert large.count(resource) == 10 * small.count(resource), resource


def test_scale_ten_over_http() -> None:
    with run_emulator("feature_flags", EmulatorOptions(scale=10, seed=5)) as emu:
        crawled = crawl(Client(emu))
        assert len(crawled["organizations"]) == 10 * ORGS_PER_SCALE
        assert crawled["tags"] == [tuple(s) for s in emu.truth("tags")]
