"""storage's helpers as every service relies on them: which failures are a lost race (single
writes and transactions), the optimistic write's retries, its 412 and its 409, a 404 that names
the item, and a page that is one strongly consistent Query."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import (
    CancellationReason,
    DeleteError,
    PutError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
    VerboseClientError,
)

from chalicelib.core.errors import Conflict, NotFound, PreconditionFailed
from chalicelib.store.models import PostModel, TodoModel
from chalicelib.store.storage import (
    WRITE_ATTEMPTS,
    get_or_not_found,
    lost_race,
    optimistic_write,
)
from chalicelib.todos.service import TodoService
from tests.helpers import FakeClock, dynamodb_requests


def _failed(code: str, error: type[PynamoDBException] = PutError) -> PynamoDBException:
    return error("Failed", ClientError({"Error": {"Code": code, "Message": code}}, "PutItem"))


def _cancelled(*codes: str | None) -> TransactWriteError:
    """A cancelled transaction as PynamoDB raises it: one reason per item, None where fine."""
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=c) if c else None for c in codes],
    )
    return TransactWriteError("Failed to write transaction items", cause)


# -- lost races ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        _failed("ConditionalCheckFailedException"),
        _failed("TransactionConflictException", UpdateError),
        _failed("ConditionalCheckFailedException", DeleteError),
        _cancelled("ConditionalCheckFailed", None),
        _cancelled(None, "TransactionConflict"),
        _cancelled("ConditionalCheckFailed", "TransactionConflict"),
    ],
    ids=["put", "update-in-flight", "delete", "txn-condition", "txn-in-flight", "txn-both"],
)
def test_lost_race_is_a_failed_condition_or_a_transaction_in_flight(error: Exception) -> None:
    assert isinstance(error, PynamoDBException)
    assert lost_race(error) is True


@pytest.mark.parametrize(
    "error",
    [
        _failed("ValidationException"),
        _cancelled(None, "ValidationError"),
        _cancelled("ConditionalCheckFailed", "ValidationError"),
        _cancelled(None, None),
        TransactWriteError(
            "Failed", ClientError({"Error": {"Code": "ValidationException"}}, "TransactWriteItems")
        ),
    ],
    ids=["put-invalid", "txn-invalid", "txn-condition-and-invalid", "txn-no-reason", "txn-refused"],
)
def test_lost_race_is_not_any_other_failure(error: Exception) -> None:
    """Such a write would fail again: taken for a lost race, it would be retried or answered
    412 instead of failing."""
    assert isinstance(error, PynamoDBException)
    assert lost_race(error) is False


# -- optimistic writes --------------------------------------------------------------------------


class Store:
    """Reads number the item; each write loses the race until `wins_at` (never if 0)."""

    def __init__(self, wins_at: int = 0) -> None:
        self.reads = 0
        self.wins_at = wins_at
        self.stored: list[dict[str, int]] = []

    def load(self) -> dict[str, int]:
        self.reads += 1
        return {"read": self.reads}

    def store(self, item: dict[str, int]) -> None:
        if item["read"] != self.wins_at:
            raise _failed("ConditionalCheckFailedException")
        self.stored.append(item)


def test_optimistic_write_applies_the_change_again_to_a_fresh_read_after_a_lost_race() -> None:
    store = Store(wins_at=3)

    item = optimistic_write(store.load, store.store, strict=False, what="post", current=dict)

    assert item == {"read": 3}
    assert store.stored == [{"read": 3}]


def test_optimistic_write_with_a_version_named_is_412_with_the_current_item() -> None:
    store = Store()

    with pytest.raises(PreconditionFailed) as failed:
        optimistic_write(
            store.load, store.store, strict=True, what="post", current=lambda: {"slug": "now"}
        )

    assert str(failed.value) == (
        "the post was changed by another request; the current post is in Current: merge and retry"
    )
    assert failed.value.current == {"slug": "now"}
    assert store.reads == 1


def test_optimistic_write_that_keeps_losing_is_409_after_its_attempts() -> None:
    store = Store()

    with pytest.raises(Conflict) as busy:
        optimistic_write(store.load, store.store, strict=False, what="todo", current=dict)

    assert str(busy.value) == "the todo is being changed by other requests; retry shortly"
    assert store.reads == WRITE_ATTEMPTS


@pytest.fixture
def todos(aws: None) -> TodoService:
    service = TodoService(cursor_secret=b"x" * 32, clock=FakeClock())
    for n in range(7):
        service.create("alice", {"title": f"todo {n}"})
    return service


# -- one item -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "key", "what", "message"),
    [
        (TodoModel, ("alice", "t9"), "todo", "todo t9 not found"),
        (PostModel, ("no-such-post",), "post", "post no-such-post not found"),
    ],
    ids=["hash-and-range", "hash-only"],
)
def test_get_or_not_found_names_what_and_its_id(
    aws: None, model: Any, key: tuple[str, ...], what: str, message: str
) -> None:
    with pytest.raises(NotFound) as missing:
        get_or_not_found(model, *key, what=what)
    assert str(missing.value) == message


def test_get_or_not_found_reads_the_item_strongly_consistent(todos: TodoService) -> None:
    second = todos.list_todos("alice", limit=2)["items"][1]

    with dynamodb_requests() as sent:
        item = get_or_not_found(TodoModel, "alice", second["id"], what="todo")

    assert (item.todo_id, item.title) == (second["id"], second["title"])
    assert [(op, params.get("ConsistentRead")) for op, params in sent] == [("GetItem", True)]


# -- pages --------------------------------------------------------------------------------------


def test_query_page_is_one_strongly_consistent_query_of_one_item_more(todos: TodoService) -> None:
    with dynamodb_requests() as sent:
        page = todos.list_todos("alice", limit=3)

    assert len(page["items"]) == 3
    assert [(op, params["Limit"], params["ConsistentRead"]) for op, params in sent] == [
        ("Query", 4, True)
    ]


def test_query_page_pages_walk_every_item_once_in_order(todos: TodoService) -> None:
    titles: list[str] = []
    cursor = None
    for _ in range(3):
        page = todos.list_todos("alice", limit=3, cursor=cursor)
        titles += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert titles == [f"todo {n}" for n in reversed(range(7))]
    assert cursor is None


def test_query_page_of_exactly_the_rest_has_no_next_cursor(todos: TodoService) -> None:
    first = todos.list_todos("alice", limit=4)
    last = todos.list_todos("alice", limit=3, cursor=first["next_cursor"])
    assert len(last["items"]) == 3
    assert last["next_cursor"] is None
