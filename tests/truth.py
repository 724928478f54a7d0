"""Compare what landed in the destination with an emulator's ground truth, row for row."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
from dlt.common.normalizers.naming.snake_case import NamingConvention

from restsync.emulators import Emulator

_naming = NamingConvention()


def column(name: str) -> str:
    """The destination column dlt makes of a field name (`organizationId` -> `organization_id`)."""
    return _naming.normalize_identifier(name)


DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def _value(value: Any) -> Any:
    """JSON text parsed; timestamps (strings dlt detects, or datetimes) as one UTC ISO form."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, str) and DATETIME.match(value):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Rows as dlt writes them: nested objects as `a__b` columns; lists (child tables) and
    nulls (absent columns) left out, so a JSON column and its flattened form compare equal."""
    out: dict[str, Any] = {}
    for key, raw in record.items():
        name = prefix + "__".join(column(part) for part in key.split("__"))
        value = _value(raw)
        if isinstance(value, dict):
            out.update(flatten(value, name + "__"))
        elif value is not None and not isinstance(value, list):
            out[name] = value
    return out


def canonical(record: Mapping[str, Any]) -> str:
    """One comparable string per row, whatever the destination did to names and nesting."""
    return json.dumps(flatten(record), sort_keys=True, default=str)


def child_truth(emulator: Emulator, resource: str, field: str, parent_key: str) -> Counter[str]:
    """The elements of a nested list field, each with its parent's key, as dlt's child table."""
    rows: Counter[str] = Counter()
    for served in emulator.truth(resource):
        for element in served.record.get(field) or []:
            item = element if isinstance(element, dict) else {"value": element}
            rows[canonical({parent_key: served.record[parent_key], **item})] += 1
    return rows


def child_table_rows(
    database: str, dataset: str, parent: str, field: str, parent_key: str
) -> Counter[str]:
    """A dlt child table's rows joined to their parent's key."""
    child = f"{parent}__{column(field)}"
    key = column(parent_key)
    sql = (
        f'SELECT p."{key}" AS "{key}", c.* FROM "{dataset}"."{child}" c'
        f' JOIN "{dataset}"."{parent}" p ON c._dlt_parent_id = p._dlt_id'
    )
    with duckdb.connect(database, read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    keep = [i for i, n in enumerate(names) if not n.startswith("_dlt_")]
    return Counter(canonical({names[i]: row[i] for i in keep}) for row in rows)


def truth_rows(
    emulator: Emulator,
    resource: str,
    params_as: Mapping[str, str] | None = None,
    typed: Callable[[str], Any] = str,
) -> Counter[str]:
    """The emulator's records of a resource, with chosen URL params added as fields (`typed`
    as the loaded column holds them: a parent's integer id, say)."""
    rows: Counter[str] = Counter()
    for served in emulator.truth(resource):
        record = dict(served.record)
        for param, field in (params_as or {}).items():
            record[field] = typed(served.params[param])
        rows[canonical(record)] += 1
    return rows


def table_rows(database: str, dataset: str, table: str) -> Counter[str]:
    """The loaded rows of a table, without dlt's bookkeeping columns."""
    with duckdb.connect(database, read_only=True) as con:
        cursor = con.execute(f'SELECT * FROM "{dataset}"."{table}"')
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    keep = [i for i, n in enumerate(names) if not n.startswith("_dlt_")]
    return Counter(canonical({names[i]: row[i] for i in keep}) for row in rows)


def query(database: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one read-only query against a DuckDB file."""
    with duckdb.connect(database, read_only=True) as con:
        return con.execute(sql).fetchall()


def diff(loaded: Counter[str], truth: Counter[str]) -> str:
    """A short account of rows missing, extra or duplicated, for assertion messages."""
    missing = truth - loaded
    extra = loaded - truth
    return (
        f"missing {sum(missing.values())}: {list(missing)[:2]}; extra {sum(extra.values())}: "
        + (f"{list(extra)[:2]}")
    )


def keys(rows: Iterable[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """A set of key tuples."""
    return set(rows)


def assert_economical(pages: list[str], minimal: int, concurrency: int) -> None:
    """No page asked for twice; at most concurrency - 1 asked for ahead, past the end."""
    assert len(pages) == len(set(pages)), f"a page was asked for twice: {sorted(pages)}"
    assert minimal <= len(pages) <= minimal + max(0, concurrency - 1), (len(pages), minimal)
