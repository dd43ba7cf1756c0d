"""Todos: validation, per-user storage, optimistic concurrency, idempotent create, delta sync."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import validation
from chalicelib.cursors import CursorCodec
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.models import IdempotencyModel, TodoModel
from chalicelib.preconditions import IfMatch, check_if_match
from chalicelib.services import aws, defaults
from chalicelib.services.storage import (
    TXN_CONDITION_FAILED,
    optimistic_write,
    query_page,
    storage_errors,
)

Json = dict[str, Any]

FIELDS = ("title", "notes", "due", "tags", "done")
IDEMPOTENCY_TTL = timedelta(hours=24)
TOMBSTONE_TTL = timedelta(days=30)
MAX_IDEMPOTENCY_KEY = 64


def _connection() -> Connection:
    """The todos table's own connection (its botocore client, pool and budget): a new
    Connection per transaction would build a botocore session and client on every call."""
    return TodoModel._get_connection().connection  # noqa: SLF001 - PynamoDB has no public way


def _clean(data: Json, *, partial: bool) -> Json:
    """The validated subset of todo fields present in a request body."""
    validation.reject_unknown(data, FIELDS)
    if not partial and "title" not in data:
        raise ValidationError("title is required")
    out: Json = {}
    if "title" in data:
        out["title"] = validation.text(data["title"], "title", min_len=1, max_len=200, strip=True)
    if "notes" in data:
        notes = data["notes"]
        out["notes"] = (
            "" if notes is None else validation.text(notes, "notes", max_len=10_000, multiline=True)
        )
    if "due" in data:
        out["due"] = validation.due_value(data["due"])
    if "tags" in data:
        tags = data["tags"]
        out["tags"] = (
            []
            if tags is None
            else validation.string_list(tags, "tags", max_items=20, min_len=1, max_len=32)
        )
    if "done" in data:
        out["done"] = validation.boolean(data["done"], "done")
    return out


def _to_json(item: TodoModel) -> Json:
    if item.deleted:
        return {"id": item.todo_id, "deleted": True, "updated_at": item.updated_at}
    return {
        "id": item.todo_id,
        "title": item.title,
        "notes": item.notes or "",
        "done": item.done,
        "due": item.due,
        "tags": list(item.tags or []),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "version": item.version,
    }


def _request_hash(data: Json) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


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

    # -- writes -----------------------------------------------------------------------------

    def create(
        self, user_id: str, data: Json, idempotency_key: str | None = None
    ) -> tuple[Json, bool]:
        """Create a todo; returns it and whether it is the replay of an earlier keyed request."""
        fields = _clean(data, partial=False)
        now = self._clock()
        stamp = validation.format_time(now)
        todo_id = self._new_id()
        item = TodoModel(
            user_id,
            todo_id,
            title=fields["title"],
            notes=fields.get("notes", ""),
            done=fields.get("done", False),
            due=fields.get("due"),
            tags=fields.get("tags", []),
            created_at=stamp,
            updated_at=stamp,
            deleted=False,
        )
        self._set_keys(item)
        if idempotency_key is None:
            with storage_errors():
                item.save(condition=TodoModel.todo_id.does_not_exist())
            return _to_json(item), False
        return self._create_once(user_id, idempotency_key, data=data, item=item, now=now)

    def _create_once(
        self, user_id: str, key: str, *, data: Json, item: TodoModel, now: datetime
    ) -> tuple[Json, bool]:
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise ValidationError(
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
            )
        # The response is stored in the same transaction that creates the todo (at version 1).
        body = _to_json(item) | {"version": 1}
        record = IdempotencyModel(
            f"todos:{user_id}:{key}",
            request_hash=_request_hash(data),
            response=json.dumps(body),
            created_at=validation.format_time(now),
            expires_at=now + IDEMPOTENCY_TTL,
        )
        try:
            with storage_errors(), TransactWrite(connection=_connection()) as tx:
                tx.save(item, condition=TodoModel.todo_id.does_not_exist())
                tx.save(
                    record,
                    condition=IdempotencyModel.key.does_not_exist()
                    | (IdempotencyModel.expires_at < now),
                )
        except TransactWriteError as e:
            reasons = e.cancellation_reasons or []
            if len(reasons) < 2 or reasons[1] is None or reasons[1].code != TXN_CONDITION_FAILED:
                raise
            try:
                first = IdempotencyModel.get(record.key, consistent_read=True)
            except DoesNotExist as gone:  # expired and swept between the two calls
                raise Conflict("Idempotency-Key was just released; retry the request") from gone
            if first.request_hash != record.request_hash:
                raise Conflict(
                    "Idempotency-Key was already used with a different request body"
                ) from e
            return json.loads(first.response), True
        return body, False

    def update(self, user_id: str, todo_id: str, data: Json, if_match: IfMatch = None) -> Json:
        changes = _clean(data, partial=True)

        def apply(item: TodoModel) -> None:
            for name, value in changes.items():
                setattr(item, name, value)

        return _to_json(self._write(user_id, todo_id, if_match, apply if changes else None))

    def delete(self, user_id: str, todo_id: str, if_match: IfMatch = None) -> None:
        def bury(item: TodoModel) -> None:
            item.deleted = True
            item.title = item.notes = item.due = None
            item.tags = None
            item.expires_at = self._clock() + TOMBSTONE_TTL

        self._write(user_id, todo_id, if_match, bury)

    def _write(
        self,
        user_id: str,
        todo_id: str,
        if_match: IfMatch,
        change: Callable[[TodoModel], None] | None,
    ) -> TodoModel:
        """Check If-Match, change, and write back only if nobody wrote since the read."""

        def store(item: TodoModel) -> None:
            check_if_match(
                if_match,
                {str(item.version)},
                what="todo",
                version=item.version,
                current=lambda: _to_json(item),
            )
            if change is None:
                return
            change(item)
            item.updated_at = validation.format_time(self._clock())
            self._set_keys(item)
            item.save()

        return optimistic_write(
            lambda: self._load(user_id, todo_id),
            store,
            strict=if_match is not None,
            what="todo",
            current=lambda: self.get(user_id, todo_id),
        )

    @staticmethod
    def _set_keys(item: TodoModel) -> None:
        item.updated_key = f"{item.updated_at}#{item.todo_id}"
        if item.deleted:
            item.created_key = item.done_key = None
        else:
            item.created_key = f"{item.created_at}#{item.todo_id}"
            item.done_key = f"{int(item.done)}#{item.created_key}"

    # -- reads ------------------------------------------------------------------------------

    def _load(self, user_id: str, todo_id: str) -> TodoModel:
        validation.known_id(todo_id, "todo")
        try:
            with storage_errors():
                item = TodoModel.get(user_id, todo_id, consistent_read=True)
        except DoesNotExist as e:
            raise NotFound(f"todo {todo_id} not found") from e
        if item.deleted:
            raise NotFound(f"todo {todo_id} not found")
        return item

    def get(self, user_id: str, todo_id: str) -> Json:
        return _to_json(self._load(user_id, todo_id))

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
        return {"items": [_to_json(r) for r in rows], "next_cursor": next_cursor}
