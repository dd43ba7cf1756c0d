"""A todo write as a request (alone or in a batch) and its answer: applied through the service,
or, for a retried Idempotency-Key, the first answer replayed with nothing applied."""

from __future__ import annotations

from chalicelib.core.errors import DomainError, Throttled
from chalicelib.todos import idempotency
from chalicelib.todos.requests import Answer, TodoRequest
from chalicelib.todos.service import TodoService


class TodoWrites:
    def __init__(self, service: TodoService) -> None:
        self.service = service

    def write(self, user_id: str, request: TodoRequest) -> Answer:
        """The request's answer; with a key used before, the first answer (409 if that key came
        with another request).

        A failed write has no transaction to carry its key, so only successes are kept: a
        retry after a 4xx is judged afresh, and a 4xx now (the todo changed since) may hide a
        first success, so every 4xx of a keyed request looks its key up first.
        """
        key = self.key(user_id, request)
        try:
            return self._apply(user_id, request, key)
        except idempotency.KeyTaken as taken:
            return idempotency.replay(taken.key, self.service.clock())
        except DomainError as e:
            if key is None or isinstance(e, Throttled):
                raise
            first = idempotency.first_answer(key, self.service.clock())
            if first is None:
                raise
            return first

    def key(self, user_id: str, request: TodoRequest) -> idempotency.Key | None:
        if request.key is None:
            return None
        return idempotency.key_for(
            user_id,
            request.key,
            method=request.method,
            path=request.path,
            body=request.body,
            if_match=request.if_match,
            if_none_match=request.if_none_match,
        )

    def _apply(self, user_id: str, request: TodoRequest, key: idempotency.Key | None) -> Answer:
        body = request.body or {}
        if request.method == "PUT":
            todo, created = self.service.put(
                user_id,
                request.todo_id,
                body,
                if_match=request.if_match,
                if_none_match=request.if_none_match,
                key=key,
            )
            return Answer(todo, created)
        if request.method == "PATCH":
            return Answer(
                self.service.update(user_id, request.todo_id, body, request.if_match, key=key)
            )
        self.service.delete(user_id, request.todo_id, request.if_match, key=key)
        return Answer(None)
