"""sandbox.transactions against moto's own TransactWriteItems: each case runs on both, and the
answers (success, or the error with its cancellation reasons), the tables and the stream records
must be the same; a cancelled transaction leaves everything as it was; no table is copied."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.backends import get_backend
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from sandbox import transactions

ACCOUNT = "123456789012"
REGION = "us-east-1"
Json = dict[str, Any]


def _s(value: str) -> Json:
    return {"S": value}


def _put(table: str, item: Json, condition: str | None = None, **extra: Any) -> Json:
    put: Json = {"TableName": table, "Item": item, **extra}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def _todo(todo: str, title: str = "t", version: int = 1) -> Json:
    return {"user_id": _s("u"), "todo_id": _s(todo), "title": _s(title), "v": {"N": str(version)}}


def _key(todo: str) -> Json:
    return {"user_id": _s("u"), "todo_id": _s(todo)}


def _exists(name: str) -> Json:
    return {"ConditionExpression": "attribute_exists(#n)", "ExpressionAttributeNames": {"#n": name}}


NEW = "attribute_not_exists(todo_id)"
AT_VERSION_1 = {"ConditionExpression": "v = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}}
BUMP = {
    "UpdateExpression": "SET title = :t, v = v + :one",
    "ExpressionAttributeValues": {":t": _s("changed"), ":one": {"N": "1"}},
}

CASES: dict[str, list[Json]] = {
    "three creates": [_put("todos", _todo(n), NEW) for n in ("n1", "n2", "n3")],
    "a create over an existing item cancels the others": [
        _put("todos", _todo("n1"), NEW),
        _put("todos", _todo("a"), NEW),
        _put("todos", _todo("n2"), NEW),
    ],
    "the failed condition's item comes back with ALL_OLD": [
        _put("todos", _todo("n1"), NEW),
        _put("todos", _todo("a"), NEW, ReturnValuesOnConditionCheckFailure="ALL_OLD"),
    ],
    "update, delete and a condition check": [
        {"Update": {"TableName": "todos", "Key": _key("a"), **BUMP}},
        {"Delete": {"TableName": "todos", "Key": _key("b"), **AT_VERSION_1}},
        {"ConditionCheck": {"TableName": "keys", "Key": {"key": _s("k")}, **_exists("key")}},
    ],
    "an update in place is undone when a later action fails": [
        {"Update": {"TableName": "todos", "Key": _key("a"), **BUMP}},
        {"Delete": {"TableName": "todos", "Key": _key("b"), **AT_VERSION_1}},
        {"ConditionCheck": {"TableName": "keys", "Key": {"key": _s("none")}, **_exists("key")}},
    ],
    "a delete is undone when a later action fails": [
        {"Delete": {"TableName": "todos", "Key": _key("b")}},
        _put(
            "keys",
            {"key": _s("k")},
            "attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": "key"},
        ),
    ],
    "an update that creates its item is undone": [
        {
            "Update": {
                "TableName": "todos",
                "Key": _key("fresh"),
                **BUMP | {"UpdateExpression": "SET title = :t ADD v :one"},
            }
        },
        _put("todos", _todo("a"), NEW),
    ],
    "two tables, both written": [
        _put("todos", _todo("n1"), NEW),
        _put(
            "keys",
            {"key": _s("k2"), "todo": _s("n1")},
            "attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": "key"},
        ),
    ],
    "two actions on one item are a validation error": [
        _put("todos", _todo("n1"), NEW),
        {"Delete": {"TableName": "todos", "Key": _key("n1")}},
    ],
    "an invalid update expression fails the whole request": [
        _put("todos", _todo("n1"), NEW),
        {
            "Update": {
                "TableName": "todos",
                "Key": _key("a"),
                "UpdateExpression": "SET = :t",
                "ExpressionAttributeValues": {":t": _s("x")},
            }
        },
    ],
    "a missing table is that action's reason": [
        _put("todos", _todo("n1"), NEW),
        {"Delete": {"TableName": "missing", "Key": _key("a")}},
    ],
}


@contextmanager
def _tables() -> Iterator[Any]:
    """moto with two streamed tables (one with a sort key) and a few items."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        client.create_table(
            TableName="todos",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "todo_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "todo_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification=stream,
        )
        client.create_table(
            TableName="keys",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification=stream,
        )
        for todo in ("a", "b"):
            client.put_item(TableName="todos", Item=_todo(todo))
        client.put_item(TableName="keys", Item={"key": _s("k"), "todo": _s("a")})
        yield client


def _state(client: Any) -> Json:
    """Every item of both tables and every stream record (without ids and times)."""
    backend = get_backend("dynamodb")[ACCOUNT][REGION]
    state: Json = {}
    for name in ("todos", "keys"):
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        shard = backend.tables[name].stream_shard
        assert shard is not None
        records = [r.to_json() for r in shard.items]
        state[name] = sorted(items, key=repr)
        state[f"{name} stream"] = [
            (r["eventName"], r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage"))
            for r in records
        ]
    return state


def _outcome(client: Any, actions: list[Json]) -> Json:
    try:
        client.transact_write_items(TransactItems=actions)
    except ClientError as e:
        return {"error": e.response["Error"], "reasons": e.response.get("CancellationReasons")}
    return {"error": None}


def _run(
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    implementation: Callable[..., None],
    actions: list[Json],
) -> tuple[Json, Json, Json]:
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", implementation)
    before = _state(client)
    outcome = _outcome(client, copy.deepcopy(actions))
    return before, outcome, _state(client)


@pytest.mark.parametrize("case", CASES)
def test_transactions_do_what_motos_own_do(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    for implementation in (
        transactions.moto_transact_write_items(),
        transactions.transact_write_items,
    ):
        with _tables() as client:
            runs.append(_run(client, monkeypatch, implementation, CASES[case]))
    (_, moto_outcome, moto_after), (before, ours, after) = runs
    assert ours == moto_outcome
    assert after == moto_after
    if ours["error"] is not None:
        assert after == before  # all or nothing


def test_transactions_cancel_with_every_reason_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    actions = CASES["the failed condition's item comes back with ALL_OLD"]
    with _tables() as client:
        _, outcome, _ = _run(client, monkeypatch, transactions.transact_write_items, actions)
    assert outcome["error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in outcome["reasons"]] == ["None", "ConditionalCheckFailed"]
    assert outcome["reasons"][1]["Item"]["title"] == _s("t")


def test_transactions_copy_no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[type] = []
    real = copy.deepcopy

    def watching(value: Any, memo: Any = None) -> Any:
        copied.append(type(value))
        return real(value, memo)

    with _tables() as client:
        monkeypatch.setattr(
            DynamoDBBackend, "transact_write_items", transactions.transact_write_items
        )
        monkeypatch.setattr(copy, "deepcopy", watching)
        for case in ("three creates", "a create over an existing item cancels the others"):
            _outcome(client, CASES[case])
    assert copied  # the watch works: items are copied
    assert Table not in copied


def test_make_transactions_cheap_installs_once() -> None:
    original = transactions.moto_transact_write_items()
    transactions.make_transactions_cheap()
    transactions.make_transactions_cheap()
    assert DynamoDBBackend.transact_write_items is transactions.transact_write_items
    assert transactions.moto_transact_write_items() is original
