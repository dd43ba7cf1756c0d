"""moto's DynamoDB item answers and stream records written as JSON directly, not through its
generic serializer.

moto 5.2 writes every answer by walking botocore's output shape with a generic attribute picker:
under load it was almost half of the sandbox's CPU (a sync page of 50 todos walks some 1,500
attribute values), and the event pump's GetRecords another tenth. An item operation's result
(a `DynamoResult`) and a GetRecords result are already plain data in the wire shape, so
`json.dumps` writes the same answer: bytes as base64, times as epoch seconds to the
millisecond, no nulls. Other operations and every error keep moto's serializer.
tests/test_sandbox_dynamodb_json.py checks that botocore reads the same from both.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

# The operations whose answers are items, counts, keys and consumed capacity.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
STREAM_OPERATIONS = frozenset({"GetRecords"})
CONTENT_TYPE = "application/x-amz-json-1.0"

_installed = False


def plain(value: Any) -> Any:
    """A DynamoResult's data as JSON can hold it, without the members that are None."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        # moto's own conversion: epoch seconds, truncated to the millisecond.
        from moto.core.serialize import TimestampSerializer  # noqa: PLC0415

        unix = TimestampSerializer.TIMESTAMP_FORMAT_UNIX
        return TimestampSerializer(unix)._convert_timestamp_to_str(value, unix)  # noqa: SLF001
    return value


Serialized = Callable[[Any, Any], Any]


def serialized_with(
    original: Serialized, operations: frozenset[str] = ITEM_OPERATIONS
) -> Serialized:
    """A handler's `serialized`: the answers of `operations` directly, anything else (and
    errors, which moto serializes elsewhere) by `original`."""
    from moto.core.responses import ActionResult  # noqa: PLC0415 - slow import
    from moto.dynamodb.responses import DynamoResult  # noqa: PLC0415

    def serialized(self: Any, action_result: Any) -> Any:
        if (
            type(action_result) not in (ActionResult, DynamoResult)
            or not isinstance(action_result.result, dict)
            or self._get_action() not in operations
        ):
            return original(self, action_result)
        headers = {"Content-Type": CONTENT_TYPE, **self.response_headers}
        return 200, headers, json.dumps(plain(action_result.result))

    return serialized


def make_responses_fast() -> None:
    """Install the direct JSON answers on moto's DynamoDB and DynamoDB Streams handlers (once
    per process)."""
    global _installed  # noqa: PLW0603 - a process-wide patch, applied once
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415 - slow import
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler  # noqa: PLC0415

    DynamoHandler.serialized = serialized_with(DynamoHandler.serialized)  # type: ignore[method-assign,assignment]
    DynamoDBStreamsHandler.serialized = serialized_with(  # type: ignore[method-assign,assignment]
        DynamoDBStreamsHandler.serialized, STREAM_OPERATIONS
    )
    _installed = True
