"""Idempotent creates: the first response to an Idempotency-Key, stored with what it created."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core import validation
from chalicelib.core.errors import Conflict, ValidationError
from chalicelib.store.models import IdempotencyModel
from chalicelib.store.storage import TXN_CONDITION_FAILED, connection_of, storage_errors

Json = dict[str, Any]

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY = 64
# Visible ASCII only (a UUID fits): what any HTTP stack carries unchanged in a header.
_KEY = re.compile(rf"[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}")


def request_hash(data: Json) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_once(
    item: Model,
    condition: Any,
    *,
    key: str,
    owner: str,
    data: Json,
    response: Json,
    now: datetime,
) -> tuple[Json, bool]:
    """Save `item` and remember `response` under the caller's (`owner`'s) `key`, in one
    transaction.

    Returns the response and whether it is the replay of an earlier request with that key
    (then nothing is created); the same key with another body is a 409.
    """
    if not _KEY.fullmatch(key):
        raise ValidationError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters, "
            "such as a UUID"
        )
    record = IdempotencyModel(
        f"{owner}:{key}",
        request_hash=request_hash(data),
        response=json.dumps(response),
        created_at=validation.format_time(now),
        expires_at=now + IDEMPOTENCY_TTL,
    )
    try:
        with storage_errors(), TransactWrite(connection=connection_of(type(item))) as tx:
            tx.save(item, condition=condition)
            tx.save(
                record,
                condition=IdempotencyModel.key.does_not_exist()
                | (IdempotencyModel.expires_at < now),
            )
    except TransactWriteError as e:
        reasons = e.cancellation_reasons or []
        if len(reasons) < 2 or reasons[1] is None or reasons[1].code != TXN_CONDITION_FAILED:
            raise
        return _replay(record, e), True
    return response, False


def _replay(record: IdempotencyModel, error: TransactWriteError) -> Json:
    """The first response to the key, if the first request had the same body; else 409."""
    try:
        first = IdempotencyModel.get(record.key, consistent_read=True)
    except DoesNotExist as gone:  # expired and swept between the two calls
        raise Conflict("Idempotency-Key was just released; retry the request") from gone
    if first.request_hash != record.request_hash:
        raise Conflict("Idempotency-Key was already used with a different request body") from error
    response: Json = json.loads(first.response)
    return response
