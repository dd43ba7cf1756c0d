"""The todos services, each imported and built on first use, then reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.registry import service

if TYPE_CHECKING:
    from chalicelib.todos.batch import TodoBatch
    from chalicelib.todos.service import TodoService
    from chalicelib.todos.sync import TodoSync


@service
def todos() -> TodoService:
    from chalicelib.todos.service import TodoService  # noqa: PLC0415 - keeps cold start lean

    return TodoService()


@service
def batches() -> TodoBatch:
    from chalicelib.todos.batch import TodoBatch  # noqa: PLC0415 - keeps cold start lean

    return TodoBatch(todos())


@service
def todo_sync() -> TodoSync:
    from chalicelib.todos.sync import TodoSync  # noqa: PLC0415 - keeps cold start lean

    return TodoSync()
