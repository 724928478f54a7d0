"""A user's own config files: `restsync lint`, `lint --fix`, `check` and `sync FILE`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from restsync.check import check
from restsync.cli import app
from restsync.emulators import Emulator, run_emulator
from restsync.targets import load_target
from tests.truth import query

SEEDS = Path(__file__).parent / "config" / "seeds"


def config_yaml(selector: str = "data", key: str = "organizationId") -> str:
    """A small feature_flags config as a user would write it, secrets by reference."""
    return yaml.safe_dump(
        {
            "client": {
                "base_url": 'dlt.config["base_url"]',
                "auth": {
                    "type": "basic",
                    "username": 'dlt.secrets["username"]',
                    "password": 'dlt.secrets["password"]',
                },
            },
            "resource_defaults": {
                "write_disposition": "merge",
                "endpoint": {"paginator": "single_page"},
            },
            "resources": [
                {
                    "name": "organizations",
                    "primary_key": key,
                    "endpoint": {"path": "/organizations", "data_selector": selector},
                },
                {
                    "name": "products",
                    "primary_key": "productId",
                    "endpoint": {"path": "/products", "data_selector": "data"},
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with run_emulator("feature_flags") as emulator:
        yield emulator


@pytest.fixture()
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    values = {
        "SOURCES__FLAGS__USERNAME": emu.credentials["username"],
        "SOURCES__FLAGS__PASSWORD": emu.credentials["password"],
        "SOURCES__FLAGS__BASE_URL": emu.base_url,
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "user.duckdb"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_lint_a_seed_reports_rule_ids_and_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lint", str(SEEDS / "seed_000.py"), "--format", "json"])
    assert result.exit_code == 1
    findings = json.loads(result.output)["findings"]
    unresolved = [f for f in findings if f["rule"] == "RS201"]
    assert {f["path"] for f in unresolved} == {
        "resources[1].endpoint.path",
        "resources[3].endpoint.path",
        "resources[4].endpoint.path",
    }
    assert all(f["fix"] and f["line"] for f in unresolved)


def test_lint_fix_writes_beside_and_never_over_the_original(tmp_path: Path) -> None:
    seed = tmp_path / "seed_001.py"
    shutil.copy(SEEDS / "seed_001.py", seed)
    before = seed.read_text()
    assert "RS001" in CliRunner().invoke(app, ["lint", str(seed)]).output  # the `//` comment
    result = CliRunner().invoke(app, ["lint", str(seed), "--fix"])
    assert "RS001" not in result.output  # fixed, so no longer listed; the rest are
    assert seed.read_text() == before
    fixed = tmp_path / "seed_001.fixed.py"
    assert fixed.exists() and "// Additional resources" not in fixed.read_text()
    again = CliRunner().invoke(app, ["lint", str(fixed)])
    assert "RS001" not in again.output


def test_lint_fix_points_what_is_left_at_lines_of_the_fixed_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed_003.py"
    shutil.copy(SEEDS / "seed_003.py", seed)
    result = CliRunner().invoke(app, ["lint", str(seed), "--fix", "--format", "json"])
    left = json.loads(result.stdout)["findings"]
    assert left and all(f["line"] for f in left)
    lines = (tmp_path / "seed_003.fixed.py").read_text().splitlines()
    for finding in left:  # the line holds the key the finding is about, or where it goes
        *_, parent, key = finding["path"].split(".")
        line = lines[finding["line"] - 1]
        assert f'"{key}"' in line or f'"{parent}"' in line, (finding, line)


def test_sync_a_yaml_config_with_secret_references(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(config_yaml())
    result = CliRunner().invoke(app, ["sync", str(path)])
    assert result.exit_code == 0, result.output
    loaded = query(
        env["DESTINATION__DUCKDB__CREDENTIALS"], "SELECT COUNT(*) FROM flags.organizations"
    )
    assert loaded == [(len(emu.truth("organizations")),)]


def test_a_missing_data_selector_match_is_an_error_not_zero_rows(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(config_yaml(selector="items"))
    result = CliRunner().invoke(app, ["sync", str(path)])
    assert result.exit_code == 1
    assert "resource 'organizations'" in result.output
    assert "data_selector 'items' found nothing" in result.output
    assert "holds a list at 'data'" in result.output


def test_a_key_the_records_lack_is_explained_and_the_next_run_is_not_poisoned(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(config_yaml(key="id"))
    result = CliRunner().invoke(app, ["sync", str(path)])
    assert result.exit_code == 1
    assert "got no value for id" in result.output and "primary_key" in result.output
    path.write_text(config_yaml())  # the user fixes the key; the failed run left nothing behind
    result = CliRunner().invoke(app, ["sync", str(path)])
    assert result.exit_code == 0, result.output


def test_check_reports_selector_key_and_placeholders(emu: Emulator, env: dict[str, str]) -> None:
    overrides = {"base_url": emu.base_url, **emu.credentials}
    target = load_target(str(SEEDS / "seed_000.py"), overrides)
    target.config["resources"][0]["endpoint"]["data_selector"] = "items"
    target.config["resources"][1]["endpoint"]["params"] = {
        "organizationId": {"type": "resolve", "resource": "organizations", "field": "id"}
    }
    probes = {p.resource: p for p in check(target.config)}
    organizations = probes["organizations"]
    assert organizations.selector_matched is False and organizations.list_at == "data"
    products = probes["products"]
    assert products.selector_matched and products.records == len(emu.truth("products"))
    assert products.key_missing == ("id",) and "productId" in products.fields
    assert not products.ok
    assert probes["tags"].status.startswith("placeholder {productId} unfilled")
    assert probes["organization_members"].status.startswith("skipped: no parent record")


def test_check_names_wrong_credentials(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__USERNAME", "nobody")
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__PASSWORD", "wrong")
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["check", "feature_flags", "--base-url", emu.base_url])
    assert result.exit_code == 1
    assert "credentials rejected (401)" in result.output


def test_check_keeps_to_the_sources_rate_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    rate = 5.0
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__RATE_LIMIT", str(rate))
    monkeypatch.setenv("SOURCES__FEATURE_FLAGS__BURST", "1")
    with run_emulator("feature_flags") as fresh:
        for key, value in fresh.credentials.items():
            monkeypatch.setenv(f"SOURCES__FEATURE_FLAGS__{key.upper()}", value)
        result = CliRunner().invoke(app, ["check", "feature_flags", "--base-url", fresh.base_url])
        stamps = sorted(e.at for e in fresh.requests.entries())
    assert result.exit_code == 0, result.output
    assert len(stamps) >= 4
    spread = stamps[-1] - stamps[0]
    assert spread >= (len(stamps) - 1 - 1) / rate  # one request of jitter at the server


def test_check_a_built_in_connector_is_all_green(emu: Emulator) -> None:
    overrides = {"base_url": emu.base_url, **emu.credentials}
    probes = check(load_target("feature_flags", overrides).config)
    assert all(p.ok for p in probes), [(p.resource, p.status) for p in probes]
    assert probes[1].placeholders  # members: filled from the first organization


def test_a_config_dlt_rejects_is_named_without_its_secrets(
    env: dict[str, str], tmp_path: Path
) -> None:
    cfg = yaml.safe_load(config_yaml())
    products = cfg["resources"][1]["endpoint"]
    products.update(method="get", params={"sig": 'dlt.secrets["password"]'})  # dlt wants GET
    path = tmp_path / "flags.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["sync", str(path), "--debug"])
    assert result.exit_code == 1
    assert "resources[1]/endpoint" in result.output and "method=get" in result.output
    assert env["SOURCES__FLAGS__PASSWORD"] not in result.output


def test_base_url_flag_wins_over_a_reference_and_settings_hints_print_as_written(
    emu: Emulator, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOURCES__FLAGS__BASE_URL")
    path = tmp_path / "flags.yaml"
    path.write_text(config_yaml())
    assert CliRunner().invoke(app, ["sync", str(path), "--base-url", emu.base_url]).exit_code == 0
    monkeypatch.delenv("SOURCES__FLAGS__USERNAME")
    result = CliRunner().invoke(app, ["sync", str(path), "--base-url", emu.base_url])
    assert result.exit_code == 1
    assert "SOURCES__FLAGS__USERNAME" in result.output
    assert "[sources.flags]" in result.output  # text, not a rich markup tag


def test_check_sends_an_endpoints_own_auth(emu: Emulator, env: dict[str, str]) -> None:
    cfg = yaml.safe_load(config_yaml())
    auth = cfg["client"].pop("auth")
    for resource in cfg["resources"]:
        resource["endpoint"]["auth"] = auth
    config = {**cfg, "client": {"base_url": emu.base_url}}
    config = json.loads(
        json.dumps(config)
        .replace('dlt.secrets[\\"username\\"]', emu.credentials["username"])
        .replace('dlt.secrets[\\"password\\"]', emu.credentials["password"])
    )
    probes = check(config)
    assert [p.status for p in probes] == ["200 OK", "200 OK"], probes


def test_check_reports_an_endpoint_auth_dlt_cannot_build_as_a_failed_row(emu: Emulator) -> None:
    config = {
        "client": {"base_url": emu.base_url},
        "resources": [
            {
                "name": "organizations",
                "endpoint": {
                    "path": "/organizations",
                    "data_selector": "data",
                    "paginator": "single_page",
                    "auth": {"type": "bearer", "tokn": "abc"},  # a typo: dlt finds no token
                },
            }
        ],
    }
    (probe,) = check(config)
    assert probe.status.startswith("failed") and not probe.ok


def test_a_setting_in_a_path_the_api_does_not_know_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.scripted_server import Reply, scripted_server

    written = {
        "client": {"base_url": 'dlt.config["base_url"]'},
        "resources": [
            {
                "name": "items",
                "endpoint": {"path": 'dlt.config["collection"]', "data_selector": "data"},
            }
        ],
    }
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(written))
    with scripted_server() as api:
        api.script("/itemz", Reply(404, {"error": "no such collection"}))
        monkeypatch.setenv("SOURCES__SHOP__BASE_URL", api.base_url)
        monkeypatch.setenv("SOURCES__SHOP__COLLECTION", "itemz")
        assert load_target(str(path), {}).settings == {
            "base_url": api.base_url,
            "collection": "itemz",
        }
        result = CliRunner().invoke(app, ["sync", str(path)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "404" in said and "check the `collection` setting ('itemz'), base_url and" in said
