"""Batches of todo writes: in order, each as if alone, consecutive creates in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import validation
from chalicelib.errors import DomainError
from chalicelib.models import TodoModel
from chalicelib.services import defaults, todo_items
from chalicelib.services.storage import connection_of
from chalicelib.services.todo_requests import TodoRequest

if TYPE_CHECKING:
    from chalicelib.services.todos import Outcome, TodoService

Json = dict[str, Any]


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
