"""sandbox.dynamodb_query against moto's own Query: each query, paged to its end, answers the same
pages both ways; a query bounded by the table's partition key never sorts the whole table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from sandbox import dynamodb_query

REGION = "us-east-1"
Json = dict[str, Any]


def _s(value: str) -> Json:
    return {"S": value}


def _query(**params: Any) -> Json:
    return {"TableName": "todos", **params}


def _user(user: str) -> Json:
    return {"KeyConditionExpression": "user_id = :u", "ExpressionAttributeValues": {":u": _s(user)}}


QUERIES: dict[str, Json] = {
    "a partition, paged by 3": _query(**_user("u1"), Limit=3),
    "a partition backwards": _query(**_user("u2"), ScanIndexForward=False, Limit=4),
    "a sort key range": _query(
        KeyConditionExpression="user_id = :u AND todo_id BETWEEN :a AND :b",
        ExpressionAttributeValues={":u": _s("u1"), ":a": _s("t03"), ":b": _s("t07")},
    ),
    "a sort key prefix, filtered": _query(
        KeyConditionExpression="user_id = :u AND begins_with(todo_id, :p)",
        FilterExpression="done = :d",
        ExpressionAttributeValues={":u": _s("u2"), ":p": _s("t0"), ":d": {"BOOL": True}},
    ),
    "an empty partition": _query(**_user("nobody")),
    "a count": _query(**_user("u1"), Select="COUNT"),
    "an index on the table's partition key, paged": _query(
        **_user("u1"), IndexName="by_updated", Limit=2
    ),
    "an index on the table's partition key, backwards": _query(
        **_user("u3"), IndexName="by_updated", ScanIndexForward=False
    ),
    "an index on another key": _query(
        IndexName="by_list",
        KeyConditionExpression="list_id = :l",
        ExpressionAttributeValues={":l": _s("shared")},
        Limit=3,
    ),
}


@contextmanager
def _table() -> Iterator[Any]:
    """Three users' todos; some lack the index's sort key (a sparse index)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        attribute = [
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("user_id", "todo_id", "updated_key", "list_id")
        ]
        client.create_table(
            TableName="todos",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "todo_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=attribute,
            GlobalSecondaryIndexes=[
                _index("by_updated", "user_id", "updated_key"),
                _index("by_list", "list_id", "updated_key"),
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(30):
            user = f"u{n % 3 + 1}"
            item = {"user_id": _s(user), "todo_id": _s(f"t{n:02d}"), "done": {"BOOL": n % 2 == 0}}
            if n % 4:
                item["updated_key"] = _s(f"2026-12-{30 - n:02d}#{n}")
            if n % 5 == 0:
                item["list_id"] = _s("shared")
            client.put_item(TableName="todos", Item=item)
        yield client


def _index(name: str, partition: str, sort: str) -> Json:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def _pages(client: Any, params: Json) -> list[Json]:
    pages = []
    start: Json | None = None
    while True:
        page = client.query(**params, **({"ExclusiveStartKey": start} if start else {}))
        page.pop("ResponseMetadata")
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def _use(monkeypatch: pytest.MonkeyPatch, query: Any, all_items: Any) -> None:
    monkeypatch.setattr(Table, "query", query)
    monkeypatch.setattr(Table, "all_items", all_items)


@pytest.mark.parametrize("name", QUERIES)
def test_queries_answer_as_motos_own(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    moto = dynamodb_query.moto_methods()
    with _table() as client:
        _use(monkeypatch, *moto)
        expected = _pages(client, QUERIES[name])
        _use(monkeypatch, *dynamodb_query.partitioned(*moto))
        assert _pages(client, QUERIES[name]) == expected
    assert any(page["Count"] for page in expected) or name == "an empty partition"


def test_partition_queries_never_sort_the_whole_table(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_query, moto_all_items = dynamodb_query.moto_methods()
    whole: list[int] = []

    def counting(self: Any) -> Any:
        whole.append(1)
        return moto_all_items(self)

    with _table() as client:
        _use(monkeypatch, *dynamodb_query.partitioned(moto_query, counting))
        _pages(client, QUERIES["a partition, paged by 3"])
        _pages(client, QUERIES["an index on the table's partition key, paged"])
        assert whole == []
        _pages(client, QUERIES["an index on another key"])
        assert whole  # the watch works: that one is moto's own
