"""GET /todos/sync apart from HTTP: snapshot, changes since a token, the no-missed-change
guarantee under the write/read race, tokens bound to their user, 410 for expired tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import Gone, ValidationError
from chalicelib.store.models import TodoModel
from chalicelib.todos.service import TodoService
from chalicelib.todos.sync import SYNC_LAG, TodoSync
from tests.helpers import T0

SECRET = b"s" * 32
ROOT = Path(__file__).resolve().parent.parent
Json = dict[str, Any]


class Clock:
    """Stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def todos(aws: None, clock: Clock) -> TodoService:
    return TodoService(cursor_secret=SECRET, clock=clock)


@pytest.fixture
def sync(aws: None, clock: Clock) -> TodoSync:
    return TodoSync(secret=SECRET, clock=clock)


def pull(
    sync: TodoSync, user: str, token: str | None, limit: int = 100, pages: int = 50
) -> tuple[list[Json], str]:
    """Every page of one sync: the items and the new token. A sync that does not end within
    `pages` pages fails (a cursor that led back to the first page would loop for ever)."""
    items: list[Json] = []
    cursor = None
    for _ in range(pages):
        page = sync.sync(user, token=token, cursor=cursor, limit=limit)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            assert page["sync_token"]
            return items, page["sync_token"]
        assert page["sync_token"] is None
    pytest.fail(f"the sync did not end within {pages} pages")


@pytest.fixture
def queries(aws: None) -> Iterator[list[str]]:
    """The DynamoDB operations the todos table's client sends."""
    sent: list[str] = []
    events = TodoModel._get_connection().connection.client.meta.events  # noqa: SLF001

    def record(model: Any, **_: Any) -> None:
        sent.append(model.name)

    events.register("before-call.dynamodb", record)
    yield sent
    events.unregister("before-call.dynamodb", record)


def test_sync_without_token_is_every_live_todo(todos: TodoService, sync: TodoSync) -> None:
    kept, _ = todos.create("alice", {"title": "kept"})
    gone, _ = todos.create("alice", {"title": "gone"})
    todos.create("bob", {"title": "not alice's"})
    todos.delete("alice", gone["id"])
    items, token = pull(sync, "alice", None)
    assert [i["id"] for i in items] == [kept["id"]]
    assert token


def test_sync_without_token_lists_the_newest_todo_first_across_pages(
    todos: TodoService, sync: TodoSync, clock: Clock
) -> None:
    # As GET /todos does: a client filling an empty list shows the newest todos first.
    ids = []
    for n in range(3):
        ids.append(todos.create("alice", {"title": f"t{n}"})[0]["id"])
        clock.tick()
    items, _ = pull(sync, "alice", None, limit=2)
    assert [i["id"] for i in items] == ids[::-1]


def test_sync_with_token_returns_changes_oldest_first_with_tombstones(
    todos: TodoService, sync: TodoSync, clock: Clock
) -> None:
    a, _ = todos.create("alice", {"title": "a"})
    _, token = pull(sync, "alice", None)
    clock.tick(SYNC_LAG.total_seconds() + 60)
    b, _ = todos.create("alice", {"title": "b"})
    clock.tick()
    todos.delete("alice", a["id"])
    items, _ = pull(sync, "alice", token)
    assert [(i["id"], i.get("deleted", False)) for i in items] == [
        (b["id"], False),
        (a["id"], True),
    ]
    assert items[1] == {
        "id": a["id"],
        "deleted": True,
        "updated_at": items[1]["updated_at"],
        "version": 2,
    }


def test_sync_write_whose_commit_trails_the_read_is_not_missed(
    todos: TodoService, sync: TodoSync, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = pull(sync, "alice", None)
    clock.tick(SYNC_LAG.total_seconds() * 2)
    real_save = TodoModel.save
    seen: list[Json] = []
    tokens: list[str] = []

    def read_before_commit(item: TodoModel, *args: Any, **kwargs: Any) -> Any:
        # The write has taken its timestamp; a sync reads (later by the clock) before it commits.
        clock.tick(30)
        items, newer = pull(sync, "alice", token)
        seen.extend(items)
        tokens.append(newer)
        return real_save(item, *args, **kwargs)

    monkeypatch.setattr(TodoModel, "save", read_before_commit)
    late, _ = todos.create("alice", {"title": "late"})
    monkeypatch.setattr(TodoModel, "save", real_save)
    assert seen == []
    items, _ = pull(sync, "alice", tokens[0])
    assert [i["id"] for i in items] == [late["id"]]


def test_sync_pages_carry_the_token_to_the_last_page(todos: TodoService, sync: TodoSync) -> None:
    ids = {todos.create("alice", {"title": f"t{n}"})[0]["id"] for n in range(7)}
    items, _ = pull(sync, "alice", None, limit=3)
    assert {i["id"] for i in items} == ids


def test_sync_token_of_a_paged_sync_resumes_from_its_first_page(
    todos: TodoService, sync: TodoSync, clock: Clock
) -> None:
    for n in range(4):
        todos.create("alice", {"title": f"t{n}"})
    # Older than the lag, so the token's watermark is past them and they do not come again.
    clock.tick(SYNC_LAG.total_seconds() + 60)
    _, token = pull(sync, "alice", None, limit=3)
    clock.tick(SYNC_LAG.total_seconds() + 60)
    later, _ = todos.create("alice", {"title": "later"})
    items, _ = pull(sync, "alice", token)
    assert [i["id"] for i in items] == [later["id"]]


def test_sync_sends_one_query_per_page(
    todos: TodoService, sync: TodoSync, queries: list[str]
) -> None:
    for n in range(25):
        todos.create("alice", {"title": f"t{n}"})
    _, token = pull(sync, "alice", None)
    queries.clear()
    pull(sync, "alice", None, limit=10)
    assert queries == ["Query"] * 3
    queries.clear()
    pull(sync, "alice", token, limit=10)
    assert queries == ["Query"] * 3


def test_sync_token_of_another_user_is_400(todos: TodoService, sync: TodoSync) -> None:
    _, token = pull(sync, "alice", None)
    with pytest.raises(ValidationError) as refused:
        sync.sync("bob", token=token, cursor=None, limit=10)
    assert str(refused.value) == "sync token was made for another listing or another user"


@pytest.mark.parametrize("token", ["", "nonsense", "a.b", "eyJrIjp7fX0.AAAA"])
def test_sync_forged_token_is_400(sync: TodoSync, token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        sync.sync("alice", token=token, cursor=None, limit=10)
    # What to send instead is the promise.
    assert str(refused.value) == (
        "sync token is invalid: pass back the sync_token of the last sync unchanged"
    )


def test_sync_token_from_another_secret_is_400(sync: TodoSync, clock: Clock) -> None:
    _, token = pull(TodoSync(secret=b"o" * 32, clock=clock), "alice", None)
    with pytest.raises(ValidationError, match="sync token is invalid"):
        sync.sync("alice", token=token, cursor=None, limit=10)


def test_sync_token_older_than_tombstones_is_gone(sync: TodoSync, clock: Clock) -> None:
    _, token = pull(sync, "alice", None)
    # The watermark trails the read by SYNC_LAG: that is what must be younger than 30 days.
    clock.tick((timedelta(days=30) - SYNC_LAG).total_seconds() - 1)
    pull(sync, "alice", token)
    clock.tick(2)
    with pytest.raises(Gone) as gone:
        sync.sync("alice", token=token, cursor=None, limit=10)
    assert str(gone.value) == (
        "this sync token is older than the 30 days deletions are kept: "
        "sync again without a token and replace the local copy"
    )


def test_sync_cursor_of_another_token_is_400(todos: TodoService, sync: TodoSync) -> None:
    for n in range(3):
        todos.create("alice", {"title": f"t{n}"})
    cursor = sync.sync("alice", token=None, cursor=None, limit=1)["next_cursor"]
    _, token = pull(sync, "alice", None)
    with pytest.raises(ValidationError, match="another listing"):
        sync.sync("alice", token=token, cursor=cursor, limit=1)


def test_sync_cursor_is_bound_to_the_token_of_its_sync(
    todos: TodoService, sync: TodoSync, clock: Clock
) -> None:
    _, first = pull(sync, "alice", None)
    clock.tick(60)
    _, second = pull(sync, "alice", first)
    assert second != first
    for n in range(3):
        todos.create("alice", {"title": f"t{n}"})
    cursor = sync.sync("alice", token=first, cursor=None, limit=1)["next_cursor"]
    with pytest.raises(ValidationError) as refused:
        sync.sync("alice", token=second, cursor=cursor, limit=1)
    assert str(refused.value) == "cursor was made for another listing or another user"


def test_sync_snapshot_cursor_is_signed_for_its_user_alone(
    todos: TodoService, sync: TodoSync
) -> None:
    # Part of the API between releases, as a cursor's bytes are (tests/test_cursors.py): a
    # client paging through a snapshot while a new release deploys keeps its cursor.
    for n in range(2):
        todos.create("alice", {"title": f"t{n}"})
    cursor = sync.sync("alice", token=None, cursor=None, limit=1)["next_cursor"]
    assert cursor is not None
    assert CursorCodec(SECRET).decode(cursor, "sync|alice|")


def test_sync_token_never_goes_back_on_a_server_whose_clock_is_behind(
    todos: TodoService, sync: TodoSync, clock: Clock
) -> None:
    todos.create("alice", {"title": "t"})
    clock.tick(SYNC_LAG.total_seconds() + 1)
    _, token = pull(sync, "alice", None)
    # The next sync reaches a server whose clock is a second behind the last one's.
    clock.tick(-1)
    _, behind = pull(sync, "alice", token)
    clock.tick(60)
    # Nothing changed since the first sync, which had the todo already.
    assert pull(sync, "alice", behind)[0] == []


def test_sync_lag_outlasts_every_stage_api_timeout() -> None:
    """The guarantee needs SYNC_LAG above the longest write: the API function's timeout plus
    clock skew (a minute is far more than Lambda's clocks differ)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    timeouts = [config.get("lambda_timeout", 60)]
    for stage in config["stages"].values():
        timeouts.append(stage.get("lambda_timeout", timeouts[0]))
        for function in stage.get("lambda_functions", {}).values():
            timeouts.append(function.get("lambda_timeout", timeouts[0]))
    assert max(timeouts) + 60 < SYNC_LAG.total_seconds()
