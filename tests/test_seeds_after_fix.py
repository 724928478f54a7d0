"""The five seed configs as written, after `lint --fix` and the user's own decisions, sync their
emulators and load exactly the ground truth of the resources they declare.

The user's decisions are what lint leaves to a human (RS503: which key each resource has, read
off the seed's resource sections and the specs; composite keys where a record repeats under two
parents); secrets and the workspace are user settings. Everything else is `fix`'s.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from restsync.config.fix import fix, write_fixed
from restsync.config.loader import load_config
from restsync.emulators import Emulator, run_emulator
from restsync.source import SourceOptions, build_source
from restsync.sync import SyncOptions, sync
from restsync.targets import load_target
from tests.truth import flatten

SEEDS = Path(__file__).parent / "config" / "seeds"
TOKEN = "token"
# per seed: the emulator, each resource's key, and parent fields a composite key needs
DECISIONS: dict[str, dict[str, Any]] = {
    "seed_000": {
        "api": "feature_flags",
        "keys": {"organizations": "organizationId", "products": "productId", "tags": "tagId",
                 "environments": "environmentId"},
        "composite": {"organization_members": ("organizations", "organizationId", "userId")},
    },
    "seed_001": {
        "api": "commerce",
        "keys": {"customers": "idcustomer", "products": "idproduct", "orders": "idorder"},
    },
    "seed_002": {"api": "product_analytics", "keys": {}},
    "seed_003": {
        "api": "bi_workspace",
        "keys": {"definitions": "id", "memberships": "member_username"},
        "default_key": TOKEN,
        "composite": {"reports_subscriptions": ("reports", TOKEN, "email")},
    },
    "seed_004": {
        "api": "hosting",
        "keys": {"deployments": "uid", "aliases": "uid"},
        "default_key": "id",
        "composite": {"teams_member": ("teams", "id", "uid")},
    },
}  # fmt: skip
# the URL param of each composite child that carries the parent field
PARENT_PARAMS = {
    "organization_members": "organizationId",
    "reports_subscriptions": "report_token",
    "teams_member": "team_id",
}


def decide(config: dict[str, Any], decisions: dict[str, Any]) -> dict[str, Any]:
    """What the user writes after reading RS503: a key per resource, no shared default."""
    config = copy.deepcopy(config)
    default = config["resource_defaults"].pop("primary_key", None)
    for resource in config["resources"]:
        name = resource["name"]
        if name in decisions.get("composite", {}):
            parent, field, own = decisions["composite"][name]
            resource["include_from_parent"] = [field]
            resource["primary_key"] = [f"_{parent}_{field}", own]
        else:
            resource["primary_key"] = decisions["keys"].get(
                name, decisions.get("default_key", default)
            )
    return config


def loaded_rows(database: str, table: str, universe: set[str]) -> Counter[str]:
    with duckdb.connect(database, read_only=True) as con:
        cursor = con.execute(f'SELECT * FROM "seed"."{table}"')
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return Counter(
        json.dumps(
            {k: v for k, v in flatten(r).items() if k in universe}, sort_keys=True, default=str
        )
        for r in rows
    )


def truth_rows(emu: Emulator, resource: str, parent_column: str | None) -> Counter[str]:
    rows = []
    for served in emu.truth(resource):
        record = dict(served.record)
        if parent_column:
            record[parent_column] = served.params[PARENT_PARAMS[resource]]
        rows.append(flatten(record))
    return Counter(json.dumps(r, sort_keys=True, default=str) for r in rows)


@pytest.mark.parametrize("seed", sorted(DECISIONS))
def test_fixed_seed_syncs_to_ground_truth(seed: str, tmp_path: Path) -> None:
    decisions = DECISIONS[seed]
    original = load_config(SEEDS / f"{seed}.py")
    decided = dataclasses.replace(original, config=decide(original.config, decisions))
    result = fix(decided)
    assert not [f for f in result.unfixed if str(f.severity) == "error"], result.unfixed
    fixed_file = write_fixed(result, tmp_path / f"{seed}.py")
    with run_emulator(decisions["api"]) as emu:
        overrides = {"base_url": emu.base_url, **emu.credentials, **emu.settings}
        target = load_target(str(fixed_file), overrides)
        database = str(tmp_path / "seed_db.duckdb")
        options = SyncOptions(destination=dlt.destinations.duckdb(database), dataset_name="seed")
        sync(build_source(target.config, SourceOptions(name=target.name)), options)
        for resource in (r["name"] for r in target.config["resources"]):
            composite = decisions.get("composite", {}).get(resource)
            parent_column = f"_{composite[0]}_{composite[1]}" if composite else None
            truth = truth_rows(emu, resource, parent_column)
            universe = {k for row in truth for k in json.loads(row)}
            loaded = loaded_rows(database, resource, universe)
            assert loaded == truth, f"{seed} {resource}: {len(loaded)} vs {len(truth)} rows"
