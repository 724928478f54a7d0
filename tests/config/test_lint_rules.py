"""Each lint rule on a small invalid config: the rule ID, the JSON path, and the message.

Placeholder rules (RS2xx) have their table in test_lint_placeholders.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from restsync.config.lint import RULES, Severity, lint, lint_file, path_key
from restsync.config.loader import Reference
from restsync.connectors import available, get_connector

BASE_URL = "https://api.example.com/v1"


def resource(name: str, path: str, **extra: Any) -> dict[str, Any]:
    """A resource that on its own raises nothing: keyed, paginated, records selected."""
    endpoint = {"path": path, "data_selector": "data", "paginator": "single_page"}
    endpoint.update(extra.pop("endpoint", {}))
    return {"name": name, "primary_key": "id", "endpoint": endpoint, **extra}


def config(*resources: dict[str, Any], **top: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "client": {"base_url": BASE_URL},
        "resources": list(resources) or [resource("customers", "/customers")],
    }
    cfg.update(top)
    return cfg


def without(cfg: dict[str, Any], *path: str | int) -> dict[str, Any]:
    out = copy.deepcopy(cfg)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def paged(paginator: dict[str, Any]) -> dict[str, Any]:
    return config(resource("customers", "/customers", endpoint={"paginator": paginator}))


def resolve(parent: str, field: str) -> dict[str, str]:
    return {"type": "resolve", "resource": parent, "field": field}


@dataclass(frozen=True)
class Case:
    id: str
    config: Any
    rule: str
    path: str
    message: str


CASES = [
    Case(
        "typo in an endpoint key",
        config(resource("a", "/a", endpoint={"data_selectr": "data"})),
        "RS101",
        "resources[0].endpoint.data_selectr",
        "unknown key `data_selectr`; did you mean `data_selector`?",
    ),
    Case(
        "typo at the top",
        config(resourcez=[]),
        "RS101",
        "resourcez",
        "did you mean `resources`?",
    ),
    Case(
        "an endpoint key on the resource",
        config({**resource("a", "/a"), "paginator": "single_page"}),
        "RS101",
        "resources[0].paginator",
        "`paginator` does not belong here.",
    ),
    Case(
        "typo in a paginator",
        paged({"type": "offset", "limit": 10, "offset_parm": "o", "total_path": "total"}),
        "RS101",
        "resources[0].endpoint.paginator.offset_parm",
        "did you mean `offset_param`?",
    ),
    Case(
        "typo in an error_handler",
        config(resource("a", "/a", endpoint={"error_handler": {"retry_on_status": [429]}})),
        "RS101",
        "resources[0].endpoint.error_handler.retry_on_status",
        "did you mean `retry_on_status_codes`?",
    ),
    Case(
        "basic auth with `user`",
        config(client={"base_url": BASE_URL, "auth": {"type": "http_basic", "user": "u"}}),
        "RS104",
        "client.auth.username",
        "`username` is required for `http_basic` auth.",
    ),
    Case(
        "cursor limit",
        paged({"type": "cursor", "limit": 100, "cursor_path": "next", "cursor_param": "until"}),
        "RS102",
        "resources[0].endpoint.paginator.limit",
        "query parameter `limit=N` on every page (here N = 100)",
    ),
    Case(
        "data_selector []",
        config(resource("a", "/a", endpoint={"data_selector": []})),
        "RS102",
        "resources[0].endpoint.data_selector",
        "`$`: the response itself is the list",
    ),
    Case(
        "resource_defaults.params",
        config(resource_defaults={"params": {"lang": "en"}}),
        "RS102",
        "resource_defaults.params",
        "restsync sends them with every resource's requests",
    ),
    Case(
        "error_handler",
        config(resource("a", "/a", endpoint={"error_handler": {"max_retries": 2}})),
        "RS102",
        "resources[0].endpoint.error_handler",
        "a `RetryPolicy` for that endpoint's requests (retries [429, 500, 502, 503, 504] up to 2",
    ),
    Case(
        "bad write disposition",
        config(resource("a", "/a", write_disposition="upsert")),
        "RS103",
        "resources[0].write_disposition",
        "`upsert` is not a valid disposition.",
    ),
    Case("resources not a list", config(resources={}), "RS103", "resources", "must be a list"),
    Case("not a mapping", ["client"], "RS103", "", "a config must be a mapping, got list."),
    Case(
        "unknown paginator type",
        paged({"type": "offest", "limit": 10}),
        "RS103",
        "resources[0].endpoint.paginator.type",
        "`offest` is not a paginator type.",
    ),
    Case(
        "unknown param binding",
        config(
            resource("p", "/p"),
            resource("c", "/p/{x}/c", endpoint={"params": {"x": {"type": "resolved"}}}),
        ),
        "RS103",
        "resources[1].endpoint.params.x.type",
        "`resolved` is not a valid param binding type.",
    ),
    Case(
        "endpoint of the wrong type",
        config({"name": "a", "endpoint": 3}),
        "RS103",
        "resources[0].endpoint",
        "must be a mapping or a path, got int.",
    ),
    Case(
        "placeholder with a dot",
        config(resource("a", "/a/{foo.bar}")),
        "RS103",
        "resources[0].endpoint.path",
        "placeholder {foo.bar} is not a valid name",
    ),
    Case(
        "incremental param in a path",
        config(
            resource(
                "a",
                "/a/{since}",
                endpoint={"params": {"since": {"type": "incremental", "cursor_path": "t"}}},
            )
        ),
        "RS103",
        "resources[0].endpoint.params.since",
        "dlt binds only `resolve` params into a path",
    ),
    Case("no client", without(config(), "client"), "RS104", "client", "`client` is required"),
    Case(
        "no base_url",
        config(client={}),
        "RS104",
        "client.base_url",
        "`base_url` is required in `client`.",
    ),
    Case(
        "resource without a name",
        config(without(resource("a", "/a"), "name")),
        "RS104",
        "resources[0].name",
        "`name` is required on every resource.",
    ),
    Case(
        "two resources, one name",
        config(resource("a", "/a"), resource("a", "/b")),
        "RS105",
        "resources[1].name",
        "a resource named `a` comes earlier",
    ),
    Case(
        "offset without total",
        paged({"type": "offset", "limit": 10}),
        "RS301",
        "resources[0].endpoint.paginator",
        "offset paginator with no `total_path`: dlt expects a `total` in every response and"
        " fails after page 1 without one",
    ),
    Case(
        "page number without total, in the defaults",
        config(resource_defaults={"endpoint": {"paginator": {"type": "page_number"}}}),
        "RS301",
        "resource_defaults.endpoint.paginator",
        "page_number paginator with no `total_path`",
    ),
    Case(
        "no paginator",
        config(
            {"name": "a", "primary_key": "id", "endpoint": {"path": "/a", "data_selector": "d"}}
        ),
        "RS302",
        "resources[0].endpoint.paginator",
        "no paginator for `a` here, in resource_defaults or in client",
    ),
    Case(
        "offset without limit",
        paged({"type": "offset", "total_path": "total"}),
        "RS303",
        "resources[0].endpoint.paginator.limit",
        "an offset paginator needs `limit`",
    ),
    Case(
        "no data_selector",
        config(without(resource("a", "/a"), "endpoint", "data_selector")),
        "RS401",
        "resources[0].endpoint.data_selector",
        "no data_selector for `a`: dlt guesses where the records are",
    ),
    Case(
        "merge without a key",
        config(without(resource("a", "/a", write_disposition="merge"), "primary_key")),
        "RS501",
        "resources[0].primary_key",
        "`a` is merged but has no primary key",
    ),
    Case(
        "key not among the columns",
        config(resource("a", "/a", columns={"idcustomer": {"nullable": False}, "n": {}})),
        "RS502",
        "resources[0].primary_key",
        "its primary_key names id, which `a`'s columns do not (they declare idcustomer as never"
        " null or as a key).",
    ),
    Case(
        "inherited key not among the columns",
        config(
            without(resource("a", "/a", columns={"uid": {"primary_key": True}}), "primary_key"),
            resource_defaults={"primary_key": "id"},
        ),
        "RS502",
        "resources[0].primary_key",
        "the primary_key it inherits from defaults names id",
    ),
    Case(
        "key in resource_defaults",
        config(
            without(resource("a", "/a"), "primary_key"),
            resource_defaults={"primary_key": "id", "write_disposition": "merge"},
        ),
        "RS503",
        "resource_defaults.primary_key",
        "resource_defaults.primary_key `id` applies to every resource without its own (a)",
    ),
    Case(
        "two version segments",
        config(resource("p", "/v1/products"), client={"base_url": "https://api.example.com/v3/"}),
        "RS601",
        "resources[0].endpoint.path",
        "make `https://api.example.com/v3/v1/products`: two version segments (v3, v1).",
    ),
    Case(
        "slash on both sides",
        config(resource("c", "/customers"), client={"base_url": "https://api.example.com/v1/"}),
        "RS602",
        "resources[0].endpoint.path",
        "dlt's join_url strips both and makes `https://api.example.com/v1/customers`",
    ),
    Case(
        "literal token",
        config(client={"base_url": BASE_URL, "auth": {"type": "bearer", "token": "sk-1"}}),
        "RS701",
        "client.auth.token",
        "`token` is written into the config",
    ),
    Case(
        "token from dlt.config",
        config(
            client={"base_url": BASE_URL, "auth": {"token": Reference("config", "token")}},
        ),
        "RS702",
        "client.auth.token",
        "`token` is read from dlt.config",
    ),
    Case(
        "literal token in a header",
        config(client={"base_url": BASE_URL, "headers": {"Authorization": "Bearer sk-1"}}),
        "RS701",
        "client.headers.Authorization",
        "`Authorization` is written into the config",
    ),
    Case(
        "literal key in a query parameter",
        config(resource("c", "/c", endpoint={"params": {"api_key": "k-1"}})),
        "RS701",
        "resources[0].endpoint.params.api_key",
        "`api_key` is written into the config",
    ),
    Case(
        "password in the base URL",
        config(client={"base_url": "https://bob:pw@api.example.com/v1"}),
        "RS701",
        "client.base_url",
        "the password in `base_url`",
    ),
    Case(
        "lower-case method",
        config(resource("c", "/c", endpoint={"method": "get"})),
        "RS103",
        "resources[0].endpoint.method",
        "`get` is not a valid method",
    ),
    Case(
        "a data selector that is not a JSONPath",
        config(resource("c", "/c", endpoint={"data_selector": "data[?"})),
        "RS103",
        "resources[0].endpoint.data_selector",
        "is not a JSONPath",
    ),
    Case(
        "a total path that is not a JSONPath",
        paged({"type": "offset", "limit": 10, "total_path": "meta..["}),
        "RS103",
        "resources[0].endpoint.paginator.total_path",
        "is not a JSONPath",
    ),
    Case(
        "a resolve field that is not a JSONPath",
        config(
            resource("p", "/p"),
            resource("c", "/p/{id}/c", endpoint={"params": {"id": resolve("p", "id[[")}}),
        ),
        "RS103",
        "resources[1].endpoint.params.id.field",
        "is not a JSONPath",
    ),
    Case(
        "a literal path value that breaks the URL",
        config(resource("c", "/w/{workspace}/c", endpoint={"params": {"workspace": "a#b"}})),
        "RS103",
        "resources[0].endpoint.params.workspace",
        "fills `{workspace}` as written, and #",
    ),
    Case(
        "page_size beside total_path",
        paged({"type": "page_number", "page_size": 10, "total_path": "total"}),
        "RS103",
        "resources[0].endpoint.paginator.page_size",
        "it takes no `page_size`",
    ),
]


def check_case(case: Case) -> None:
    """The case's rule is found at its path, with its message, severity and a fix."""
    found = [f for f in lint(case.config) if (f.rule, f.path) == (case.rule, case.path)]
    assert found, [(f.rule, f.path, f.message) for f in lint(case.config)]
    assert any(case.message in f.message for f in found), [f.message for f in found]
    assert all(f.severity == RULES[case.rule].severity and f.fix for f in found)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_config_gives_the_rule_at_the_path_with_the_message(case: Case) -> None:
    check_case(case)


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        (
            "a.py",
            'c = {\n    "client": {}\n    "resources": [],\n}\n',
            2,
            "Perhaps you forgot a comma?",
        ),
        ("b.py", 'import os\nc = {"client": os.environ}\n', 2, "`os.environ` is not a literal"),
        ("c.yaml", "client: [\nresources: []\n", 3, "invalid YAML"),
        ("d.json", '{\n  "client": {},\n}\n', 3, "invalid JSON"),
    ],
)
def test_an_unreadable_file_is_one_finding_with_its_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    (found,) = lint_file(path)
    assert (found.rule, found.severity, found.line) == ("RS002", "error", line)
    assert message in found.message and str(path) not in found.message


def test_a_complete_config_has_no_findings() -> None:
    assert lint(config()) == []


def test_total_path_or_a_paginator_in_defaults_silences_paging_warnings() -> None:
    assert lint(paged({"type": "offset", "limit": 10, "total_path": "meta.total"})) == []
    bare = {"name": "a", "primary_key": "id", "endpoint": {"path": "/a", "data_selector": "d"}}
    assert lint(config(bare, client={"base_url": BASE_URL, "paginator": "single_page"})) == []


def test_columns_that_only_hint_types_say_nothing_about_the_key() -> None:
    hints = {"created_at": {"data_type": "timestamp"}, "view": {"data_type": "json"}}
    assert lint(config(resource("a", "/a", columns=hints))) == []


def test_scd2_needs_no_primary_key() -> None:
    scd2 = {"disposition": "merge", "strategy": "scd2"}
    keyless = without(
        config(resource("c", "/c", write_disposition=scd2)), "resources", 0, "primary_key"
    )
    assert not [f for f in lint(keyless) if f.rule == "RS501"]
    merged = without(
        config(resource("c", "/c", write_disposition="merge")), "resources", 0, "primary_key"
    )
    assert [f.rule for f in lint(merged) if f.rule == "RS501"] == ["RS501"]


def test_a_resource_level_key_is_fine_beside_a_default_one() -> None:
    cfg = config(resource("a", "/a", primary_key="uid"), resource_defaults={"primary_key": "id"})
    assert lint(cfg) == []


@pytest.mark.parametrize("name", available())
def test_built_in_connectors_have_no_errors(name: str) -> None:
    connector = get_connector(name)
    values = {k: "x" for k in (*connector.secrets, *connector.settings)}
    built = connector.config({**values, "base_url": connector.default_base_url})
    errors = [f for f in lint(built, source_name=name) if f.severity == Severity.ERROR]
    assert errors == []


def test_findings_sort_by_path_with_numeric_indexes_then_rule() -> None:
    paths = ["resources[10].a", "resources[2].b", "", "client", "resources[2].a"]
    assert sorted(paths, key=path_key) == [
        "",
        "client",
        "resources[2].a",
        "resources[2].b",
        "resources[10].a",
    ]


@pytest.mark.parametrize(
    "header", ["PRIVATE-TOKEN", "X-Auth-Key", "x-apikey", "X-Figma-Token", "Proxy-Authorization"]
)
def test_credential_headers_of_many_apis_are_found(header: str) -> None:
    cfg = config(client={"base_url": BASE_URL, "headers": {header: "s3cr3t"}})
    assert [f.path for f in lint(cfg) if f.rule == "RS701"] == [f"client.headers.{header}"]


def test_a_bare_token_filling_a_path_is_a_credential_and_ids_elsewhere_do_not_hide_one() -> None:
    cfg = config(
        resource("bot", "/bot{token}/getMe", endpoint={"params": {"token": "123:ABC"}}),
        resource("issue", "/issue/{key}", endpoint={"params": {"key": "PROJ-1"}}),  # an id
        resource("maps", "/maps", endpoint={"params": {"key": "AIzaSy-literal"}}),
    )
    found = sorted(f.path for f in lint(cfg) if f.rule == "RS701")
    assert found == [
        "resources[0].endpoint.params.token",
        "resources[2].endpoint.params.key",
    ]


def test_names_that_only_mention_a_token_are_not_credentials() -> None:
    cfg = config(
        resource("r", "/r", endpoint={"params": {"page_token": "start", "token_type": "access"}}),
        resource("s", "/s/{report_token}", endpoint={"params": {"report_token": "r_1"}}),
        resource("t", "/t", endpoint={"params": {"is_secret": "no", "reset_password": "no"}}),
        client={"base_url": BASE_URL, "headers": {"X-Token-Type": "bearer"}},
    )
    assert not [f for f in lint(cfg) if f.rule == "RS701"]
