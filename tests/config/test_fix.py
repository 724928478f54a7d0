"""Certain fixes; the corrected config in its own format, written beside the original."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from restsync.config.dialect import translate
from restsync.config.fix import FixResult, apply_edits, fix, fixed_path, render, write_fixed
from restsync.config.lint import Edit, lint
from restsync.config.loader import JSON, PYTHON, YAML, Reference, load_config, load_text, resolve
from restsync.connectors import feature_flags, product_analytics
from restsync.errors import ConfigError
from restsync.source import build_source

SEEDS = Path(__file__).parent / "seeds"
# Every secret and setting the five seeds read, as a user would provide them.
USER_VALUES = {
    "username": "user",
    "password": "pass",
    "api_token": "token",
    "api_secret": "secret",
    "access_token": "access",
    "workspace": "acme",
}
# What fix cannot decide, per seed (written from the seeds: see test_lint_seeds.py).
UNFIXED = {
    0: {"RS302", "RS503"},
    1: {"RS301", "RS503"},
    2: {"RS301", "RS503", "RS601"},
    3: {"RS301", "RS302", "RS503"},
    4: {"RS503"},
}


def fixed_seed(number: int) -> FixResult:
    return fix(load_config(SEEDS / f"seed_00{number}.py"))


def params_by_resource(config: dict[str, Any]) -> dict[str, Any]:
    return {r["name"]: r["endpoint"].get("params") for r in config["resources"]}


@pytest.mark.parametrize("number", range(5))
def test_fixed_seeds_translate_and_build_once_secrets_and_settings_are_given(number: int) -> None:
    result = fixed_seed(number)
    assert {f.rule for f in result.unfixed} == UNFIXED[number]
    assert all(f.severity != "error" for f in result.unfixed)
    config = resolve(result.fixed, overrides=USER_VALUES)
    translation = translate(config)
    assert len(translation.config["resources"]) == len(config["resources"])
    assert build_source(config).resources  # dlt accepts parents, params and include_from_parent


def test_fix_applies_only_certain_fixes_and_says_which() -> None:
    applied = {(f.rule, f.path) for f in fixed_seed(1).applied}
    assert applied == {("RS001", "resources")}
    rules = [f.rule for f in fixed_seed(3).applied]
    assert (rules.count("RS201"), rules.count("RS202"), rules.count("RS203")) == (12, 19, 2)


def test_fixed_parents_are_those_of_the_built_in_connectors() -> None:
    values = {"username": "u", "password": "p", "base_url": "http://x"}
    for number, connector in ((0, feature_flags), (2, product_analytics)):
        fixed = params_by_resource(fixed_seed(number).config)
        built = params_by_resource(connector.build(values))
        children = [name for name, params in built.items() if params]
        assert children
        for name in children:
            assert fixed[name] == built[name], name


def test_two_ancestors_fixed_through_include_from_parent() -> None:
    config = fixed_seed(3).config
    by_name = {r["name"]: r for r in config["resources"]}
    assert by_name["report_runs"]["include_from_parent"] == ["token"]
    assert by_name["queries"]["include_from_parent"] == ["token"]
    assert by_name["query_runs"]["endpoint"]["params"] == {
        "report_token": {"type": "resolve", "resource": "report_runs", "field": "_reports_token"},
        "run_token": {"type": "resolve", "resource": "report_runs", "field": "token"},
    }
    assert by_name["charts"]["endpoint"]["params"]["report_token"]["field"] == "_reports_token"
    assert config["resource_defaults"]["params"] == {"workspace": Reference("config", "workspace")}


def test_fix_is_idempotent() -> None:
    once = fixed_seed(3)
    twice = fix(once.fixed)
    assert twice.applied == () and twice.config == once.config


@pytest.mark.parametrize("fmt", [PYTHON, YAML, JSON])
def test_rendered_config_reads_back_equal_references_included(fmt: str) -> None:
    result = fixed_seed(3)
    fixed = replace(result.fixed, format=fmt)  # type: ignore[arg-type]
    again = load_text(render(fixed), fmt, source_name="seed_003")  # type: ignore[arg-type]
    assert again.config == result.config
    assert again.js_comments == ()


def test_python_rendering_keeps_the_calls_name_and_secrets() -> None:
    loaded = load_text(
        'source = rest_api_source({"client": {"x": dlt.secrets["k"]}}, name="s")', PYTHON
    )
    text = render(fix(loaded).fixed)
    assert 'dlt.secrets["k"]' in text and 'name="s",' in text
    assert text.splitlines()[1:3] == [
        "import dlt",
        "from dlt.sources.rest_api import rest_api_source",
    ]


def test_written_beside_the_original_never_over_it(tmp_path: Path) -> None:
    original = tmp_path / "seed_001.py"
    shutil.copy(SEEDS / "seed_001.py", original)
    before = original.read_text()
    written = write_fixed(fix(load_config(original)))
    assert written == tmp_path / "seed_001.fixed.py"
    assert original.read_text() == before
    again = load_config(written)
    assert again.source_name == "seed_001" and again.js_comments == ()
    assert not [f for f in lint(again) if f.severity == "error"]
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        write_fixed(fix(load_config(original)), original)


def test_fixed_path_keeps_the_format_and_documents_become_python() -> None:
    assert fixed_path(Path("a/api.yaml")) == Path("a/api.fixed.yaml")
    assert fixed_path(Path("api.json")) == Path("api.fixed.json")
    assert fixed_path(Path("001_seed.txt")) == Path("001_seed.fixed.py")


def test_fixing_a_mapping_needs_a_place_to_write(tmp_path: Path) -> None:
    config = {
        "client": {"base_url": "https://api.example.com"},
        "resources": [
            "organizations",
            {"name": "m", "endpoint": "/organizations/{organizationId}/m"},
        ],
    }
    result = fix(config)
    assert result.config["resources"][1]["endpoint"] == {
        "path": "/organizations/{organizationId}/m",
        "params": {
            "organizationId": {
                "type": "resolve",
                "resource": "organizations",
                "field": "organizationId",
            }
        },
    }
    with pytest.raises(ConfigError, match="say where to write it"):
        write_fixed(result)
    assert write_fixed(result, tmp_path / "out.py").exists()


def test_edits_that_cannot_be_made_change_nothing() -> None:
    edit = Edit("set", ("resources", 5, "endpoint", "params", "x"), 1)
    assert apply_edits({"resources": []}, (edit,)) is None
    assert (
        apply_edits(
            {"resources": [{"endpoint": 3}]},
            (replace(edit, path=(*edit.path[:1], 0, "endpoint", "p")),),
        )
        is None
    )
    assert apply_edits(["not", "a", "mapping"], (edit,)) is None
    appended = apply_edits({"r": [{}]}, (Edit("append", ("r", 0, "include"), "a"),) * 2)
    assert appended == {"r": [{"include": ["a"]}]}
