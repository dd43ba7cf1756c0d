"""Todos: the /todos routes (routes; batch_routes for POST /todos/batch's envelope), the
single-item service (service, items, idempotency), batches on top of it (batch, requests),
offline sync (sync), and here the accessors that import and build each service on first use
(`todos`, `todo_writes`, `batches`, `todo_sync`).

May import `chalicelib.core`, `chalicelib.store` and `chalicelib.web`; never photos, the blog or
realtime. Routes live here with their services: a change to todos touches this folder only. The
service never imports batch: a batch runs on top of it, composed by the accessors here.

The accessors live in this `__init__` (one module fewer at every cold start), so none may share
its name with a submodule: importing `chalicelib.todos.writes` sets `writes` here
(tests/test_layout.py checks).
"""

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
def todo_writes() -> TodoWrites:
    from chalicelib.todos.writes import TodoWrites  # noqa: PLC0415 - keeps cold start lean

    return TodoWrites(todos())


@service
def batches() -> TodoBatch:
    from chalicelib.todos.batch import TodoBatch  # noqa: PLC0415 - keeps cold start lean

    return TodoBatch(todo_writes())


@service
def todo_sync() -> TodoSync:
    from chalicelib.todos.sync import TodoSync  # noqa: PLC0415 - keeps cold start lean

    return TodoSync()
