"""The data an emulator serves: per resource, lists of records keyed by their URL params.

A top-level resource has one collection under the key `()`; a child's collections are keyed by
the values of its path params, e.g. `organization_members[("<org uuid>",)]`. Which child URLs
exist is derived from the parent data (see `ParentLink`), so adding a parent record makes its
child URLs answer (with an empty list until records are added) and a child collection whose
parent is gone is no longer served. Tests change the data between syncs through `add`, `update`
and `remove`; every method is thread-safe (the server reads from its own thread).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from restsync.emulators.spec import ApiSpec, Order

__all__ = ["Key", "Params", "Record", "Served", "Store"]

Record = dict[str, Any]
Key = tuple[str, ...]
Params = Sequence[Any] | Mapping[str, Any]


class Served(NamedTuple):
    """One record as the API serves it, with the path params of the URL that serves it."""

    params: dict[str, str]
    record: Record


def _ordered(records: list[Record], order: Order | None) -> list[Record]:
    if order is None:
        return list(records)
    name = order.field
    present = [r for r in records if r.get(name) is not None]
    missing = [r for r in records if r.get(name) is None]
    present.sort(key=lambda r: r[name], reverse=order.descending)
    return present + missing  # nulls last either way


def _matches(record: Record, match: Mapping[str, Any]) -> bool:
    return all(record.get(name) == value for name, value in match.items())


class Store:
    """Mutable, thread-safe records of one API, plus the derived view of what each URL serves."""

    def __init__(self, spec: ApiSpec) -> None:
        self._spec = spec
        self.lock = threading.RLock()
        self._data: dict[str, dict[Key, list[Record]]] = {r: {} for r in spec.resources}
        self._revision = 0
        self._keys_cache: dict[str, list[Key]] = {}
        self._keyset_cache: dict[str, frozenset[Key]] = {}
        self._order_cache: dict[tuple[str, Key], list[Record]] = {}

    @property
    def spec(self) -> ApiSpec:
        """The API this data belongs to (for params and serve order)."""
        return self._spec

    @property
    def revision(self) -> int:
        """Bumped on every change, so caches of served views know when to refresh."""
        return self._revision

    def key(self, resource: str, params: Params = ()) -> Key:
        """A collection key from params given as a sequence (URL order) or a mapping by name."""
        names = self._spec.params_of(resource)
        if isinstance(params, Mapping):
            missing = [n for n in names if n not in params]
            if missing:
                raise KeyError(f"'{resource}' needs params {names}; missing {missing}")
            return tuple(str(params[n]) for n in names)
        values = tuple(str(v) for v in params)
        if len(values) != len(names):
            raise ValueError(f"'{resource}' is keyed by {names}; got {values}")
        return values

    # --- changes ------------------------------------------------------------------------------

    def put(self, resource: str, records: Iterable[Record], params: Params = ()) -> None:
        """Replace one collection (creating it), as generators and tests set up data."""
        key = self.key(resource, params)
        with self.lock:
            self._data[resource][key] = [dict(r) for r in records]
            self._changed()

    def add(self, resource: str, record: Record, params: Params = ()) -> None:
        """Append one record to a collection, as a new record appears between syncs."""
        key = self.key(resource, params)
        with self.lock:
            self._data[resource].setdefault(key, []).append(dict(record))
            self._changed()

    def update(
        self,
        resource: str,
        match: Mapping[str, Any],
        changes: Mapping[str, Any],
        params: Params | None = None,
    ) -> int:
        """Change fields of records matching `match` (in one collection or all); returns count."""
        count = 0
        with self.lock:
            for key, records in self._collections(resource, params):
                updated = [{**r, **changes} if _matches(r, match) else r for r in records]
                count += sum(1 for r in records if _matches(r, match))
                self._data[resource][key] = updated
            self._changed()
        return count

    def remove(self, resource: str, match: Mapping[str, Any], params: Params | None = None) -> int:
        """Delete the records matching `match` (in one collection or all); returns how many."""
        count = 0
        with self.lock:
            for key, records in self._collections(resource, params):
                kept = [r for r in records if not _matches(r, match)]
                count += len(records) - len(kept)
                self._data[resource][key] = kept
            self._changed()
        return count

    def load(self, other: Store) -> None:
        """Replace all data with a copy of another store's, as `Emulator.reset` does."""
        with other.lock:
            data = copy.deepcopy(other._data)
        with self.lock:
            self._data = data
            self._changed()

    def _collections(self, resource: str, params: Params | None) -> list[tuple[Key, list[Record]]]:
        collections = self._data[resource]
        if params is None:
            return list(collections.items())
        key = self.key(resource, params)
        return [(key, collections[key])] if key in collections else []

    def _changed(self) -> None:
        self._revision += 1
        self._keys_cache.clear()
        self._keyset_cache.clear()
        self._order_cache.clear()

    # --- reads --------------------------------------------------------------------------------

    def records(self, resource: str, params: Params = ()) -> list[Record]:
        """A copy of one collection as stored (unsorted); empty if it does not exist."""
        key = self.key(resource, params)
        with self.lock:
            return copy.deepcopy(self._data[resource].get(key, []))

    def count(self, resource: str) -> int:
        """How many records the API serves for a resource, over all its URLs."""
        with self.lock:
            return sum(len(self.served_list(resource, key) or []) for key in self.keys(resource))

    def keys(self, resource: str) -> list[Key]:
        """The param values of every URL that serves `resource`, in parent order."""
        with self.lock:
            cached = self._keys_cache.get(resource)
            if cached is None:
                cached = self._derive_keys(resource)
                self._keys_cache[resource] = cached
            return cached

    def _derive_keys(self, resource: str) -> list[Key]:
        link = self._spec.endpoint(resource).parent
        if link is None:
            return [()]
        parent_names = self._spec.params_of(link.resource)
        names = self._spec.params_of(resource)
        keys: dict[Key, None] = {}
        for parent_key in self.keys(link.resource):
            for record in self.served_list(link.resource, parent_key) or []:
                value = record.get(link.field)
                if value is None:
                    continue
                known = dict(zip(parent_names, parent_key, strict=True))
                known[link.placeholder] = str(value)
                keys[tuple(known[n] for n in names)] = None
        return list(keys)

    def served_list(self, resource: str, key: Key) -> list[Record] | None:
        """The records one URL serves, in serve order (shared, do not mutate); None if no URL.

        Call with `lock` held when the result is used after other threads may change the store.
        """
        with self.lock:
            cache_key = (resource, key)
            cached = self._order_cache.get(cache_key)
            if cached is not None:
                return cached
            if key not in self._key_set(resource):
                return None
            stored = self._data[resource].get(key, [])
            ordered = _ordered(stored, self._spec.endpoint(resource).effective_order)
            self._order_cache[cache_key] = ordered
            return ordered

    def _key_set(self, resource: str) -> frozenset[Key]:
        cached = self._keyset_cache.get(resource)
        if cached is None:
            cached = frozenset(self.keys(resource))
            self._keyset_cache[resource] = cached
        return cached

    def truth(self, resource: str) -> list[Served]:
        """Every record the API serves for `resource` (copies), with the params of its URL."""
        names = self._spec.params_of(resource)
        with self.lock:
            out: list[Served] = []
            for key in self.keys(resource):
                params = dict(zip(names, key, strict=True))
                for record in self.served_list(resource, key) or []:
                    out.append(Served(dict(params), copy.deepcopy(record)))
            return out

    def orphans(self, resource: str) -> list[Key]:
        """Stored collections that no URL serves (their parent is gone); a consistency check."""
        with self.lock:
            served = set(self.keys(resource))
            return [key for key in self._data[resource] if key not in served]
