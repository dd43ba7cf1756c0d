"""Batches of todo writes: in order, each as if alone, consecutive creates in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core import defaults, validation
from chalicelib.core.errors import DomainError
from chalicelib.store.models import TodoModel
from chalicelib.store.storage import connection_of
from chalicelib.todos import items as todo_items
from chalicelib.todos.requests import TodoRequest
from chalicelib.todos.service import TodoService

Json = dict[str, Any]
# What one request of a batch came to: the todo (None for a delete) or its error.
Outcome = Json | None | DomainError


class TodoBatch:
    """A batch runs on top of the single-item service, which never knows batches exist."""

    def __init__(self, service: TodoService) -> None:
        self._service = service

    def apply(self, user_id: str, requests: Sequence[TodoRequest]) -> list[Outcome]:
        """Each request of a batch, in order, exactly as if it came alone (not atomic)."""
        return apply_batch(self._service, user_id, requests, self._service.clock)


def apply_batch(
    service: TodoService, user_id: str, requests: Sequence[TodoRequest], clock: defaults.Clock
) -> list[Outcome]:
    """The outcome of each request, in order.

    Consecutive creates of distinct ids (PUT with If-None-Match: *) touch distinct items and
    cannot depend on each other, so they are written in one transaction; if any of them fails
    (an id that exists), none was written and each is applied alone, which gives it its own
    412 and the others their 201. Every other request is applied alone, in order.
    """
    outcomes: list[Outcome] = []
    run: list[TodoRequest] = []
    for request in requests:
        if run and not (request.creates and request.todo_id not in {r.todo_id for r in run}):
            outcomes += _creates(service, user_id, run, clock)
            run = []
        if request.creates:
            run.append(request)
        else:
            outcomes.append(_alone(service, user_id, request))
    return outcomes + _creates(service, user_id, run, clock)


def _alone(service: TodoService, user_id: str, request: TodoRequest) -> Outcome:
    body = request.body or {}
    try:
        if request.method == "PUT":
            todo, _ = service.put(
                user_id,
                request.todo_id,
                body,
                if_match=request.if_match,
                if_none_match=request.if_none_match,
            )
            return todo
        if request.method == "PATCH":
            return service.update(user_id, request.todo_id, body, request.if_match)
        service.delete(user_id, request.todo_id, request.if_match)
        return None
    except DomainError as e:
        return e


def _creates(
    service: TodoService, user_id: str, run: list[TodoRequest], clock: defaults.Clock
) -> list[Outcome]:
    if len(run) < 2:
        return [_alone(service, user_id, r) for r in run]
    prepared = [_prepare(user_id, request, clock) for request in run]
    if _commit([item for item in prepared if isinstance(item, TodoModel)]):
        return [_answer(item) for item in prepared]
    # Nothing was written: each create alone says which id exists (412) and creates the rest.
    return [
        _alone(service, user_id, r) if isinstance(p, TodoModel) else p
        for p, r in zip(prepared, run, strict=True)
    ]


def _commit(items: list[TodoModel]) -> bool:
    """Create every item in one transaction; False (nothing written) if any id exists."""
    try:
        with TransactWrite(connection=connection_of(TodoModel)) as tx:
            for item in items:
                tx.save(item, condition=TodoModel.todo_id.does_not_exist())
    except TransactWriteError:
        return False
    return True


def _answer(prepared: TodoModel | DomainError) -> Outcome:
    return todo_items.to_json(prepared) if isinstance(prepared, TodoModel) else prepared


def _prepare(user_id: str, request: TodoRequest, clock: defaults.Clock) -> TodoModel | DomainError:
    """The todo a create would save, or the error it answers without touching storage."""
    try:
        todo_items.check_id(request.todo_id)
        fields = todo_items.clean(request.body or {}, partial=False)
    except DomainError as e:
        return e
    stamp = validation.format_time(clock())
    return todo_items.new_item(user_id, request.todo_id, fields, stamp)
