"""Offline sync: a full snapshot or the changes since a sync token, never missing a change.

A token holds a watermark: a time that trails the first read of the sync that issued it by
SYNC_LAG. A write takes its `updated_at` before it commits, and commits within one invocation
of the API function (whose timeout, retries included, is far below SYNC_LAG; clocks differ by
far less). So a write that the read did not see has `updated_at` after the watermark, and the
next sync, which reads every change at or after the watermark, returns it. Changes inside the
window come again: a client keeps the higher `version`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.core import defaults, validation
from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import Gone
from chalicelib.store import aws
from chalicelib.store.models import TodoModel
from chalicelib.store.storage import carried, query_page
from chalicelib.todos import items as todo_items

Json = dict[str, Any]

# Longer than any write takes from its timestamp to its commit: the API function's timeout
# (at most 120 s in every stage; tests/test_todo_sync.py checks) plus clock skew.
SYNC_LAG = timedelta(minutes=5)


class TodoSync:
    def __init__(
        self, *, secret: bytes | None = None, clock: defaults.Clock = defaults.utcnow
    ) -> None:
        key = secret if secret is not None else aws.cursor_secret
        self._cursors = CursorCodec(key)
        self._tokens = CursorCodec(key, noun="sync token", source="the sync_token of the last sync")
        self._clock = clock

    def sync(self, user_id: str, *, token: str | None, cursor: str | None, limit: int) -> Json:
        """One page: live todos (no token) or changes since the token, oldest first."""
        since = self._watermark(user_id, token) if token is not None else None
        scope = f"sync|{user_id}|{token or ''}"
        if cursor is not None:
            upto = carried(self._cursors, cursor, scope).get("watermark", "")
        else:
            upto = validation.format_time(self._clock() - SYNC_LAG)
            upto = max(upto, since or "")
        page = self._read(user_id, since, scope=scope, cursor=cursor, limit=limit, upto=upto)
        return page | {"sync_token": None if page["next_cursor"] else self._token(user_id, upto)}

    def _read(
        self,
        user_id: str,
        since: str | None,
        *,
        scope: str,
        cursor: str | None,
        limit: int,
        upto: str,
    ) -> Json:
        index: Any = TodoModel.by_created if since is None else TodoModel.by_updated
        # Every key of a change at or after the watermark sorts after it ("time#id" > "time").
        rows, next_cursor = query_page(
            index,
            user_id,
            key_names=("user_id", "todo_id", "created_key" if since is None else "updated_key"),
            condition=None if since is None else TodoModel.updated_key > since,
            scope=scope,
            limit=limit,
            cursor=cursor,
            cursors=self._cursors,
            forward=since is not None,
            carry={"watermark": upto},
        )
        return {"items": [todo_items.to_json(r) for r in rows], "next_cursor": next_cursor}

    def _token(self, user_id: str, watermark: str) -> str:
        return self._tokens.encode({"w": watermark}, f"sync-token|{user_id}")

    def _watermark(self, user_id: str, token: str) -> str:
        watermark = self._tokens.decode(token, f"sync-token|{user_id}").get("w", "")
        moment = validation.parse_time(watermark, "token")
        if self._clock() - moment > todo_items.TOMBSTONE_TTL:
            raise Gone(
                "this sync token is older than the 30 days deletions are kept: "
                "sync again without a token and replace the local copy"
            )
        return watermark
