"""The saved state's tables read from moto's backend: the same items, in the same order, as a
consistent Scan through the API, and read under the DynamoDB lock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from sandbox import capture
from sandbox.atomic import dynamodb_lock
from sandbox.state import to_json

REGION = "us-east-1"
ITEM = {
    "title": {"S": "Ünïcode"},
    "version": {"N": "2"},
    "blob": {"B": b"\x00\xff"},
    "blobs": {"BS": [b"a", b"b"]},
    "tags": {"SS": ["home", "work"]},
    "done": {"BOOL": True},
    "nothing": {"NULL": True},
    "nested": {"M": {"list": {"L": [{"B": b"x"}, {"N": "1.5"}]}}},
}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
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
        )
        dynamodb.create_table(
            TableName="keys",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in (3, 1, 2):
            for user in ("b", "a"):
                item = {"user_id": {"S": user}, "todo_id": {"S": f"t{n}"}, **ITEM}
                dynamodb.put_item(TableName="todos", Item=item)
            dynamodb.put_item(TableName="keys", Item={"key": {"S": f"k{n}"}, **ITEM})
        dynamodb.update_item(
            TableName="todos",
            Key={"user_id": {"S": "a"}, "todo_id": {"S": "t1"}},
            UpdateExpression="SET nested.#l[0] = :b",
            ExpressionAttributeNames={"#l": "list"},
            ExpressionAttributeValues={":b": {"B": b"changed"}},
        )
        yield dynamodb


def _scanned(client: Any) -> dict[str, list[Any]]:
    """What the capture read through the API before: a consistent Scan of every table."""
    names = sorted(client.list_tables()["TableNames"])
    return {
        name: [
            to_json(item)
            for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
            for item in page["Items"]
        ]
        for name in names
    }


def test_capture_tables_reads_what_a_scan_reads(client: Any) -> None:
    captured = capture.capture_tables(REGION)
    assert captured == _scanned(client)
    assert len(captured["todos"]) == 6
    assert captured["todos"][0]["nested"]["M"]["list"]["L"][0] == {"B": {"$base64": "Y2hhbmdlZA=="}}


def test_capture_tables_reads_under_the_dynamodb_lock(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[bool] = []
    lock = dynamodb_lock()
    real = Table.all_items

    def watched(self: Table) -> list[Any]:
        # Whether this thread holds the lock while the items are read.
        held.append(lock._is_owned())  # type: ignore[attr-defined]  # noqa: SLF001
        return real(self)

    monkeypatch.setattr(Table, "all_items", watched)
    capture.capture_tables(REGION)
    assert held == [True, True]
