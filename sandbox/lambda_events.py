"""Lambda's event shapes (SQS, DynamoDB stream, schedule) and the failures a handler reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from deploy.functions import scheduled_event as deploy_scheduled_event

ACCOUNT = "123456789012"  # moto's default account

Handler = Callable[[dict[str, Any], Any], Any]


def failed_ids(result: Any) -> set[str] | None:
    """The item identifiers a handler reported as failed; None when it reported nothing."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return None
    return {str(f["itemIdentifier"]) for f in result["batchItemFailures"]}


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS batch as Lambda delivers it."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB stream batch as Lambda delivers it: ARN set, creation time as epoch seconds."""
    out = []
    for record in records:
        data = dict(record["dynamodb"])
        created = data.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            data["ApproximateCreationDateTime"] = created.timestamp()
        out.append({**record, "dynamodb": data, "eventSourceARN": stream_arn})
    return {"Records": out}


def scheduled_event(rule: str, region: str) -> dict[str, Any]:
    """An EventBridge scheduled event for one of the app's rules, in moto's account."""
    return deploy_scheduled_event(region, account=ACCOUNT, rule=rule)


def schedule_seconds(expression: Any) -> float:
    """Seconds between runs of a rate() expression; cron() schedules count as hourly here."""
    text = expression if isinstance(expression, str) else expression.to_string()
    if text.startswith("rate(") and text.endswith(")"):
        amount, unit = text[5:-1].split()
        per = {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
        return float(amount) * per
    return 3600.0
