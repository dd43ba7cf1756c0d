"""Helpers shared by services for PynamoDB: error translation and key conversion."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.models import Model

from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import Conflict, NotFound, PreconditionFailed
from chalicelib.store import outages

Json = dict[str, Any]

CONDITION_FAILED = "ConditionalCheckFailedException"
WRITE_ATTEMPTS = 5
# A transaction names the failed item's reason without the "Exception" suffix.
TXN_CONDITION_FAILED = "ConditionalCheckFailed"
# Another request got there first: a failed condition, or (DynamoDB refuses to write an item
# that a transaction in flight holds) a conflict with that transaction.
_LOST_RACE = {CONDITION_FAILED, "TransactionConflictException"}
TXN_LOST_RACE = frozenset({TXN_CONDITION_FAILED, "TransactionConflict"})


@dataclass
class ConditionalWrite:
    """What `conditional()` saw: the error of a failed condition, or None when it held."""

    error: PynamoDBException | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@contextmanager
def conditional() -> Iterator[ConditionalWrite]:
    """A conditional write whose failed condition is an outcome to branch on, not an error.

    Any other storage error propagates (throttling as `Throttled`, like `storage_errors`).
    """
    outcome = ConditionalWrite()
    try:
        with storage_errors():
            yield outcome
    except PynamoDBException as e:
        if not lost_race(e):
            raise
        outcome.error = e


def cancellation_codes(error: PynamoDBException) -> list[str | None]:
    """Why a transaction was cancelled, item by item (None: that item was not why)."""
    if not isinstance(error, TransactWriteError):
        return []
    return [reason.code if reason else None for reason in error.cancellation_reasons or []]


def lost_race(error: PynamoDBException) -> bool:
    """Whether the write failed only because another request got there first (a failed
    condition, or a transaction in flight on the item), in a single write or a transaction."""
    if error.cause_response_code in _LOST_RACE:
        return True
    codes = [code for code in cancellation_codes(error) if code is not None]
    return bool(codes) and set(codes) <= TXN_LOST_RACE


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn throttling and failures that survived botocore's retries into domain errors
    (Throttled, Unavailable: HTTP 429, 503); a failed condition stays a PynamoDB error."""
    try:
        yield
    except PynamoDBException as e:
        answer = outages.domain_error(e)
        if answer is not None:
            raise answer from e
        raise


def get_or_not_found[M: Model](
    model: type[M], hash_key: str, range_key: str | None = None, *, what: str
) -> M:
    """One item by its key, strongly consistent; NotFound (404) names `what` and its id."""
    try:
        with storage_errors():
            return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist as e:
        raise NotFound(f"{what} {range_key or hash_key} not found") from e


def connection_of(model: type[Model]) -> Connection:
    """A model's own connection (its botocore client, pool and budget) for a transaction: a new
    Connection per transaction would build a botocore session and client on every call."""
    return model._get_connection().connection  # noqa: SLF001 - PynamoDB has no public way


def to_attribute_values(key: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: {"S": value} for name, value in key.items()}


def query_page(
    index: Any,
    hash_value: str,
    *,
    key_names: tuple[str, ...],
    condition: Any,
    scope: str,
    limit: int,
    cursor: str | None,
    cursors: CursorCodec,
    forward: bool,
    consistent: bool = True,
    carry: Mapping[str, str] | None = None,
) -> tuple[list[Any], str | None]:
    """One page of an index Query and the signed cursor of the next page, if there is one.

    `key_names` are the table's key attributes and the index's: together they are the position
    a Query resumes from. A global index has no consistent reads (`consistent=False`). `carry`
    are values a listing keeps from its first page to its last, signed into the cursor
    (`carried` reads them back).
    """
    start = _position(cursors.decode(cursor, scope)) if cursor is not None else None
    with storage_errors():
        # One Query: one item more than asked tells whether another page exists.
        rows = list(
            index.query(
                hash_value,
                condition,
                scan_index_forward=forward,
                consistent_read=consistent,
                limit=limit + 1,
                page_size=limit + 1,
                last_evaluated_key=to_attribute_values(start) if start else None,
            )
        )
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    key = {name: getattr(last, name) for name in key_names}
    key |= {CARRIED + name: value for name, value in (carry or {}).items()}
    return rows, cursors.encode(key, scope)


# Carried values sit in a cursor beside the key, under names no attribute has.
CARRIED = "~"


def _position(decoded: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in decoded.items() if not name.startswith(CARRIED)}


def carried(cursors: CursorCodec, cursor: str, scope: str) -> dict[str, str]:
    """The values a cursor of `query_page` carries (see `carry`)."""
    decoded = cursors.decode(cursor, scope)
    return {k.removeprefix(CARRIED): v for k, v in decoded.items() if k.startswith(CARRIED)}


def optimistic_write[T](
    load: Callable[[], T],
    store: Callable[[T], None],
    *,
    strict: bool,
    what: str,
    current: Callable[[], Json],
) -> T:
    """Read the item, let `store` change it and write it back, again on a lost race.

    `store` checks If-Match, changes the item and saves or deletes it; the model's
    `VersionAttribute` makes that write conditional on nobody having written since the read.
    When the client named a version (`strict`), a lost race is its 412, with the `current`
    representation; otherwise the change is applied again to a fresh read, so no update is lost.
    """
    for _ in range(WRITE_ATTEMPTS):
        item = load()
        with conditional() as write:
            store(item)
        if not write.failed:
            return item
        if strict:
            raise PreconditionFailed(
                f"the {what} was changed by another request; the current {what} is in "
                "Current: merge and retry",
                current(),
            ) from write.error
    raise Conflict(f"the {what} is being changed by other requests; retry shortly")
