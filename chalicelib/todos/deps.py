"""The todos services, each imported and built on first use, then reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import service

if TYPE_CHECKING:
    from chalicelib.todos.batch import TodoBatch
    from chalicelib.todos.service import TodoService
    from chalicelib.todos.sync import TodoSync
    from chalicelib.todos.writes import TodoWrites


@service
def todos() -> TodoService:
    from chalicelib.todos.service import TodoService  # noqa: PLC0415 - keeps cold start lean

    return TodoService()


@service
def writes() -> TodoWrites:
    from chalicelib.todos.writes import TodoWrites  # noqa: PLC0415 - keeps cold start lean

    return TodoWrites(todos())


@service
def batches() -> TodoBatch:
    from chalicelib.todos.batch import TodoBatch  # noqa: PLC0415 - keeps cold start lean

    return TodoBatch(writes())


@service
def todo_sync() -> TodoSync:
    from chalicelib.todos.sync import TodoSync  # noqa: PLC0415 - keeps cold start lean

    return TodoSync()
