"""Envelopes, paging styles and filters, over real sockets against the toy API."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restsync.emulators import Emulator, OffsetPaging, Outcome, PageNumberPaging, TimeCursorPaging
from restsync.emulators.paging import BadRequest, Page, paginate
from tests.emulators.toy_api import (
    EVENTS_PER_SCALE,
    ITEMS_OFFSET_DEFAULT,
    ITEMS_OFFSET_MAX,
    PAGES_PER_SCALE,
    Client,
    make_events,
    make_items,
)


def walk_offset(client: Client, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Read /items the way a client without a total does: until a page is short."""
    records: list[dict[str, Any]] = []
    requests_made = 0
    page_size = limit or ITEMS_OFFSET_DEFAULT
    while True:
        params: dict[str, Any] = {"offset": len(records)}
        if limit is not None:
            params["limit"] = limit
        page = client.json("/items", **params)["data"]
        requests_made += 1
        records.extend(page)
        if len(page) < page_size:
            return records, requests_made


# --- offset / limit ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected_requests"),
    [(0, 1), (4, 1), (5, 2), (6, 2), (9, 2), (10, 3), (11, 3)],
    ids=["zero", "one-less", "exact", "one-more", "2x-less", "2x-exact", "2x-more"],
)
def test_offset_paging_boundaries(
    toy: Emulator, toy_client: Client, count: int, expected_requests: int
) -> None:
    toy.store.put("items", make_items(count))
    records, requests_made = walk_offset(toy_client)
    assert [r["id"] for r in records] == list(range(1, count + 1))  # ascending, each once
    assert requests_made == expected_requests
    assert toy.requests.count(resource="items") == expected_requests


def test_offset_past_the_end_is_an_empty_list(toy_client: Client) -> None:
    assert toy_client.json("/items", offset=1000) == {"data": []}


def test_offset_limit_is_capped_and_defaults(toy: Emulator, toy_client: Client) -> None:
    toy.store.put("items", make_items(30))
    assert len(toy_client.json("/items")["data"]) == ITEMS_OFFSET_DEFAULT
    assert len(toy_client.json("/items", limit=3)["data"]) == 3
    assert len(toy_client.json("/items", limit=1000)["data"]) == ITEMS_OFFSET_MAX


@pytest.mark.parametrize(
    "params", [{"limit": "abc"}, {"limit": 0}, {"offset": -1}, {"offset": "x"}, {"page": 0}]
)
def test_malformed_paging_params_are_400(toy: Emulator, params: dict[str, Any]) -> None:
    client = Client(toy)
    path = "/main/pages" if "page" in params else "/items"
    response = client.get(path, **params)
    assert response.status_code == 400
    assert "must be" in response.json()["error"]["message"]
    assert toy.requests.count(outcome=Outcome.BAD_REQUEST) == 1


@given(
    count=st.integers(min_value=0, max_value=60),
    limit=st.integers(min_value=1, max_value=15),
    cap=st.integers(min_value=1, max_value=15),
)
def test_offset_walk_yields_every_record_once(count: int, limit: int, cap: int) -> None:
    records = [{"id": i} for i in range(count)]
    paging = OffsetPaging(default_limit=limit, max_limit=cap)
    seen: list[dict[str, Any]] = []
    while True:
        page = paginate(records, paging, {"offset": str(len(seen))})
        seen.extend(page.records)
        if len(page.records) < min(limit, cap):
            break
    assert seen == records


# --- page number (HAL) ------------------------------------------------------------------------


def test_page_number_paging_with_hal_envelope(toy: Emulator, toy_client: Client) -> None:
    sizes: list[int] = []
    ids: list[int] = []
    for page in range(1, 5):
        body = toy_client.json("/main/pages", page=page)
        assert body["_links"]["self"]["href"] == f"/api/main/pages?page={page}"
        things = body["_embedded"]["things"]
        sizes.append(len(things))
        ids.extend(t["id"] for t in things)
    assert sizes == [20, 20, PAGES_PER_SCALE - 40, 0]
    assert ids == list(range(PAGES_PER_SCALE))
    assert toy_client.json("/main/pages")["_embedded"]["things"][0]["id"] == 0  # page 1 default


def test_page_number_paging_unit() -> None:
    records = [{"id": i} for i in range(40)]
    paging = PageNumberPaging(page_size=20)
    assert len(paginate(records, paging, {"page": "2"}).records) == 20
    assert paginate(records, paging, {"page": "3"}) == Page([])
    with pytest.raises(BadRequest):
        paginate(records, paging, {"page": "0"})


def test_settings_fill_the_path(toy: Emulator, toy_client: Client) -> None:
    assert toy.settings == {"space": "main"}
    assert toy_client.get("/other/pages").status_code == 404
    assert toy.url("pages") == f"{toy.base_url}/main/pages"
    assert all(s.params == {} for s in toy.truth("pages"))


# --- cursor by time ---------------------------------------------------------------------------


def test_time_cursor_walk(toy: Emulator, toy_client: Client) -> None:
    times: list[int] = []
    until: int | None = None
    pages = 0
    while True:
        params = {} if until is None else {"until": until}
        body = toy_client.json("/events", **params)
        pages += 1
        events = body["events"]
        pagination = body["pagination"]
        assert pagination["count"] == len(events)
        assert body["hasNext"] is (pagination["next"] is not None)
        if events:
            assert pagination["prev"] == events[0]["createdAt"]
        times.extend(e["createdAt"] for e in events)
        until = pagination["next"]
        if until is None:
            break
        assert until == events[-1]["createdAt"]
    assert pages == 3  # 47 records at the default limit of 20
    expected = sorted((e["createdAt"] for e in make_events(EVENTS_PER_SCALE)), reverse=True)
    assert times == expected  # newest first, every record once
    assert [s.record["createdAt"] for s in toy.truth("events")] == expected


def test_time_cursor_last_page_exact_and_past_the_end(toy: Emulator, toy_client: Client) -> None:
    toy.store.put("events", make_events(40))
    first = toy_client.json("/events")
    second = toy_client.json("/events", until=first["pagination"]["next"])
    assert second["pagination"]["count"] == 20
    assert second["pagination"]["next"] is None and second["hasNext"] is False
    oldest = second["events"][-1]["createdAt"]
    past = toy_client.json("/events", until=oldest)
    assert past["events"] == []
    assert past["pagination"] == {"count": 0, "next": None, "prev": None}


def test_time_cursor_limit_cap_and_since(toy: Emulator, toy_client: Client) -> None:
    toy.store.put("events", make_events(150))
    assert len(toy_client.json("/events", limit=500)["events"]) == 100
    assert len(toy_client.json("/events", limit=7)["events"]) == 7
    since = make_events(150)[140]["createdAt"]
    body = toy_client.json("/events", since=since, limit=5)
    assert [e["createdAt"] for e in body["events"]] == [since + 1000 * k for k in range(9, 4, -1)]
    rest = toy_client.json("/events", since=since, limit=5, until=body["pagination"]["next"])
    assert [e["createdAt"] for e in rest["events"]] == [since + 1000 * k for k in range(4, -1, -1)]
    assert rest["pagination"]["next"] is None  # `since` (at or after) includes the boundary


def test_time_cursor_unit_rejects_bad_until() -> None:
    with pytest.raises(BadRequest):
        paginate([], TimeCursorPaging("t"), {"until": "yesterday"})


# --- incremental filter -----------------------------------------------------------------------


def test_updated_after_is_strictly_later(toy: Emulator, toy_client: Client) -> None:
    items = sorted(make_items(12), key=lambda r: r["id"])
    boundary = items[7]["updated"]
    body = toy_client.json("/items", updated_after=boundary, limit=10)
    assert [r["id"] for r in body["data"]] == [9, 10, 11, 12]
    assert toy_client.json("/items", updated_after="2100-01-01 00:00:00") == {"data": []}
    toy.store.update("items", {"id": 3}, {"updated": "2030-01-01 00:00:00"})
    again = toy_client.json("/items", updated_after=boundary, limit=10)
    assert [r["id"] for r in again["data"]] == [3, 9, 10, 11, 12]  # still ascending by id


def test_malformed_filter_value_is_400(toy_client: Client) -> None:
    response = toy_client.get("/items", updated_after="last tuesday")
    assert response.status_code == 400
    assert "updated_after" in response.json()["error"]["message"]


# --- envelopes and children -------------------------------------------------------------------


def test_bare_list_child_and_unknown_parent(toy: Emulator, toy_client: Client) -> None:
    body = toy_client.get_url(toy.url("children", (2,))).json()
    assert isinstance(body, list) and [c["id"] for c in body] == ["c2-0", "c2-1"]
    assert toy_client.get_url(toy.url("children", (3,))).json() == []  # a parent with no children
    missing = toy_client.get_url(toy.url("children", (999,)))
    assert missing.status_code == 404
    toy.store.add("items", {"id": 999, "name": "new", "updated": "2024-06-01 00:00:00"})
    assert toy_client.get_url(toy.url("children", (999,))).json() == []
    toy.store.add("children", {"id": "c999-0"}, {"item_id": 999})
    assert toy_client.get_url(toy.url("children", (999,))).json() == [{"id": "c999-0"}]


def test_two_ancestor_child(toy: Emulator, toy_client: Client) -> None:
    served = toy.truth("grandchildren")
    assert served
    for params, record in served:
        assert set(params) == {"item_id", "child_id"}
        assert toy_client.get_url(toy.url("grandchildren", params)).json() == {"data": [record]}
    wrong_pair = {"item_id": "1", "child_id": "c2-0"}  # a real child id under the wrong item
    assert toy_client.get_url(toy.url("grandchildren", wrong_pair)).status_code == 404


def test_single_object_envelope(toy_client: Client) -> None:
    body = toy_client.json("/me")
    assert set(body) == {"user"} and body["user"]["id"] == "u1"


def test_unknown_path_and_method(toy: Emulator, toy_client: Client) -> None:
    assert toy_client.get("/nope").status_code == 404
    assert toy_client.get("/items/").status_code == 404
    response = toy_client.session.post(toy.base_url + "/items", timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    assert toy.requests.count(outcome=Outcome.NOT_FOUND) == 2
