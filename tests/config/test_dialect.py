"""The seed dialect's translation: each rule, and each error naming the resource and key."""

from __future__ import annotations

from typing import Any

import pytest

from restsync.config.dialect import translate
from restsync.errors import ConfigError
from restsync.http.guard import DetectedPaginator, SelectorGuard
from restsync.http.paginators import ShortPageOffsetPaginator, ShortPagePageNumberPaginator
from restsync.http.retry import RetryPolicy
from restsync.http.session import ENDPOINT_HEADER


def config(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "client": {"base_url": "http://127.0.0.1:1/v1"},
        "resources": list(resources),
    }
    base.update(extra)
    return base


def only_endpoint(cfg: dict[str, Any]) -> dict[str, Any]:
    endpoint: dict[str, Any] = translate(cfg).config["resources"][0]["endpoint"]
    return endpoint


def test_basic_auth_type_becomes_dlts_http_basic() -> None:
    cfg = config({"name": "a", "endpoint": {"path": "/a"}})
    cfg["client"]["auth"] = {"type": "basic", "username": "u", "password": "p"}
    assert translate(cfg).config["client"]["auth"] == {
        "type": "http_basic",
        "username": "u",
        "password": "p",
    }


def test_error_handler_becomes_that_endpoints_retry_policy() -> None:
    handler = {"retry_on_status_codes": [429], "max_retries": 3, "backoff_factor": 2}
    cfg = config(
        {"name": "a", "endpoint": {"path": "/a", "error_handler": handler}},
        {"name": "b", "endpoint": {"path": "/b"}},
    )
    translation = translate(cfg)
    assert translation.policies == {
        "a": RetryPolicy(statuses=frozenset({429}), max_retries=3, backoff_factor=2.0)
    }
    assert "error_handler" not in translation.config["resources"][0]["endpoint"]
    assert translation.config["resources"][0]["endpoint"]["headers"] == {ENDPOINT_HEADER: "a"}


def test_error_handler_in_resource_defaults_applies_to_every_resource() -> None:
    handler = {"retry_on_status_codes": [503], "max_retries": 1, "backoff_factor": 0}
    cfg = config(
        {"name": "a", "endpoint": {"path": "/a"}},
        resource_defaults={"endpoint": {"error_handler": handler}},
    )
    translation = translate(cfg)
    assert translation.policies["a"].statuses == frozenset({503})
    assert translation.default_policy == translation.policies["a"]


def test_cursor_paginator_limit_becomes_the_page_size_param() -> None:
    paginator = {"type": "cursor", "limit": 100, "cursor_param": "until", "cursor_path": "p.next"}
    endpoint = only_endpoint(
        config({"name": "a", "endpoint": {"path": "/a", "paginator": paginator}})
    )
    assert endpoint["params"] == {"limit": 100}
    assert endpoint["paginator"] == {
        "type": "cursor",
        "cursor_param": "until",
        "cursor_path": "p.next",
    }


def test_an_explicit_limit_param_wins_over_the_cursor_paginators_limit() -> None:
    paginator = {"type": "cursor", "limit": 100, "cursor_param": "until", "cursor_path": "p.next"}
    endpoint = {"path": "/a", "paginator": paginator, "params": {"limit": 50}}  # its own
    assert only_endpoint(config({"name": "a", "endpoint": endpoint}))["params"] == {"limit": 50}


def test_start_from_page_is_the_first_page() -> None:
    paginator = {"type": "page_number", "page_param": "page", "start_from_page": 1}
    endpoint = only_endpoint(
        config({"name": "a", "endpoint": {"path": "/a", "paginator": paginator}})
    )
    made = endpoint["paginator"]
    assert isinstance(made, ShortPagePageNumberPaginator)
    assert made.initial_value == 1 and made.base_index == 1


def test_empty_list_data_selector_means_the_response_itself() -> None:
    endpoint = only_endpoint(config({"name": "a", "endpoint": {"path": "/a", "data_selector": []}}))
    assert endpoint["data_selector"] == "$"


def test_offset_without_total_stops_on_short_page_and_with_total_stays_dlts() -> None:
    no_total = {"type": "offset", "limit": 10, "offset_param": "offset"}
    endpoint = only_endpoint(
        config({"name": "a", "endpoint": {"path": "/a", "paginator": no_total}})
    )
    assert isinstance(endpoint["paginator"], ShortPageOffsetPaginator)
    with_total = {**no_total, "total_path": "meta.total"}
    endpoint = only_endpoint(
        config({"name": "a", "endpoint": {"path": "/a", "paginator": with_total}})
    )
    assert endpoint["paginator"] == with_total


def test_literal_params_in_resource_defaults_fill_path_placeholders() -> None:
    cfg = config(
        {"name": "a", "endpoint": {"path": "/{workspace}/reports"}},
        resource_defaults={"params": {"workspace": "acme corp"}},
    )
    endpoint = only_endpoint(cfg)
    assert endpoint["path"] == "/acme corp/reports"  # as dlt binds it; requests quotes the space
    assert "params" not in endpoint
    owner_repo = config(
        {"name": "a", "endpoint": {"path": "/repos/{repo}/issues", "params": {"repo": "o/r"}}}
    )
    assert only_endpoint(owner_repo)["path"] == "/repos/o/r/issues"  # dlt: `str(value)`


def test_literal_params_that_are_not_placeholders_stay_query_params() -> None:
    cfg = config(
        {"name": "a", "endpoint": {"path": "/a"}},
        resource_defaults={"endpoint": {"params": {"lang": "en"}}},
    )
    assert only_endpoint(cfg)["params"] == {"lang": "en"}


def test_no_paginator_reads_a_single_page_instead_of_guessing() -> None:
    assert only_endpoint(config({"name": "a", "endpoint": {"path": "/a"}}))["paginator"] == (
        "single_page"
    )


def test_each_resource_gets_its_own_paginator_instance_from_defaults() -> None:
    cfg = config(
        {"name": "a", "endpoint": {"path": "/a"}},
        {"name": "b", "endpoint": {"path": "/b"}},
        resource_defaults={"endpoint": {"paginator": {"type": "offset", "limit": 5}}},
    )
    a, b = (r["endpoint"]["paginator"] for r in translate(cfg).config["resources"])
    assert isinstance(a, ShortPageOffsetPaginator) and a is not b


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (
            config({"name": "a", "endpoint": {"path": "/a", "data_selectr": "data"}}),
            "resource 'a', key 'endpoint.data_selectr': unknown key; did you mean 'data_selector'?",
        ),
        (
            config({"name": "m", "endpoint": {"path": "/orgs/{organizationId}/members"}}),
            "resource 'm', key 'endpoint.path': path placeholder {organizationId} has no parameter",
        ),
        (
            config(
                {
                    "name": "a",
                    "endpoint": {"path": "/a", "error_handler": {"retry_on_status": [429]}},
                }
            ),
            "key 'endpoint.error_handler.retry_on_status': unknown key; did you mean"
            " 'retry_on_status_codes'?",
        ),
        (
            config({"name": "a", "endpoint": {"path": "/a", "paginator": {"type": "offset"}}}),
            "resource 'a', key 'endpoint.paginator.limit': an offset paginator needs `limit`",
        ),
        (
            config({"name": "a", "endpoint": {"path": "/a", "error_handler": {"max_retries": -1}}}),
            "max_retries must be 0 or more",
        ),
        ({"client": {"base_url": "x"}}, "missing required key(s) ['resources']"),
        (config({"endpoint": {"path": "/a"}}), "key 'resources[0]'"),
        (config(resourcez=[]), "key 'resourcez': unknown key; did you mean 'resources'?"),
    ],
)
def test_untranslatable_configs_name_the_resource_and_key(
    cfg: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        translate(cfg)
    assert message in str(info.value)


def test_dlts_auto_paginator_is_detected_inside_the_selector_guard() -> None:
    for auto in ("auto", {"type": "auto"}):
        unguarded = only_endpoint(
            config({"name": "a", "endpoint": {"path": "/a", "paginator": auto}})
        )
        assert unguarded["paginator"] == auto  # no selector to guard: dlt detects it itself
        endpoint = {"path": "/a", "paginator": auto, "data_selector": "d"}
        guarded = only_endpoint(config({"name": "a", "endpoint": endpoint}))["paginator"]
        assert isinstance(guarded, SelectorGuard) and isinstance(guarded.inner, DetectedPaginator)


def test_a_client_paginator_is_translated_for_each_endpoint_without_one() -> None:
    cfg = config(
        {"name": "a", "endpoint": {"path": "/a"}},
        {"name": "b", "endpoint": {"path": "/b", "paginator": "single_page"}},
    )
    cfg["client"]["paginator"] = {"type": "offset", "limit": 10}  # no total: seed dialect
    translation = translate(cfg)
    first, second = (r["endpoint"]["paginator"] for r in translation.config["resources"])
    assert isinstance(first, ShortPageOffsetPaginator)
    assert second == "single_page"
    assert "paginator" not in translation.config["client"]


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        ({"path": "/a", "data_selector": "data["}, "endpoint.data_selector"),
        (
            {"path": "/a", "paginator": {"type": "offset", "limit": 2, "total_path": "a.."}},
            "endpoint.paginator.total_path",
        ),
        (
            {
                "path": "/a/{id}",
                "params": {"id": {"type": "resolve", "resource": "p", "field": "$["}},
            },
            "endpoint.params.id.field",
        ),
    ],
)
def test_a_jsonpath_dlt_cannot_read_is_named_at_its_key(endpoint: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match="is not a JSONPath") as caught:
        translate(
            config({"name": "p", "endpoint": {"path": "/p"}}, {"name": "a", "endpoint": endpoint})
        )
    assert caught.value.resource == "a" and caught.value.key == key


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        (config(resource_defaults={"endpoint": 5}), "resource_defaults.endpoint"),
        (config({"name": "a", "endpoint": ["/a"]}), "endpoint"),
        (config({"name": "a", "endpoint": {"path": "/a", "params": ["x"]}}), "endpoint.params"),
        ({"client": {"base_url": "http://x"}, "resources": {"a": {"endpoint": "/a"}}}, "resources"),
    ],
)
def test_a_wrong_shape_is_a_config_error_at_its_key(cfg: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match="must be a") as caught:
        translate(cfg)
    assert caught.value.key == key


def test_an_empty_total_path_is_dlts_none_and_userinfo_fills_an_empty_auth() -> None:
    paginator = {"type": "offset", "limit": 10, "total_path": ""}
    endpoint = only_endpoint(
        config({"name": "a", "endpoint": {"path": "/a", "paginator": paginator}})
    )
    assert endpoint["paginator"]["total_path"] == ""  # passed on: dlt reads it as no total
    cfg = config({"name": "a", "endpoint": {"path": "/a"}})
    cfg["client"] = {"base_url": "http://bob:p%40ss@127.0.0.1:1/v1", "auth": None}
    client = translate(cfg).config["client"]
    assert client["base_url"] == "http://127.0.0.1:1/v1"
    assert client["auth"] == {"type": "http_basic", "username": "bob", "password": "p@ss"}


def test_a_resources_params_win_over_the_defaults_and_keep_the_rest() -> None:
    config = {
        "client": {"base_url": "https://api.example.test"},
        "resource_defaults": {"endpoint": {"params": {"lang": "en", "limit": 10}}},
        "resources": [{"name": "r", "endpoint": {"path": "/r", "params": {"limit": 50}}}],
    }
    endpoint = translate(config).config["resources"][0]["endpoint"]
    assert endpoint["params"] == {"lang": "en", "limit": 50}  # as dlt merges them
