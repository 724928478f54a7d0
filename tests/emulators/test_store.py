"""The data store: truth with params, changes between syncs, derived child URLs, determinism."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from restsync.emulators import Emulator, Served, Store, TimeCursorPaging, available, data, get_api
from tests.emulators.toy_api import TOY_API, TOY_SPEC, Client


def test_truth_carries_the_params_of_the_serving_url(toy: Emulator) -> None:
    served = toy.truth("children")
    assert served and all(isinstance(s, Served) for s in served)
    for params, record in served:
        assert set(params) == {"item_id"}
        assert record["id"].startswith(f"c{params['item_id']}-")
    assert toy.truth("items")[0].params == {}
    assert [s.record["id"] for s in toy.truth("items")] == sorted(
        s.record["id"] for s in toy.truth("items")
    )  # truth is in serve order


def test_truth_matches_what_http_serves(toy: Emulator, toy_client: Client) -> None:
    for resource in ("children", "grandchildren"):
        over_http: list[dict[str, Any]] = []
        for key in toy.store.keys(resource):
            body = toy_client.get_url(toy.url(resource, key)).json()
            over_http.extend(body if isinstance(body, list) else body["data"])
        assert over_http == [s.record for s in toy.truth(resource)]


def test_truth_returns_copies(toy: Emulator) -> None:
    toy.truth("items")[0].record["name"] = "changed"
    assert toy.truth("items")[0].record["name"] != "changed"


def test_add_update_remove(toy: Emulator, toy_client: Client) -> None:
    before = len(toy.truth("items"))
    toy.store.add("items", {"id": 500, "name": "new", "updated": "2024-02-02 00:00:00"})
    assert len(toy.truth("items")) == before + 1
    assert toy.store.update("items", {"id": 500}, {"name": "renamed"}) == 1
    assert toy.store.update("items", {"id": 501}, {"name": "x"}) == 0
    assert toy.store.records("items")[-1]["name"] == "renamed"
    served = toy_client.json("/items", offset=before, limit=10)["data"]
    assert served[-1] == {"id": 500, "name": "renamed", "updated": "2024-02-02 00:00:00"}
    assert toy.store.remove("items", {"id": 500}) == 1
    assert len(toy.truth("items")) == before


def test_removing_a_parent_hides_its_children(toy: Emulator, toy_client: Client) -> None:
    url = toy.url("children", (2,))
    assert toy_client.get_url(url).status_code == 200
    toy.store.remove("items", {"id": 2})
    assert toy_client.get_url(url).status_code == 404
    assert ("2",) in toy.store.orphans("children")
    assert all(s.params["item_id"] != "2" for s in toy.truth("children"))


def test_params_by_name_or_position(toy: Emulator) -> None:
    store = toy.store
    assert store.key("grandchildren", {"item_id": 1, "child_id": "c1-0"}) == ("1", "c1-0")
    assert store.key("grandchildren", (1, "c1-0")) == ("1", "c1-0")
    with pytest.raises(ValueError, match="keyed by"):
        store.key("grandchildren", (1,))
    with pytest.raises(KeyError, match="missing"):
        store.key("grandchildren", {"item_id": 1})
    with pytest.raises(KeyError, match="no resource"):
        store.key("nope")


def test_no_orphans_in_generated_data() -> None:
    for api in [TOY_API, *(get_api(name) for name in available())]:
        store = api.build_store(0, 2)
        for resource in api.spec.resources:
            assert store.orphans(resource) == [], (api.name, resource)


def test_empty_store_serves_empty_lists() -> None:
    store = Store(TOY_SPEC)
    assert store.truth("items") == []
    assert store.keys("items") == [()]
    assert store.keys("children") == []
    assert store.count("events") == 0


@pytest.mark.parametrize("name", ["toy", *available()])
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    api = TOY_API if name == "toy" else get_api(name)

    def everything(seed: int) -> dict[str, list[Served]]:
        store = api.build_store(seed, 1)
        return {resource: store.truth(resource) for resource in api.spec.resources}

    assert everything(3) == everything(3)
    assert everything(3) != everything(4)


@pytest.mark.parametrize("name", available())
def test_time_cursor_fields_are_unique_integers(name: str) -> None:
    """Time-cursor paging skips records that share a boundary time or have none; guard the data."""
    api = get_api(name)
    store = api.build_store(0, 2)
    for endpoint in api.spec.endpoints:
        if not isinstance(endpoint.paging, TimeCursorPaging):
            continue
        field = endpoint.paging.time_field
        for key in store.keys(endpoint.resource):
            times = [r.get(field) for r in store.served_list(endpoint.resource, key) or []]
            assert all(isinstance(t, int) for t in times), (endpoint.resource, key)
            assert len(set(times)) == len(times), (endpoint.resource, key)


def test_data_helpers() -> None:
    rng = random.Random(1)
    moment = data.moment(rng)
    assert data.moment(random.Random(1)) == moment
    assert data.parse_sql_datetime(data.sql_datetime(moment)) == moment.replace(
        microsecond=0, tzinfo=None
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data.iso_ms(moment))
    assert data.epoch_ms(moment) // 1000 == int(moment.timestamp())
    assert data.uuid4(random.Random(2)) == data.uuid4(random.Random(2))
    assert re.fullmatch(r"#[0-9a-f]{6}", data.hex_color(rng))
    with pytest.raises(ValueError):
        data.parse_sql_datetime("2024-13-01 00:00:00")
