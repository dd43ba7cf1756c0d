"""moto's TransactWriteItems at the cost of its items, not of its tables.

moto 5.2 deep-copies every table a transaction touches before it writes, to roll back on a
cancellation: with its stream records, so a batch of 25 creates cost seconds once a table held
a few thousand writes, and held the sandbox's DynamoDB lock (sandbox.atomic) all that time. Under
that lock no other write can interleave, so a rollback needs only the items the transaction
touched and the stream records it added. The rest is moto's own algorithm, in moto's order:
the same validations, conditions, cancellation reasons and all-or-nothing result
(tests/test_sandbox_transactions.py runs each case against both and compares).
"""

from __future__ import annotations

import copy
from typing import Any

_installed = False
_moto_original: Any = None


class _Undo:
    """What a transaction changed, item by item, to put back if it is cancelled."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, Any, Any, Any]] = []
        self._streams: dict[int, tuple[Any, list[Any], int]] = {}

    def remember(self, table: Any, hash_key: Any, range_key: Any) -> None:
        shard = table.stream_shard
        if shard is not None and id(table) not in self._streams:
            self._streams[id(table)] = (shard, shard.items, len(shard.items))
        # A copy: UpdateItem changes the stored item in place.
        before = copy.deepcopy(table.get_item(hash_key, range_key))
        self._items.append((table, hash_key, range_key, before))

    def rollback(self) -> None:
        # An emptied sort-key bucket may stay behind, as after moto's own DeleteItem.
        for table, hash_key, range_key, before in reversed(self._items):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
                continue
            bucket = table.items[hash_key]
            if before is None:
                bucket.pop(range_key, None)
            else:
                bucket[range_key] = before
        for shard, records, count in self._streams.values():
            del records[count:]
            shard.items = records


def _put_key(backend: Any, op: dict[str, Any]) -> dict[str, Any]:
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _apply(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    condition = op.get("ConditionExpression")
    table_name = op["TableName"]
    if op_type == "Put":
        backend.put_item(
            table_name,
            op["Item"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Delete":
        backend.delete_item(
            table_name,
            key,
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Update":
        backend.update_item(
            table_name,
            key,
            update_expression=op["UpdateExpression"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


Reason = tuple[str | None, str | None, Any]  # moto's (code, message, item) per action


def _write(backend: Any, undo: _Undo, targets: set[tuple[str, str]], action: Any) -> Reason:
    """One action: checked, remembered, applied; its cancellation reason (None: it held)."""
    from moto.dynamodb.comparisons import get_filter_expression  # noqa: PLC0415
    from moto.dynamodb.exceptions import (  # noqa: PLC0415
        ConditionalCheckFailed,
        MultipleTransactionsException,
    )

    op_type, op = action
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    key = _put_key(backend, op) if op_type == "Put" else op["Key"]
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException()
    targets.add(target)
    current = backend.get_item(table_name, key)
    condition = op.get("ConditionExpression")
    if condition is not None:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if not get_filter_expression(condition, names, values).expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            return ("ConditionalCheckFailed", str(ConditionalCheckFailed().message), old)
    if op_type != "ConditionCheck":
        table = backend.get_table(table_name)
        undo.remember(table, *backend.get_keys_value(table, key))
        _apply(backend, op_type, op, key)
    return (None, None, None)


def _reason(backend: Any, undo: _Undo, targets: set[tuple[str, str]], item: Any) -> Reason:
    from moto.dynamodb.exceptions import (  # noqa: PLC0415
        ConditionalCheckFailed,
        MockValidationException,
    )

    try:
        return _write(backend, undo, targets, next(iter(item.items())))
    except MockValidationException:
        # A malformed request (MultipleTransactionsException is one) fails as a whole.
        undo.rollback()
        raise
    except ConditionalCheckFailed as e:
        return ("ConditionalCheckFailed", str(e.message), None)
    except Exception as e:  # moto reports any other failure as that action's reason
        return (type(e).__name__, str(e), None)


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """DynamoDBBackend.transact_write_items with an undo log instead of table copies."""
    from moto.dynamodb.exceptions import (  # noqa: PLC0415
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()
    targets: set[tuple[str, str]] = set()
    reasons: list[Reason] = []
    for item in transact_items:
        if len(item) > 1:
            # moto raises here and keeps what the earlier actions wrote; DynamoDB writes nothing.
            undo.rollback()
            raise TransactWriteSingleOpException
        reasons.append(_reason(backend, undo, targets, item))
    if any(code is not None for code, _, _ in reasons):
        undo.rollback()
        raise TransactionCanceledException(reasons)


def moto_transact_write_items() -> Any:
    """moto's own implementation, installed or not (for the tests that compare both)."""
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - slow import

    return _moto_original if _installed else DynamoDBBackend.transact_write_items


def make_transactions_cheap() -> None:
    """Install transact_write_items on moto's DynamoDB backend (once per process)."""
    global _installed, _moto_original  # noqa: PLW0603 - a process-wide patch, applied once
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - slow import

    _moto_original = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]
    _installed = True
