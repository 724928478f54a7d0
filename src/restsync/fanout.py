"""Children stream page by page: every parent item's pages are fetched in dlt's extract pool.

dlt's `parallelized` child turns each parent item into one task that returns all of that item's
child records at once, so memory grows with the largest child collection. restsync keeps dlt's
request building (`process_parent_data_item`, the client, the paginator) and changes only the
scheduling: for each page of parent items it hands dlt's pipe a generator of one-page tasks, so
items run side by side in the pool, each item's pages reach dlt in order, and every page goes on
to normalize as soon as it arrives. Memory holds one page per task in flight, plus the pages a
long child collection's window sent ahead (`http/window.py`; capped per source by the session),
however many children a parent has.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from copy import deepcopy
from functools import partial
from typing import Any

from dlt.extract import DltResource, DltSource
from dlt.sources.rest_api.config_setup import process_parent_data_item

__all__ = ["stream_children"]


def stream_children(source: DltSource) -> list[str]:
    """Switch every fanned-out child of `source` to page-by-page tasks; the names switched.

    Children with an incremental param in their request keep dlt's own generator (it also
    fills the param from the incremental's state).
    """
    switched = []
    for name, resource in source.resources.items():
        args = _child_args(resource)
        if args is not None:
            resource._pipe.replace_gen(_ChildPages(args))  # as dlt's own parallelize() does
            switched.append(name)
    return switched


def _child_args(resource: DltResource) -> Mapping[str, Any] | None:
    """The arguments dlt's rest_api bound to a parallelized child, or None for other resources."""
    if not resource.is_transformer or not resource.args_bound:
        return None
    args = resource.explicit_args
    if not args.get("parallelized") or args.get("incremental_object") is not None:
        return None
    if "resolved_params" not in args or "client" not in args:
        return None  # a transformer that is not rest_api's child
    return args


class _ChildPages:
    """The child's step: per parent item, a generator of one-page tasks for dlt's pool."""

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.args = args

    def __call__(self, items: Any, meta: Any = None) -> Iterator[Callable[[], Any] | None]:
        """dlt calls this with each page of parent items; the generator of their page tasks."""
        parents = items if isinstance(items, list) else [items]
        return _interleaved([self._pages(item) for item in parents])

    def _pages(self, item: dict[str, Any]) -> Iterator[tuple[list[Any], bool]]:
        """One parent item's child pages, with the parent's fields included, as dlt does, and
        whether more pages follow."""
        args = self.args
        processed = process_parent_data_item(
            path=args["path"],
            item=item,
            resolved_params=args["resolved_params"],
            headers=args.get("headers"),
            params=args.get("params"),
            request_json=args.get("json"),
            request_data=args.get("data"),
            include_from_parent=args.get("include_from_parent"),
        )
        paginator = deepcopy(args.get("paginator"))
        pages = args["client"].paginate(
            method=args.get("method", "get"),
            path=processed.path,
            headers=processed.headers,
            params=processed.params,
            json=processed.json,
            data=processed.data,
            paginator=paginator,
            data_selector=args.get("data_selector"),
            hooks=args.get("hooks"),
        )
        try:
            for page in pages:
                if processed.parent_record:
                    for record in page:
                        record.update(processed.parent_record)
                # dlt's client has asked the paginator before handing the page over: no task is
                # spent learning that a one-page collection has ended
                yield page, paginator is None or paginator.has_next_page
        finally:
            release = getattr(paginator, "release", None)
            if release is not None:  # a window: the pages it sent ahead go with the collection
                release()


def _interleaved(
    sources: list[Iterator[tuple[list[Any], bool]]],
) -> Iterator[Callable[[], Any] | None]:
    """One-page tasks for dlt's pool, from every source whose previous page has arrived.

    Like dlt's `wrap_parallel_iterator` for many generators at once: a source is never advanced
    by two tasks together, and `None` tells dlt's pipe that every source is busy right now.
    One pipe source per parent page (not per item) keeps dlt's round robin short.
    """
    ready: deque[int] = deque(range(len(sources)))  # appended to by the pool's threads
    finished: deque[int] = deque()
    remaining = len(sources)

    def task(index: int) -> Any:
        try:
            page, more = next(sources[index])
        except StopIteration:
            finished.append(index)
            return None  # dlt's pipe drops a task's None
        if more:
            ready.append(index)
        else:  # its last page is out: its response and window go now, not with the parent page
            sources[index].close()  # type: ignore[attr-defined]
            finished.append(index)
        return page

    try:
        while True:
            while finished:
                finished.popleft()
                remaining -= 1
            if remaining == 0:
                return
            yield partial(task, ready.popleft()) if ready else None
    except GeneratorExit:
        for source in sources:
            with suppress(ValueError):  # one still running in the pool cannot be closed
                source.close()  # type: ignore[attr-defined]
        raise
