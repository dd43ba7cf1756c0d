"""Idempotency keys of todo writes: a keyed write stores its first answer in its own transaction,
so a retry with the same key and request gets that answer back and applies nothing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core import validation
from chalicelib.core.errors import Conflict, ValidationError
from chalicelib.core.preconditions import IfMatch
from chalicelib.store.models import IdempotencyModel
from chalicelib.store.storage import (
    TXN_LOST_RACE,
    cancellation_codes,
    connection_of,
    storage_errors,
)
from chalicelib.todos.requests import Answer

Json = dict[str, Any]

# Offline queues are old: a phone may come back online and retry a week later.
IDEMPOTENCY_TTL = timedelta(days=7)
MAX_IDEMPOTENCY_KEY = 64
# Visible ASCII only (a UUID fits): what any HTTP stack carries unchanged in a header.
_KEY = re.compile(rf"[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}")
REUSED = (
    "Idempotency-Key was already used on another request (method, URL, conditional headers or "
    "body); use a new key for each write"
)


class Key(NamedTuple):
    """A caller's Idempotency-Key (`record_key`, scoped to the caller) and the request it came
    with (`fingerprint`)."""

    record_key: str
    fingerprint: str


def key_for(
    user_id: str,
    key: str,
    *,
    method: str,
    path: str,
    body: object,
    if_match: IfMatch = None,
    if_none_match: IfMatch = None,
) -> Key:
    """The key of a write: what it is stored under and what a retry must repeat to replay it.

    The same request is the same method, path, conditional headers (they change what a write
    means: If-Match "1" and "2" are two requests) and body as JSON, whatever its key order or
    spacing.
    """
    if not _KEY.fullmatch(key):
        raise ValidationError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters, "
            "such as a UUID"
        )
    request = {
        "method": method,
        "path": path,
        "if_match": _tags(if_match),
        "if_none_match": _tags(if_none_match),
        "body": body,
    }
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Key(f"todos:{user_id}:{key}", hashlib.sha256(canonical.encode()).hexdigest())


def _tags(value: IfMatch) -> str | list[str] | None:
    return sorted(value) if isinstance(value, frozenset) else value


class Receipt(NamedTuple):
    """What a keyed write adds to its transaction: its key and the answer it gives."""

    key: Key
    answer: Answer
    now: datetime

    def record(self) -> IdempotencyModel:
        return IdempotencyModel(
            self.key.record_key,
            request_hash=self.key.fingerprint,
            response=json.dumps(self.answer.todo),
            created=self.answer.created,
            created_at=validation.format_time(self.now),
            expires_at=self.now + IDEMPOTENCY_TTL,
        )

    def free(self) -> Any:
        """The record's condition: no record under the key, or only an expired one (DynamoDB's
        TTL deletes days late)."""
        return IdempotencyModel.key.does_not_exist() | (IdempotencyModel.expires_at < self.now)


class KeyTaken(Exception):
    """A receipt's key is in use: the transaction was cancelled and wrote nothing."""

    def __init__(self, key: Key) -> None:
        super().__init__(key.record_key)
        self.key = key


def commit(writes: Sequence[tuple[Model, Any]], receipts: Sequence[Receipt]) -> None:
    """Save each item (on its condition and its version) and each receipt's record in one
    transaction: the writes and their keys land together or not at all.

    KeyTaken if a key is in use (or held by a transaction in flight); a write whose own
    condition failed raises the TransactWriteError, which `storage.conditional` recognises.
    """
    model = type(writes[0][0]) if writes else IdempotencyModel
    try:
        with storage_errors(), TransactWrite(connection=connection_of(model)) as tx:
            for item, condition in writes:
                tx.save(item, condition=condition)
            for receipt in receipts:
                tx.save(receipt.record(), condition=receipt.free())
    except TransactWriteError as e:
        codes = cancellation_codes(e)[len(writes) :]
        taken = [r for r, code in zip(receipts, codes, strict=False) if code in TXN_LOST_RACE]
        if taken:
            raise KeyTaken(taken[0].key) from e
        raise


def first_answer(key: Key, now: datetime) -> Answer | None:
    """The first answer stored under `key`, replayed; None if none is kept (never written, or
    expired); 409 if the key was used on another request."""
    try:
        with storage_errors():
            record = IdempotencyModel.get(key.record_key, consistent_read=True)
    except DoesNotExist:
        return None
    if record.expires_at < now:
        return None
    if record.request_hash != key.fingerprint:
        raise Conflict(REUSED)
    todo: Json | None = json.loads(record.response)
    created = True if record.created is None else record.created
    return Answer(todo, created=created, replayed=True)


def replay(key: Key, now: datetime) -> Answer:
    """The first answer after the key was found taken: it is there unless it expired between."""
    answer = first_answer(key, now)
    if answer is None:
        raise Conflict(
            "Idempotency-Key is held by a request still in flight (or just expired): retry"
        )
    return answer
