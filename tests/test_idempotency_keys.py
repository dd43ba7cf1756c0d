"""Idempotency keys at the module's edge: which keys are accepted, the fingerprint a stored
record is matched by (the same from one release to the next: keys outlive a deploy), what a
record of an older release replays, and what a key found taken answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError

from chalicelib.core.errors import Conflict, ValidationError
from chalicelib.store.models import IdempotencyModel
from chalicelib.todos import idempotency
from chalicelib.todos.requests import Answer, TodoRequest
from chalicelib.todos.service import TodoService
from chalicelib.todos.writes import TodoWrites
from tests.helpers import T0, ManualClock, dynamodb_requests

MALFORMED = "Idempotency-Key must be 1 to 64 visible ASCII characters, such as a UUID"
REUSED = (
    "Idempotency-Key was already used on another request (method, URL, conditional headers or "
    "body); use a new key for each write"
)
IN_FLIGHT = "Idempotency-Key is held by a request still in flight (or just expired): retry"
TODO = {"id": "t1", "title": "Café", "version": 1}


def _patch_key(key: str = "k1") -> idempotency.Key:
    return idempotency.key_for(
        "alice",
        key,
        method="PATCH",
        path="/todos/t1",
        body={"title": "Café", "tags": ["b", "a"]},
        if_match=frozenset({"2", "1"}),
    )


def _store(key: idempotency.Key, created: bool | None) -> None:
    """A record as an earlier release wrote it."""
    IdempotencyModel(
        key.record_key,
        request_hash=key.fingerprint,
        response=json.dumps(TODO),
        created=created,
        created_at="2026-11-23T10:00:00Z",
        expires_at=T0 + timedelta(days=7),
    ).save()


# -- which keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "with space", "k" * 65, "café", "tab\there"])
def test_key_for_refuses_a_malformed_key_saying_what_is_accepted(key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        idempotency.key_for("alice", key, method="POST", path="/todos", body={})
    assert str(refused.value) == MALFORMED


@pytest.mark.parametrize("key", ["k", "k" * 64, "!~", "0b5d3c1e-6f2a-4a8e-9c47-1f0e2d3b4a5c"])
def test_key_for_accepts_1_to_64_visible_ascii_characters(key: str) -> None:
    assert idempotency.key_for("alice", key, method="POST", path="/todos", body={}).record_key == (
        f"todos:alice:{key}"
    )


# -- the fingerprint, from one release to the next -----------------------------------------------


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        (
            _patch_key,
            '{"body":{"tags":["b","a"],"title":"Café"},"if_match":["1","2"],'
            '"if_none_match":null,"method":"PATCH","path":"/todos/t1"}',
        ),
        (
            lambda: idempotency.key_for(
                "alice",
                "k1",
                method="PUT",
                path="/todos/t1",
                body={"title": "Café"},
                if_none_match="*",
            ),
            '{"body":{"title":"Café"},"if_match":null,"if_none_match":"*",'
            '"method":"PUT","path":"/todos/t1"}',
        ),
    ],
    ids=["patch-if-match", "put-if-none-match"],
)
def test_key_for_fingerprint_is_the_sha256_of_the_canonical_request(
    key: Callable[[], idempotency.Key], canonical: str
) -> None:
    """Records live 7 days, across deploys: a release that fingerprinted the same request
    otherwise would answer a retry of its predecessor's write with 409."""
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    assert key() == idempotency.Key("todos:alice:k1", fingerprint)


def test_key_for_ignores_the_bodys_key_order() -> None:
    one = idempotency.key_for("alice", "k", method="POST", path="/todos", body={"a": 1, "b": 2})
    two = idempotency.key_for("alice", "k", method="POST", path="/todos", body={"b": 2, "a": 1})
    assert one == two


def test_record_of_the_release_before_replays(aws: None) -> None:
    _store(_patch_key(), created=False)

    answer = idempotency.first_answer(_patch_key(), T0 + timedelta(days=1))

    assert answer == Answer(TODO, created=False, replayed=True)


def test_record_without_created_replays_as_a_create(aws: None) -> None:
    """Records of v1.1 have no `created`: v1.1 kept keys of creates (POST) only."""
    _store(_patch_key(), created=None)

    answer = idempotency.first_answer(_patch_key(), T0)

    assert answer == Answer(TODO, created=True, replayed=True)


def test_first_answer_of_a_key_used_on_another_request_is_409(aws: None) -> None:
    _store(_patch_key(), created=False)
    other = idempotency.key_for("alice", "k1", method="DELETE", path="/todos/t1", body=None)

    with pytest.raises(Conflict) as reused:
        idempotency.first_answer(other, T0)

    assert str(reused.value) == REUSED


def test_first_answer_reads_the_record_strongly_consistent(aws: None) -> None:
    """A retry may come a moment after the first write: an eventually consistent read could
    miss its record and answer 409 "in flight" to a write that has landed."""
    _store(_patch_key(), created=False)

    with dynamodb_requests() as sent:
        idempotency.first_answer(_patch_key(), T0)

    assert [(op, params.get("ConsistentRead")) for op, params in sent] == [("GetItem", True)]


# -- a key found taken ---------------------------------------------------------------------------


def test_key_found_taken_whose_record_expired_since_is_409_retry(aws: None) -> None:
    key = _patch_key()
    first = Answer(TODO)
    idempotency.commit([], [idempotency.Receipt(key, first, T0)])
    # The record's last second: still taken, so this write is cancelled...
    with pytest.raises(idempotency.KeyTaken) as taken:
        idempotency.commit([], [idempotency.Receipt(key, first, T0 + timedelta(days=7))])
    assert taken.value.key == key

    # ... and by the time it looks, the record has expired.
    with pytest.raises(Conflict) as held:
        idempotency.replay(key, T0 + timedelta(days=7, seconds=1))

    assert str(held.value) == IN_FLIGHT


def test_keyed_patch_that_changes_nothing_keeps_its_answer(aws: None) -> None:
    clock = ManualClock()
    service = TodoService(cursor_secret=b"x" * 32, clock=clock)
    writes = TodoWrites(service)
    writes.write("alice", TodoRequest("PUT", "t1", {"title": "t"}, if_none_match="*"))
    first = writes.write("alice", TodoRequest("PATCH", "t1", {}, key="k1"))
    writes.write("alice", TodoRequest("PATCH", "t1", {"title": "changed"}))

    again = writes.write("alice", TodoRequest("PATCH", "t1", {}, key="k1"))

    assert again == first._replace(replayed=True)
    assert again.todo is not None
    assert (again.todo["title"], again.todo["version"]) == ("t", 1)


def test_commit_refused_outright_raises_dynamodbs_error(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction DynamoDB refuses without cancelling it (no reason per item: a bug such as
    an invalid request) reaches the operator's log as DynamoDB's own error."""
    real = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # noqa: SLF001

    def api_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            error = {"Error": {"Code": "ValidationException", "Message": "invalid"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)

    with pytest.raises(TransactWriteError) as refused:
        idempotency.commit([], [idempotency.Receipt(_patch_key(), Answer(TODO), T0)])

    assert refused.value.cause_response_code == "ValidationException"
