"""Batches of todo writes: in order, each as if alone, consecutive creates in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import TransactWriteError

from chalicelib.core import validation
from chalicelib.core.errors import DomainError, Throttled
from chalicelib.store.models import TodoModel
from chalicelib.todos import idempotency
from chalicelib.todos import items as todo_items
from chalicelib.todos.requests import Answer, TodoRequest
from chalicelib.todos.writes import TodoWrites

# What one request of a batch came to: its answer or its error.
Outcome = Answer | DomainError
# A create ready for the batch's transaction (with its key's receipt), or its error.
Prepared = tuple[TodoModel, idempotency.Receipt | None] | DomainError


class TodoBatch:
    """A batch runs on top of the single writes, which never know batches exist."""

    def __init__(self, writes: TodoWrites) -> None:
        self._writes = writes

    def apply(self, user_id: str, requests: Sequence[TodoRequest]) -> list[Outcome]:
        """Each request of a batch, in order, exactly as if it came alone (not atomic)."""
        return apply_batch(self._writes, user_id, requests)


def apply_batch(writes: TodoWrites, user_id: str, requests: Sequence[TodoRequest]) -> list[Outcome]:
    """The outcome of each request, in order.

    Consecutive creates (PUT with If-None-Match: *) of distinct ids and distinct keys touch
    distinct items and cannot depend on each other, so they are written in one transaction,
    with their keys (at most 50 items of DynamoDB's 100); if any of them fails (an id that
    exists, a key used before), none was written and each is applied alone, which gives it its
    own 412 (or first answer) and the others their 201. Every other request is applied alone,
    in order.
    """
    outcomes: list[Outcome] = []
    run: list[TodoRequest] = []
    for request in requests:
        if run and not _joins(run, request):
            outcomes += _creates(writes, user_id, run)
            run = []
        if request.creates:
            run.append(request)
        else:
            outcomes.append(_alone(writes, user_id, request))
    return outcomes + _creates(writes, user_id, run)


def _joins(run: list[TodoRequest], request: TodoRequest) -> bool:
    """Whether a create can share the run's transaction, where each item may appear once."""
    return (
        request.creates
        and request.todo_id not in {r.todo_id for r in run}
        and (request.key is None or request.key not in {r.key for r in run})
    )


def _alone(writes: TodoWrites, user_id: str, request: TodoRequest) -> Outcome:
    try:
        return writes.write(user_id, request)
    except DomainError as e:
        return e


def _creates(writes: TodoWrites, user_id: str, run: list[TodoRequest]) -> list[Outcome]:
    if len(run) < 2:
        return [_alone(writes, user_id, r) for r in run]
    prepared = [_prepare(writes, user_id, request) for request in run]
    committed = _commit([p for p in prepared if not isinstance(p, DomainError)])
    return [_outcome(writes, user_id, p, r, committed) for p, r in zip(prepared, run, strict=True)]


def _outcome(
    writes: TodoWrites, user_id: str, prepared: Prepared, request: TodoRequest, committed: bool
) -> Outcome:
    if isinstance(prepared, DomainError):
        return prepared
    if committed:
        return Answer(todo_items.to_json(prepared[0]), created=True)
    # Nothing was written: each create alone says which id exists (412) or replays its key.
    return _alone(writes, user_id, request)


def _commit(ready: list[tuple[TodoModel, idempotency.Receipt | None]]) -> bool:
    """Create every item, and store every key, in one transaction; False if nothing was."""
    if not ready:
        return True
    creates = [(item, TodoModel.todo_id.does_not_exist()) for item, _ in ready]
    try:
        idempotency.commit(creates, [receipt for _, receipt in ready if receipt is not None])
    except (TransactWriteError, idempotency.KeyTaken, Throttled):
        return False
    return True


def _prepare(writes: TodoWrites, user_id: str, request: TodoRequest) -> Prepared:
    """The todo a create would save with its key's receipt, or the error it answers without
    touching storage."""
    try:
        todo_items.check_id(request.todo_id)
        fields = todo_items.clean(request.body or {}, partial=False)
        key = writes.key(user_id, request)
    except DomainError as e:
        return e
    now = writes.service.clock()
    item = todo_items.new_item(user_id, request.todo_id, fields, validation.format_time(now))
    if key is None:
        return item, None
    answer = Answer(todo_items.saved_json(item), created=True)
    return item, idempotency.Receipt(key, answer, now)
