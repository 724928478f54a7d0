"""Compare what landed in the destination with an emulator's ground truth, row for row."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
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


def canonical(record: Mapping[str, Any]) -> str:
    """One comparable string per row: normalized names, values as `_value` makes them."""
    out = {column(key): _value(value) for key, value in record.items()}
    return json.dumps(out, sort_keys=True, default=str)


def truth_rows(
    emulator: Emulator, resource: str, params_as: Mapping[str, str] | None = None
) -> Counter[str]:
    """The emulator's records of a resource, with chosen URL params added as fields."""
    rows: Counter[str] = Counter()
    for served in emulator.truth(resource):
        record = dict(served.record)
        for param, field in (params_as or {}).items():
            record[field] = served.params[param]
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
