"""sandbox.dynamodb_json against moto's own serializer: every item operation, on items of every
attribute type, read through botocore, gives the same answer both ways."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from sandbox import dynamodb_json

REGION = "us-east-1"
Json = dict[str, Any]

EVERY_TYPE: Json = {
    "user_id": {"S": "u"},
    "todo_id": {"S": "t1"},
    "title": {"S": "Ünïcode 🎉"},
    "version": {"N": "3"},
    "ratio": {"N": "-0.125"},
    "blob": {"B": b"\x00\xffbinary"},
    "done": {"BOOL": False},
    "nothing": {"NULL": True},
    "tags": {"SS": ["home", "work"]},
    "scores": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"a", b"\x01"]},
    "list": {"L": [{"S": "x"}, {"N": "1"}, {"B": b"y"}, {"M": {"k": {"BOOL": True}}}]},
    "map": {"M": {"inner": {"B": b"z"}, "deep": {"L": [{"NULL": True}]}}},
    "updated_key": {"S": "2026-12-06#t1"},
}


def _item(todo: str, **extra: Json) -> Json:
    return {**EVERY_TYPE, "todo_id": {"S": todo}, "updated_key": {"S": f"2026#{todo}"}, **extra}


def _key(todo: str) -> Json:
    return {"user_id": {"S": "u"}, "todo_id": {"S": todo}}


CAPACITY = {"ReturnConsumedCapacity": "TOTAL"}

CALLS: dict[str, tuple[str, Json]] = {
    "put, old values": (
        "put_item",
        {"TableName": "todos", "Item": _item("t1"), "ReturnValues": "ALL_OLD", **CAPACITY},
    ),
    "put, nothing back": ("put_item", {"TableName": "todos", "Item": _item("t9")}),
    "get": ("get_item", {"TableName": "todos", "Key": _key("t1"), "ConsistentRead": True}),
    "get, missing": ("get_item", {"TableName": "todos", "Key": _key("none")}),
    "get, projected": (
        "get_item",
        {"TableName": "todos", "Key": _key("t1"), "ProjectionExpression": "map.inner, blobs"},
    ),
    "update, new values": (
        "update_item",
        {
            "TableName": "todos",
            "Key": _key("t1"),
            "UpdateExpression": "SET version = version + :one, #b = :b",
            "ExpressionAttributeNames": {"#b": "blob"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":b": {"B": b"new"}},
            "ReturnValues": "ALL_NEW",
            **CAPACITY,
        },
    ),
    "update, old changed values": (
        "update_item",
        {
            "TableName": "todos",
            "Key": _key("t2"),
            "UpdateExpression": "SET done = :d",
            "ExpressionAttributeValues": {":d": {"BOOL": True}},
            "ReturnValues": "UPDATED_OLD",
        },
    ),
    "delete, old values": (
        "delete_item",
        {"TableName": "todos", "Key": _key("t2"), "ReturnValues": "ALL_OLD"},
    ),
    "query, a page": (
        "query",
        {
            "TableName": "todos",
            "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": "u"}},
            "Limit": 2,
            **CAPACITY,
        },
    ),
    "query, an index backwards": (
        "query",
        {
            "TableName": "todos",
            "IndexName": "by_updated",
            "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": "u"}},
            "ScanIndexForward": False,
        },
    ),
    "query, count only": (
        "query",
        {
            "TableName": "todos",
            "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": "u"}},
            "Select": "COUNT",
        },
    ),
    "scan, filtered": (
        "scan",
        {
            "TableName": "todos",
            "FilterExpression": "version > :v",
            "ExpressionAttributeValues": {":v": {"N": "1"}},
        },
    ),
    "batch get": (
        "batch_get_item",
        {"RequestItems": {"todos": {"Keys": [_key("t1"), _key("t3"), _key("none")]}}},
    ),
    "batch write": (
        "batch_write_item",
        {
            "RequestItems": {
                "todos": [
                    {"PutRequest": {"Item": _item("t7")}},
                    {"DeleteRequest": {"Key": _key("t3")}},
                ]
            },
            **CAPACITY,
        },
    ),
    "transact get": (
        "transact_get_items",
        {"TransactItems": [{"Get": {"TableName": "todos", "Key": _key(t)}} for t in ("t1", "x")]},
    ),
    "transact write": (
        "transact_write_items",
        {
            "TransactItems": [
                {"Put": {"TableName": "todos", "Item": _item("t8")}},
                {"Delete": {"TableName": "todos", "Key": _key("t4")}},
            ],
            **CAPACITY,
        },
    ),
}


@contextmanager
def _table() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="todos",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "todo_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "todo_id", "AttributeType": "S"},
                {"AttributeName": "updated_key", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_updated",
                    "KeySchema": [
                        {"AttributeName": "user_id", "KeyType": "HASH"},
                        {"AttributeName": "updated_key", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for todo in ("t1", "t2", "t3", "t4"):
            client.put_item(TableName="todos", Item=_item(todo))
        yield client


def _answer(
    monkeypatch: pytest.MonkeyPatch, serialized: Callable[..., Any], method: str, params: Json
) -> Json:
    monkeypatch.setattr(DynamoHandler, "serialized", serialized)
    with _table() as client:
        answer: Json = getattr(client, method)(**params)
    answer.pop("ResponseMetadata")
    return answer


@pytest.mark.parametrize("call", CALLS)
def test_item_answers_read_as_motos_own(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    method, params = CALLS[call]
    moto_answer = _answer(monkeypatch, BaseResponse.serialized, method, params)
    fast = dynamodb_json.serialized_with(BaseResponse.serialized)
    assert _answer(monkeypatch, fast, method, params) == moto_answer


def _records(streams: Any, arn: str) -> list[Json]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[Json] = streams.get_records(ShardIterator=iterator)["Records"]
    return records


def test_stream_records_read_as_motos_own(monkeypatch: pytest.MonkeyPatch) -> None:
    with _table() as client:
        for method, params in CALLS.values():
            if method in ("put_item", "update_item", "delete_item", "transact_write_items"):
                getattr(client, method)(**params)
        arn = client.describe_table(TableName="todos")["Table"]["LatestStreamArn"]
        # Account-based endpoints (123456789012.streams-ddb...) are unknown to moto's mock.
        streams = boto3.client(
            "dynamodbstreams",
            region_name=REGION,
            config=Config(account_id_endpoint_mode="disabled"),
        )
        monkeypatch.setattr(DynamoDBStreamsHandler, "serialized", BaseResponse.serialized)
        moto_records = _records(streams, arn)
        fast = dynamodb_json.serialized_with(BaseResponse.serialized, frozenset({"GetRecords"}))
        monkeypatch.setattr(DynamoDBStreamsHandler, "serialized", fast)
        assert _records(streams, arn) == moto_records
    assert {r["eventName"] for r in moto_records} == {"INSERT", "MODIFY", "REMOVE"}
    assert any("blob" in r["dynamodb"].get("NewImage", {}) for r in moto_records)


def test_item_answers_skip_moto_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []

    def moto_serialized(self: Any, result: Any) -> Any:
        used.append(self._get_action())
        return BaseResponse.serialized(self, result)

    monkeypatch.setattr(DynamoHandler, "serialized", dynamodb_json.serialized_with(moto_serialized))
    with _table() as client:
        client.get_item(TableName="todos", Key=_key("t1"))
        client.describe_table(TableName="todos")
    assert used == ["CreateTable", "DescribeTable"]


def test_plain_writes_bytes_times_and_drops_nones() -> None:
    # moto keeps naive UTC times.
    moment = datetime(2026, 12, 6, 10, 30, 0, 123999)
    data = {"B": b"\x00\x01", "When": moment, "Gone": None, "L": [{"BS": [b"a"]}]}
    assert dynamodb_json.plain(data) == {
        "B": "AAE=",
        "When": moment.replace(tzinfo=UTC, microsecond=0).timestamp() + 0.123,
        "L": [{"BS": ["YQ=="]}],
    }
