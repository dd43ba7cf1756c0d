"""A todo as stored and as shown: its fields' rules, its JSON form, its index keys, its ids."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import validation
from chalicelib.core.errors import ValidationError
from chalicelib.store.models import TodoModel

Json = dict[str, Any]

FIELDS = ("title", "notes", "due", "tags", "done")
TOMBSTONE_TTL = timedelta(days=30)
# Paths of their own under /todos/: a todo with such an id could never be read back.
RESERVED_IDS = frozenset({"batch", "sync"})


def check_id(todo_id: str) -> str:
    """A client-chosen id: 1..64 of A-Za-z0-9_- (UUIDs fit), and not a reserved path."""
    validation.new_id(todo_id, "the todo id")
    if todo_id in RESERVED_IDS:
        raise ValidationError(f"{todo_id!r} is reserved (/todos/{todo_id} is another endpoint)")
    return todo_id


def clean(data: Json, *, partial: bool) -> Json:
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


def replace(item: TodoModel, fields: Json) -> None:
    """Every field from a whole representation (PUT, POST): what it leaves out is cleared."""
    item.title = fields["title"]
    item.notes = fields.get("notes", "")
    item.done = fields.get("done", False)
    item.due = fields.get("due")
    item.tags = fields.get("tags", [])


def new_item(user_id: str, todo_id: str, fields: Json, stamp: str) -> TodoModel:
    """A todo not yet saved; its first save sets version 1 (VersionAttribute)."""
    item = TodoModel(user_id, todo_id, created_at=stamp, updated_at=stamp, deleted=False)
    replace(item, fields)
    set_keys(item)
    return item


def bury(item: TodoModel, now: datetime) -> None:
    """Turn the todo into its tombstone, kept (for delta sync) until DynamoDB's TTL ends it."""
    item.deleted = True
    item.title = item.notes = item.due = None
    item.tags = None
    item.expires_at = now + TOMBSTONE_TTL


def set_keys(item: TodoModel) -> None:
    item.updated_key = f"{item.updated_at}#{item.todo_id}"
    if item.deleted:
        item.created_key = item.done_key = None
    else:
        item.created_key = f"{item.created_at}#{item.todo_id}"
        item.done_key = f"{int(item.done)}#{item.created_key}"


def to_json(item: TodoModel) -> Json:
    if item.deleted:
        return {
            "id": item.todo_id,
            "deleted": True,
            "updated_at": item.updated_at,
            "version": item.version,
        }
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


def saved_json(item: TodoModel) -> Json:
    """The todo as its next save makes it: the save adds one to its version."""
    return to_json(item) | {"version": (item.version or 0) + 1}
