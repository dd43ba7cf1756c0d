"""Idempotency keys apart from HTTP: kept 7 days, stored in the write's own transaction (no
DynamoDB call of their own), and concurrent duplicates apply once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client
from pynamodb.connection.base import Connection

from chalicelib.store.models import IdempotencyModel
from chalicelib.todos.batch import TodoBatch
from chalicelib.todos.requests import Answer, TodoRequest
from chalicelib.todos.service import TodoService
from chalicelib.todos.writes import TodoWrites
from tests.conftest import headers_for
from tests.helpers import T0, ManualClock

SECRET = b"x" * 32
ALICE = headers_for("alice")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(aws: None, clock: ManualClock) -> TodoService:
    return TodoService(cursor_secret=SECRET, clock=clock)


@pytest.fixture
def writes(service: TodoService) -> TodoWrites:
    return TodoWrites(service)


def _patch(body: dict[str, Any], key: str | None = "k1", todo_id: str = "t1") -> TodoRequest:
    return TodoRequest("PATCH", todo_id, body, key=key)


def _create(todo_id: str = "t1", key: str | None = None) -> TodoRequest:
    return TodoRequest("PUT", todo_id, {"title": "t"}, if_none_match="*", key=key)


# -- 7 days -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("later", "replayed"),
    [(timedelta(days=7) - timedelta(seconds=1), True), (timedelta(days=7, seconds=1), False)],
    ids=["within-7-days", "after-7-days"],
)
def test_patch_key_is_kept_7_days(
    writes: TodoWrites, service: TodoService, clock: ManualClock, later: timedelta, replayed: bool
) -> None:
    writes.write("alice", _create())
    writes.write("alice", _patch({"notes": "once"}))
    clock.now = T0 + later

    again = writes.write("alice", _patch({"notes": "once"}))

    assert again.replayed is replayed
    assert service.get("alice", "t1")["version"] == (2 if replayed else 3)


@pytest.mark.parametrize(
    ("later", "replayed"),
    [(timedelta(days=6, hours=23), True), (timedelta(days=7, seconds=1), False)],
    ids=["within-7-days", "after-7-days"],
)
def test_post_key_is_kept_7_days(
    service: TodoService, clock: ManualClock, later: timedelta, replayed: bool
) -> None:
    first, _ = service.create("alice", {"title": "t"}, "k1")
    clock.now = T0 + later

    again, was_replayed = service.create("alice", {"title": "t"}, "k1")

    assert was_replayed is replayed
    assert (again["id"] == first["id"]) is replayed


def test_the_record_expires_7_days_after_the_write(writes: TodoWrites) -> None:
    writes.write("alice", _create(key="k1"))
    (record,) = IdempotencyModel.scan()
    assert record.expires_at == T0 + timedelta(days=7)


# -- no DynamoDB call of its own ----------------------------------------------------------------


@contextmanager
def counted() -> Iterator[dict[str, int]]:
    """The DynamoDB calls PynamoDB makes inside the block, by operation."""
    calls: dict[str, int] = {}
    real = Connection._make_api_call  # noqa: SLF001

    def counting(self: Connection, operation: str, *args: Any, **kwargs: Any) -> Any:
        calls[operation] = calls.get(operation, 0) + 1
        return real(self, operation, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Connection, "_make_api_call", counting)
        yield calls


def _as_transaction(calls: dict[str, int]) -> dict[str, int]:
    """What the same calls are with the one write turned into a transaction."""
    out = dict(calls)
    for single in ("PutItem", "DeleteItem", "UpdateItem"):
        out.pop(single, None)
    out["TransactWriteItems"] = out.get("TransactWriteItems", 0) + 1
    return out


@pytest.mark.parametrize(
    "request_of",
    [
        lambda key, n: _create(f"c{n}", key),
        lambda key, n: TodoRequest("PUT", "t1", {"title": f"r{n}"}, if_match="*", key=key),
        lambda key, n: _patch({"notes": f"n{n}"}, key),
        lambda key, n: TodoRequest("DELETE", f"d{n}", key=key),
    ],
    ids=["put-create", "put-replace", "patch", "delete"],
)
def test_a_key_adds_no_dynamodb_call(writes: TodoWrites, request_of: Any) -> None:
    writes.write("alice", _create("t1"))
    for n in (1, 2):
        writes.write("alice", _create(f"d{n}"))
    with counted() as plain:
        assert not writes.write("alice", request_of(None, 1)).replayed
    with counted() as keyed:
        assert not writes.write("alice", request_of("k", 2)).replayed
    assert keyed == _as_transaction(plain)
    assert IdempotencyModel.count() == 1


def test_a_keyed_post_is_one_transaction(service: TodoService) -> None:
    with counted() as calls:
        service.create("alice", {"title": "t"}, "k1")
    assert calls == {"TransactWriteItems": 1}


def test_a_batch_of_keyed_creates_is_one_transaction(writes: TodoWrites) -> None:
    requests = [_create(f"c{n}", f"k{n}") for n in range(25)]
    with counted() as calls:
        answers = TodoBatch(writes).apply("alice", requests)
    assert calls == {"TransactWriteItems": 1}
    assert [isinstance(a, Answer) and a.created for a in answers] == [True] * 25
    assert IdempotencyModel.count() == 25


# -- concurrent duplicates ----------------------------------------------------------------------


def test_concurrent_duplicates_apply_once_and_all_get_the_first_answer(client: Client) -> None:
    client.http.put("/todos/t1", headers={**ALICE, "If-None-Match": "*"}, body='{"title": "t"}')
    headers = {**ALICE, "Idempotency-Key": "same"}

    def patch(_: int) -> Any:
        return client.http.patch("/todos/t1", headers=headers, body=json.dumps({"notes": "once"}))

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(patch, range(6)))

    assert [a.status_code for a in answers] == [200] * 6
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert all(a.json_body == answers[0].json_body for a in answers)
    final = client.http.get("/todos/t1", headers=ALICE).json_body
    assert (final["version"], final["notes"]) == (2, "once")
