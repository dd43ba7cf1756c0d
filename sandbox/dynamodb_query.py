"""moto's Query reads one partition, not the whole table.

moto 5.2 answers every Query by sorting all of the table's items (`Table.all_items`) and then
keeping those whose partition key matches: each sync page or todo list cost a sort of every
user's todos. When the query names the table's partition key (a query of the table, or of an
index whose partition key is the table's), only the items stored under that key can match:
`all_items` is given just them, in their order, for the duration of that query. Everything else
(key conditions, filters, sorting, paging) is moto's own code.
tests/test_sandbox_dynamodb_query.py compares the answers with moto's.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

Method = Callable[..., Any]

_moto: tuple[Method, Method] | None = None
_partition = threading.local()


def partition_of(table: Any, hash_key: Any, index_name: str | None, conditions: Any) -> Any:
    """The table partition key value that bounds this query, or None when it is not bounded:
    an index query is bounded when its key conditions include the table's partition key."""
    if not index_name:
        return hash_key
    return next((v for name, v in conditions or () if name == table.hash_key_attr), None)


def partitioned(moto_query: Method, moto_all_items: Method) -> tuple[Method, Method]:
    """Table.query and Table.all_items bounded to the query's partition, over moto's own."""
    # moto passes index_name by position, hash_key_conditions by name.
    signature = inspect.signature(moto_query)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        given = signature.bind(self, *args, **kwargs).arguments
        key = partition_of(
            self, given["hash_key"], given.get("index_name"), given.get("hash_key_conditions")
        )
        if key is None or not self.range_key_attr:
            return moto_query(self, *args, **kwargs)
        _partition.bound = (self, key)
        try:
            return moto_query(self, *args, **kwargs)
        finally:
            _partition.bound = None

    def all_items(self: Any) -> list[Any]:
        bound = getattr(_partition, "bound", None)
        if bound is None or bound[0] is not self:
            return list(moto_all_items(self))
        stored = self.items.get(bound[1], {})
        return sorted(stored.values(), key=lambda item: item.range_key)

    return query, all_items


def moto_methods() -> tuple[Method, Method]:
    """moto's own Table.query and Table.all_items, installed over or not (for the tests)."""
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - slow import

    return _moto if _moto is not None else (Table.query, Table.all_items)


def make_queries_partitioned() -> None:
    """Install the partition-bounded Query on moto's tables (once per process)."""
    global _moto  # noqa: PLW0603 - a process-wide patch, applied once
    if _moto is not None:
        return
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - slow import

    _moto = (Table.query, Table.all_items)
    Table.query, Table.all_items = partitioned(*_moto)  # type: ignore[method-assign]
