"""Todos: per-user storage, optimistic concurrency, idempotent and client-id creates, listings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.core import defaults, validation
from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import (
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationError,
)
from chalicelib.core.preconditions import ANY_VERSION, IfMatch, check_if_match
from chalicelib.store import aws
from chalicelib.store.models import TodoModel
from chalicelib.store.storage import (
    conditional,
    get_or_not_found,
    optimistic_write,
    query_page,
    storage_errors,
)
from chalicelib.todos import idempotency
from chalicelib.todos import items as todo_items
from chalicelib.todos.idempotency import Key
from chalicelib.todos.requests import Answer

Json = dict[str, Any]


class TodoService:
    def __init__(
        self,
        *,
        cursor_secret: bytes | None = None,
        clock: defaults.Clock = defaults.utcnow,
        new_id: Callable[[], str] = defaults.new_id,
    ) -> None:
        self._cursors = CursorCodec(
            cursor_secret if cursor_secret is not None else aws.cursor_secret
        )
        self._clock = clock
        self._new_id = new_id

    @property
    def clock(self) -> defaults.Clock:
        """What a batch stamps its one-transaction creates with: the same clock as the rest."""
        return self._clock

    # -- writes -----------------------------------------------------------------------------
    # With an Idempotency-Key (`key`), each write stores its answer in its own transaction and
    # raises idempotency.KeyTaken, having written nothing, when the key is in use.

    def create(
        self, user_id: str, data: Json, idempotency_key: str | None = None
    ) -> tuple[Json, bool]:
        """Create a todo; returns it and whether it is the replay of an earlier keyed request."""
        fields = todo_items.clean(data, partial=False)
        key = None
        if idempotency_key is not None:
            key = idempotency.key_for(
                user_id, idempotency_key, method="POST", path="/todos", body=data
            )
        stamp = validation.format_time(self._clock())
        item = todo_items.new_item(user_id, self._new_id(), fields, stamp)
        try:
            self._save(item, TodoModel.todo_id.does_not_exist(), key, created=True)
        except idempotency.KeyTaken as taken:
            return idempotency.replay(taken.key, self._clock()).todo or {}, True
        return todo_items.to_json(item), False

    def put(
        self,
        user_id: str,
        todo_id: str,
        data: Json,
        *,
        if_match: IfMatch = None,
        if_none_match: IfMatch = None,
        key: Key | None = None,
    ) -> tuple[Json, bool]:
        """Create with a client-chosen id (If-None-Match: *) or replace (If-Match); returns the
        todo and whether it was created."""
        todo_items.check_id(todo_id)
        fields = todo_items.clean(data, partial=False)
        if if_none_match is not None:
            if if_none_match != ANY_VERSION:
                raise ValidationError("PUT creates with If-None-Match: *, replaces with If-Match")
            if if_match is not None:
                # RFC 9110: If-Match needs the todo to exist, If-None-Match: * needs it not to:
                # 412 whatever the todo's state, with the todo, its tombstone or null as Current.
                raise PreconditionFailed(
                    "If-Match and If-None-Match: * cannot both hold; send one: the todo (null "
                    "when there is none) is in Current",
                    self._current(user_id, todo_id),
                )
            return self._create_with_id(user_id, todo_id, fields, key), True
        if if_match is None:
            raise PreconditionRequired(
                "PUT /todos/{id} needs If-None-Match: * to create the todo, or If-Match with "
                "its ETag to replace it"
            )
        item = self._write(user_id, todo_id, if_match, lambda t: todo_items.replace(t, fields), key)
        return todo_items.to_json(item), False

    def _create_with_id(self, user_id: str, todo_id: str, fields: Json, key: Key | None) -> Json:
        item = todo_items.new_item(user_id, todo_id, fields, validation.format_time(self._clock()))
        with conditional() as write:
            self._save(item, TodoModel.todo_id.does_not_exist(), key, created=True)
        if write.failed:
            raise PreconditionFailed(
                f"todo {todo_id} already exists (or was deleted); it is in Current",
                todo_items.to_json(self._load_any(user_id, todo_id)),
            )
        return todo_items.to_json(item)

    def update(
        self,
        user_id: str,
        todo_id: str,
        data: Json,
        if_match: IfMatch = None,
        *,
        key: Key | None = None,
    ) -> Json:
        changes = todo_items.clean(data, partial=True)

        def apply(item: TodoModel) -> None:
            for name, value in changes.items():
                setattr(item, name, value)

        item = self._write(user_id, todo_id, if_match, apply if changes else None, key)
        return todo_items.to_json(item)

    def delete(
        self, user_id: str, todo_id: str, if_match: IfMatch = None, *, key: Key | None = None
    ) -> None:
        self._write(user_id, todo_id, if_match, lambda t: todo_items.bury(t, self._clock()), key)

    def _write(
        self,
        user_id: str,
        todo_id: str,
        if_match: IfMatch,
        change: Callable[[TodoModel], None] | None,
        key: Key | None,
    ) -> TodoModel:
        """Check If-Match, change, and write back only if nobody wrote since the read."""

        def store(item: TodoModel) -> None:
            if item.deleted and not isinstance(if_match, frozenset):
                raise NotFound(f"todo {todo_id} not found")
            check_if_match(
                if_match,
                set() if item.deleted else {str(item.version)},
                what="todo",
                version=item.version,
                current=lambda: todo_items.to_json(item),
            )
            if change is None:
                # Nothing to write, but a keyed request still keeps its answer.
                if key is not None:
                    answer = Answer(todo_items.to_json(item))
                    idempotency.commit([], [idempotency.Receipt(key, answer, self._clock())])
                return
            change(item)
            item.updated_at = validation.format_time(self._clock())
            todo_items.set_keys(item)
            self._save(item, None, key)

        return optimistic_write(
            lambda: self._load_any(user_id, todo_id),
            store,
            strict=if_match is not None,
            what="todo",
            current=lambda: todo_items.to_json(self._load_any(user_id, todo_id)),
        )

    def _save(
        self, item: TodoModel, condition: Any, key: Key | None, *, created: bool = False
    ) -> None:
        """Save the item, conditional on its version (and on `condition`); a keyed write stores
        its answer in the same transaction."""
        if key is None:
            with storage_errors():
                item.save(condition=condition)
            return
        answer = Answer(None if item.deleted else todo_items.saved_json(item), created)
        idempotency.commit([(item, condition)], [idempotency.Receipt(key, answer, self._clock())])

    # -- reads ------------------------------------------------------------------------------

    def _current(self, user_id: str, todo_id: str) -> Json | None:
        """The todo or its tombstone as JSON, or None when the user has no todo of this id."""
        try:
            return todo_items.to_json(self._load_any(user_id, todo_id))
        except NotFound:
            return None

    def _load_any(self, user_id: str, todo_id: str) -> TodoModel:
        """The todo or its tombstone."""
        validation.known_id(todo_id, "todo")
        return get_or_not_found(TodoModel, user_id, todo_id, what="todo")

    def get(self, user_id: str, todo_id: str) -> Json:
        item = self._load_any(user_id, todo_id)
        if item.deleted:
            raise NotFound(f"todo {todo_id} not found")
        return todo_items.to_json(item)

    def list_todos(
        self, user_id: str, *, limit: int, cursor: str | None = None, done: bool | None = None
    ) -> Json:
        """Live todos, newest first, optionally only done or not done."""
        if done is None:
            return self._page(
                TodoModel.by_created,
                user_id,
                sort_key="created_key",
                condition=None,
                scope=f"list|{user_id}",
                limit=limit,
                cursor=cursor,
                forward=False,
            )
        return self._page(
            TodoModel.by_done,
            user_id,
            sort_key="done_key",
            condition=TodoModel.done_key.startswith(f"{int(done)}#"),
            scope=f"list|{user_id}|done={done}",
            limit=limit,
            cursor=cursor,
            forward=False,
        )

    def changes(
        self, user_id: str, *, since: datetime, limit: int, cursor: str | None = None
    ) -> Json:
        """What changed after `since`, oldest change first, deletions as tombstones."""
        floor = validation.format_time(since)
        # "$" sorts after "#", so changes made exactly at `since` are excluded.
        return self._page(
            TodoModel.by_updated,
            user_id,
            sort_key="updated_key",
            condition=TodoModel.updated_key > f"{floor}$",
            scope=f"changes|{user_id}|{floor}",
            limit=limit,
            cursor=cursor,
            forward=True,
        )

    def _page(
        self,
        index: Any,
        user_id: str,
        *,
        sort_key: str,
        condition: Any,
        scope: str,
        limit: int,
        cursor: str | None,
        forward: bool,
    ) -> Json:
        rows, next_cursor = query_page(
            index,
            user_id,
            key_names=("user_id", "todo_id", sort_key),
            condition=condition,
            scope=scope,
            limit=limit,
            cursor=cursor,
            cursors=self._cursors,
            forward=forward,
        )
        return {"items": [todo_items.to_json(r) for r in rows], "next_cursor": next_cursor}
