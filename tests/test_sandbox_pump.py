"""The sandbox event pump: SQS, stream batches and schedules reach handlers as on Lambda."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from chalice import Chalice
from chalice.app import DynamoDBEvent, SQSEvent
from moto import mock_aws

from deploy.template import FUNCTIONS, load_yaml
from sandbox.lambda_events import failed_ids, schedule_seconds, stream_event
from sandbox.pump import STREAM_MAX_ATTEMPTS, EventPump

QUEUE = "pump-test"


def _wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def _queue(session: Any, max_receive: int = 2) -> tuple[str, str]:
    sqs = session.client("sqs")
    dlq = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive})
    url = sqs.create_queue(
        QueueName=QUEUE, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "30"}
    )["QueueUrl"]
    return url, dlq


def _sqs_app(seen: list[dict[str, Any]]) -> tuple[Chalice, dict[str, Any]]:
    app = Chalice(app_name="pump-test")

    @app.on_sqs_message(queue=QUEUE, batch_size=10)
    def handle(event: SQSEvent) -> dict[str, Any]:
        failures = []
        for record in event:
            raw = record.to_dict()
            seen.append(raw)
            if record.body == "poison":
                failures.append({"itemIdentifier": raw["messageId"]})
        return {"batchItemFailures": failures}

    return app, {"handle": handle}


def test_pump_sqs_deletes_done_and_dead_letters_poison(aws: Any) -> None:
    url, dlq = _queue(aws)
    seen: list[dict[str, Any]] = []
    app, handlers = _sqs_app(seen)
    sqs = aws.client("sqs")
    for body in ("one", "poison", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    pump = EventPump(app, handlers, aws, "us-east-1", wait_seconds=0)
    pump.start()
    try:
        _wait_for(lambda: "Messages" in sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0))
    finally:
        pump.stop()
    bodies = [r["body"] for r in seen]
    assert bodies.count("one") == bodies.count("two") == 1
    assert bodies.count("poison") == 2
    assert seen[0]["eventSource"] == "aws:sqs"
    assert seen[0]["eventSourceARN"].endswith(f":{QUEUE}")
    remaining = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert remaining["ApproximateNumberOfMessages"] == "0"
    assert remaining["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_pump_streams_deliver_lambda_shaped_records_and_retry_failures(aws: Any) -> None:
    table = aws.client("dynamodb").create_table(
        TableName="pump-stream",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    stream_arn = table["LatestStreamArn"]
    app = Chalice(app_name="pump-test")
    seen: list[dict[str, Any]] = []
    refused: set[str] = set()

    @app.on_dynamodb_record(stream_arn=stream_arn, batch_size=10)
    def handle(event: DynamoDBEvent) -> dict[str, Any]:
        for record in event:
            raw = record.to_dict()
            seen.append(raw)
            key = record.keys["id"]["S"]
            if key == "b" and key not in refused:  # fails once, then works
                refused.add(key)
                return {"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}
        return {"batchItemFailures": []}

    for key in ("a", "b", "c"):
        aws.client("dynamodb").put_item(TableName="pump-stream", Item={"id": {"S": key}})
    pump = EventPump(app, {"handle": handle}, aws, "us-east-1", wait_seconds=0)
    pump.start()
    try:
        _wait_for(lambda: [r["dynamodb"]["Keys"]["id"]["S"] for r in seen][-1:] == ["c"])
    finally:
        pump.stop()
    keys = [r["dynamodb"]["Keys"]["id"]["S"] for r in seen]
    assert keys == ["a", "b", "b", "c"]
    assert all(r["eventSourceARN"] == stream_arn for r in seen)
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], float) for r in seen)
    assert seen[0]["eventName"] == "INSERT"


def test_pump_fire_runs_a_schedule_with_a_scheduled_event(aws: Any) -> None:
    app = Chalice(app_name="pump-test")
    events: list[dict[str, Any]] = []

    @app.schedule("rate(5 minutes)")
    def tick(event: Any) -> None:
        events.append(event.to_dict())

    pump = EventPump(app, {"tick": tick}, aws, "us-east-1", schedule_period=0.05)
    pump.start()
    try:
        _wait_for(lambda: len(events) >= 2)
    finally:
        pump.stop()
    assert events[0]["detail-type"] == "Scheduled Event"
    assert events[0]["source"] == "aws.events"


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(5 minutes)", 300), ("rate(1 minute)", 60), ("rate(2 hours)", 7200)],
)
def test_schedule_seconds_reads_rate_expressions(expression: str, seconds: float) -> None:
    assert schedule_seconds(expression) == seconds


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, None),
        ({}, None),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "1"}]}, {"1"}),
    ],
)
def test_failed_ids_reads_batch_item_failures(result: Any, expected: set[str] | None) -> None:
    assert failed_ids(result) == expected


def test_stream_event_sets_arn_and_numeric_time() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    record = {
        "eventName": "INSERT",
        "dynamodb": {"ApproximateCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC)},
    }
    event = stream_event([record], "arn:stream")
    assert event["Records"][0]["eventSourceARN"] == "arn:stream"
    assert event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"] == 1767225600.0


def test_pump_retries_a_stream_batch_as_often_as_the_template_lets_lambda() -> None:
    functions = load_yaml(FUNCTIONS)["Resources"]
    retries = {
        event["Properties"]["MaximumRetryAttempts"]
        for function in functions.values()
        for event in function.get("Properties", {}).get("Events", {}).values()
        if "Stream" in event.get("Properties", {})
    }
    assert retries == {STREAM_MAX_ATTEMPTS - 1}
