"""Random mutations of valid configs never crash the linter or the fixer: the answer is findings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restsync.config.fix import fix
from restsync.config.lint import RULES, lint, path_key
from restsync.config.loader import Reference, load_config
from restsync.connectors import available, get_connector

SEEDS = Path(__file__).parent / "seeds"
MAX_EXAMPLES = 300
MUTATIONS_PER_CONFIG = 4
PATH_ALPHABET = "/{}._-abcdxyz_0129v"
KEYS = [
    "name",
    "endpoint",
    "path",
    "params",
    "paginator",
    "type",
    "resource",
    "field",
    "primary_key",
    "data_selector",
    "limit",
    "total_path",
    "client",
    "resources",
    "auth",
    "base_url",
    "resource_defaults",
    "columns",
    "include_from_parent",
    "write_disposition",
]


def _connector_config(name: str) -> dict[str, Any]:
    connector = get_connector(name)
    values = {k: "x" for k in (*connector.secrets, *connector.settings)}
    return connector.config({**values, "base_url": connector.default_base_url})


VALID = [load_config(SEEDS / f"seed_00{n}.py").config for n in range(5)] + [
    _connector_config(name) for name in available()
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=PATH_ALPHABET, max_size=30),
    st.sampled_from(KEYS),
    st.builds(Reference, st.sampled_from(["secrets", "config"]), st.sampled_from(KEYS)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=8,
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict and list in a config, the root first."""
    found = [path] if isinstance(node, dict | list) else []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in items:
        found += _containers(child, (*path, key))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    config = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=MUTATIONS_PER_CONFIG))):
        containers = _containers(config)
        if not containers:
            return config
        target = _at(config, draw(st.sampled_from(containers)))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["drop", "replace", "insert", "path"]))
        if action == "drop" and keys:
            del target[draw(st.sampled_from(keys))]
        elif action == "replace" and keys:
            target[draw(st.sampled_from(keys))] = draw(values)
        elif action == "path" and isinstance(target, dict) and "path" in target:
            target["path"] = draw(st.text(alphabet=PATH_ALPHABET, max_size=40))
        elif isinstance(target, dict):
            target[draw(st.sampled_from(KEYS))] = draw(values)
        else:
            target.append(draw(values))
    return config


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_configs_give_findings_not_crashes(config: Any) -> None:
    findings = lint(config, source_name="fuzz")
    assert all(f.rule in RULES and f.severity == RULES[f.rule].severity for f in findings)
    keys = [(path_key(f.path), f.rule) for f in findings]
    assert keys == sorted(keys)
    assert lint(config, source_name="fuzz") == findings
    result = fix(config, source_name="fuzz")
    assert all(f.rule in RULES for f in result.unfixed)


@settings(max_examples=MAX_EXAMPLES // 3, deadline=None)
@given(values)
def test_any_value_at_all_gives_findings(config: Any) -> None:
    assert all(f.rule in RULES for f in lint(config))
