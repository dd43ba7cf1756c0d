"""Helpers shared by services for PynamoDB: error translation and key conversion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import Throttled

CONDITION_FAILED = "ConditionalCheckFailedException"
# A transaction names the failed item's reason without the "Exception" suffix.
TXN_CONDITION_FAILED = "ConditionalCheckFailed"
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


def is_condition_failure(error: PynamoDBException) -> bool:
    return error.cause_response_code == CONDITION_FAILED


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn throttling that survived botocore's retries into a domain error (HTTP 429)."""
    try:
        yield
    except PynamoDBException as e:
        if e.cause_response_code in _THROTTLED:
            raise Throttled("the service is busy; retry after a short pause") from e
        raise


def to_attribute_values(key: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: {"S": value} for name, value in key.items()}
