"""The AWS clients of chalicelib.store.aws: every table's requests, transactions included, go
through the process's one botocore session (its deferred credentials, the function's call
budget), and `close_connections` closes every client built, ours and PynamoDB's."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store import aws as aws_clients
from chalicelib.todos.requests import TodoRequest
from chalicelib.todos.service import TodoService
from chalicelib.todos.writes import TodoWrites
from tests.helpers import client_closes

SECRET = b"x" * 32


def _operation(request: Any) -> str:
    target = request.headers.get("X-Amz-Target", b"")
    text = target.decode() if isinstance(target, bytes) else target
    return str(text).rsplit(".", 1)[-1]


@pytest.fixture
def sent_by_the_session(aws: None) -> list[str]:
    """The DynamoDB operations sent by clients of the app's session (clients copy the session's
    handlers when they are built: registered before any is)."""
    operations: list[str] = []

    def sent(request: Any, **_: Any) -> None:
        operations.append(_operation(request))

    aws_clients.session().get_component("event_emitter").register_first("before-send", sent)
    return operations


def test_every_table_request_goes_through_the_apps_session(sent_by_the_session: list[str]) -> None:
    service = TodoService(cursor_secret=SECRET)

    todo, _ = service.create("alice", {"title": "plain"})
    service.create("alice", {"title": "keyed"}, "k1")
    service.get("alice", todo["id"])
    service.list_todos("alice", limit=10)

    assert sent_by_the_session == ["PutItem", "TransactWriteItems", "GetItem", "Query"]


def test_a_keyed_write_of_no_change_commits_through_the_apps_session(
    sent_by_the_session: list[str],
) -> None:
    """Its transaction holds the key's record alone, on the idempotency table's connection."""
    writes = TodoWrites(TodoService(cursor_secret=SECRET))
    writes.write("alice", TodoRequest("PUT", "t1", {"title": "t"}, if_none_match="*"))

    writes.write("alice", TodoRequest("PATCH", "t1", {}, key="k1"))

    assert sent_by_the_session == ["PutItem", "GetItem", "TransactWriteItems"]


def test_close_connections_closes_every_client_built(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = client_closes(monkeypatch)
    queues = aws_clients.client("sqs")
    TodoService(cursor_secret=SECRET).create("alice", {"title": "t"}, "k1")

    aws_clients.close_connections()

    assert queues in closed
    assert {c.meta.service_model.service_name for c in closed} == {"dynamodb", "sqs"}
