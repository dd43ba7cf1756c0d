"""TodoService apart from HTTP: validation, isolation, concurrency, idempotency, paging, sync."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.core.errors import Conflict, NotFound, PreconditionFailed, ValidationError
from chalicelib.store.models import TodoModel
from chalicelib.todos.service import TodoService
from tests.helpers import T0, FakeClock

SECRET = b"x" * 32


@pytest.fixture
def service(aws: None) -> TodoService:
    return TodoService(cursor_secret=SECRET, clock=FakeClock())


def test_create_returns_normalised_todo(service: TodoService) -> None:
    todo, replayed = service.create(
        "alice", {"title": "  Buy milk ", "tags": ["home"], "due": "2026-12-01"}
    )
    assert not replayed
    assert todo["title"] == "Buy milk"
    assert todo["tags"] == ["home"]
    assert todo["due"] == "2026-12-01"
    assert todo["done"] is False
    assert todo["notes"] == ""
    assert todo["version"] == 1
    assert todo["created_at"] == todo["updated_at"] == "2026-11-23T10:00:00.000000Z"


def test_create_normalises_due_datetime_to_utc(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t", "due": "2026-12-01T12:00:00+02:00"})
    assert todo["due"] == "2026-12-01T10:00:00Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "title is required"),
        ({"title": "   "}, "title must not be blank"),
        ({"title": "x" * 201}, "title is 201 characters"),
        ({"title": 5}, "title must be a string"),
        ({"title": "t", "notes": "n" * 10_001}, "notes is 10001 characters"),
        ({"title": "t", "done": "yes"}, "done must be true or false"),
        ({"title": "t", "tags": "a,b"}, "tags must be an array"),
        ({"title": "t", "tags": [str(i) for i in range(21)]}, "tags has 21 items"),
        ({"title": "t", "tags": ["a", "a"]}, "must not repeat"),
        ({"title": "t", "tags": [""]}, "must not be blank"),
        ({"title": "t", "tags": ["x" * 33]}, "33 characters"),
        ({"title": "t", "tags": [1]}, "must be a string"),
        ({"title": "t", "due": "tomorrow"}, "due"),
        ({"title": "t", "due": "2026-02-30"}, "not a valid date"),
        ({"title": "t", "due": "2026-12-01T10:00:00"}, "time zone"),
        ({"title": "t", "owner": "bob"}, "unknown field(s): owner"),
        ({"title": "t", "id": "x", "version": 3}, "unknown field(s): id, version"),
    ],
)
def test_create_rejects_bad_input(service: TodoService, body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=None) as caught:
        service.create("alice", body)
    assert message in str(caught.value)


def test_get_of_another_users_todo_is_not_found(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "secret"})
    with pytest.raises(NotFound):
        service.get("bob", todo["id"])


def test_update_changes_only_given_fields_and_bumps_version(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t", "notes": "keep", "tags": ["a"]})
    updated = service.update("alice", todo["id"], {"done": True, "tags": []})
    assert updated["done"] is True
    assert updated["tags"] == []
    assert updated["notes"] == "keep"
    assert updated["version"] == 2
    assert updated["updated_at"] > todo["updated_at"]
    assert service.get("alice", todo["id"]) == updated


def test_update_with_empty_body_changes_nothing(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t"})
    assert service.update("alice", todo["id"], {}) == todo


def test_update_with_stale_if_match_fails(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t"})
    service.update("alice", todo["id"], {"title": "u"})
    with pytest.raises(PreconditionFailed):
        service.update("alice", todo["id"], {"title": "v"}, frozenset({"1"}))
    assert service.get("alice", todo["id"])["title"] == "u"


def test_update_with_current_or_any_if_match_succeeds(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t"})
    assert service.update("alice", todo["id"], {"title": "u"}, frozenset({"1"}))["version"] == 2
    assert service.update("alice", todo["id"], {"title": "v"}, "*")["version"] == 3


def test_update_of_another_users_todo_is_not_found(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t"})
    with pytest.raises(NotFound):
        service.update("bob", todo["id"], {"title": "mine now"})
    assert service.get("alice", todo["id"])["title"] == "t"


def test_update_retries_after_a_concurrent_write_without_losing_it(
    service: TodoService, monkeypatch: pytest.MonkeyPatch
) -> None:
    todo, _ = service.create("alice", {"title": "t", "notes": "n"})
    real_get = TodoModel.get
    raced = False

    def get_then_race(*args: Any, **kwargs: Any) -> TodoModel:
        nonlocal raced
        item = real_get(*args, **kwargs)
        if not raced:  # another writer lands between our read and our write
            raced = True
            other = real_get(*args, **kwargs)
            other.notes = "changed elsewhere"
            other.save()
        return item

    monkeypatch.setattr(TodoModel, "get", get_then_race)
    updated = service.update("alice", todo["id"], {"done": True})
    assert updated["done"] is True
    assert updated["notes"] == "changed elsewhere"
    assert updated["version"] == 3


def test_delete_leaves_a_tombstone_and_hides_the_todo(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t"})
    service.delete("alice", todo["id"])
    with pytest.raises(NotFound):
        service.get("alice", todo["id"])
    with pytest.raises(NotFound):
        service.delete("alice", todo["id"])
    stored = TodoModel.get("alice", todo["id"])
    assert stored.deleted
    assert stored.title is None
    assert stored.expires_at is not None
    assert stored.expires_at - T0 >= timedelta(days=30)
    assert service.list_todos("alice", limit=20)["items"] == []


def test_delete_with_stale_if_match_keeps_the_todo(service: TodoService) -> None:
    todo, _ = service.create("alice", {"title": "t"})
    service.update("alice", todo["id"], {"title": "u"})
    with pytest.raises(PreconditionFailed):
        service.delete("alice", todo["id"], frozenset({"1"}))
    assert service.get("alice", todo["id"])["title"] == "u"


def test_list_is_newest_first_and_per_user(service: TodoService) -> None:
    ids = [service.create("alice", {"title": f"t{i}"})[0]["id"] for i in range(3)]
    service.create("bob", {"title": "bob's"})
    page = service.list_todos("alice", limit=20)
    assert [t["id"] for t in page["items"]] == ids[::-1]
    assert page["next_cursor"] is None


def test_list_filters_on_done(service: TodoService) -> None:
    first = service.create("alice", {"title": "a"})[0]
    second = service.create("alice", {"title": "b", "done": True})[0]
    third = service.create("alice", {"title": "c"})[0]
    service.update("alice", first["id"], {"done": True})
    done = service.list_todos("alice", limit=20, done=True)["items"]
    open_ = service.list_todos("alice", limit=20, done=False)["items"]
    assert [t["id"] for t in done] == [second["id"], first["id"]]
    assert [t["id"] for t in open_] == [third["id"]]


def test_list_pages_through_everything_once(service: TodoService) -> None:
    created = {service.create("alice", {"title": f"t{i}"})[0]["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_todos("alice", limit=3, cursor=cursor)
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_list_page_that_ends_exactly_has_no_next_cursor(service: TodoService) -> None:
    for i in range(3):
        service.create("alice", {"title": f"t{i}"})
    page = service.list_todos("alice", limit=3)
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None


def test_cursor_of_another_user_is_rejected(service: TodoService) -> None:
    for i in range(3):
        service.create("alice", {"title": f"t{i}"})
    cursor = service.list_todos("alice", limit=1)["next_cursor"]
    assert cursor
    with pytest.raises(ValidationError, match="another listing or another user"):
        service.list_todos("bob", limit=1, cursor=cursor)


def test_cursor_of_another_listing_is_rejected(service: TodoService) -> None:
    for i in range(3):
        service.create("alice", {"title": f"t{i}"})
    cursor = service.list_todos("alice", limit=1)["next_cursor"]
    assert cursor
    with pytest.raises(ValidationError):
        service.list_todos("alice", limit=1, cursor=cursor, done=False)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
        lambda c: "A" + c[1:] if c[0] != "A" else "B" + c[1:],
        lambda c: c.split(".")[0],
        lambda c: "not-a-cursor",
        lambda c: c + ".extra",
        lambda c: "!!!.???",
    ],
    ids=["signature", "payload", "unsigned", "garbage", "extra-part", "not-base64"],
)
def test_cursor_tampering_is_rejected(service: TodoService, mangle: Any) -> None:
    for i in range(3):
        service.create("alice", {"title": f"t{i}"})
    cursor = service.list_todos("alice", limit=1)["next_cursor"]
    with pytest.raises(ValidationError, match="cursor"):
        service.list_todos("alice", limit=1, cursor=mangle(cursor))


def test_cursor_signed_with_another_secret_is_rejected(aws: None) -> None:
    theirs = TodoService(cursor_secret=b"y" * 32, clock=FakeClock())
    ours = TodoService(cursor_secret=SECRET, clock=FakeClock())
    for i in range(3):
        theirs.create("alice", {"title": f"t{i}"})
    cursor = theirs.list_todos("alice", limit=1)["next_cursor"]
    assert cursor
    with pytest.raises(ValidationError):
        ours.list_todos("alice", limit=1, cursor=cursor)


def test_changes_are_oldest_first_with_tombstones(service: TodoService) -> None:
    a = service.create("alice", {"title": "a"})[0]
    b = service.create("alice", {"title": "b"})[0]
    service.update("alice", a["id"], {"done": True})
    service.delete("alice", b["id"])
    page = service.changes("alice", since=T0 - timedelta(days=1), limit=20)
    assert [(t["id"], t.get("deleted", False)) for t in page["items"]] == [
        (a["id"], False),
        (b["id"], True),
    ]
    tombstone = page["items"][1]
    assert set(tombstone) == {"id", "deleted", "updated_at", "version"}


def test_changes_exclude_the_moment_given(service: TodoService) -> None:
    a = service.create("alice", {"title": "a"})[0]
    b = service.create("alice", {"title": "b"})[0]
    since = datetime.fromisoformat(a["updated_at"])
    assert [t["id"] for t in service.changes("alice", since=since, limit=20)["items"]] == [b["id"]]


def test_changes_page_and_bind_cursor_to_since(service: TodoService) -> None:
    for i in range(5):
        service.create("alice", {"title": f"t{i}"})
    since = T0 - timedelta(days=1)
    first = service.changes("alice", since=since, limit=2)
    assert first["next_cursor"]
    second = service.changes("alice", since=since, limit=2, cursor=first["next_cursor"])
    assert len({t["id"] for t in first["items"] + second["items"]}) == 4
    with pytest.raises(ValidationError):
        service.changes("alice", since=T0, limit=2, cursor=first["next_cursor"])


def test_create_with_same_key_and_body_replays_the_first(service: TodoService) -> None:
    first, replayed_first = service.create("alice", {"title": "t"}, "key-1")
    again, replayed_again = service.create("alice", {"title": "t"}, "key-1")
    assert (replayed_first, replayed_again) == (False, True)
    assert again == first
    assert len(service.list_todos("alice", limit=20)["items"]) == 1


def test_create_same_key_with_reordered_body_is_the_same_request(service: TodoService) -> None:
    first, _ = service.create("alice", {"title": "t", "done": True}, "key-1")
    again, replayed = service.create("alice", {"done": True, "title": "t"}, "key-1")
    assert replayed
    assert again == first


def test_create_same_key_other_body_conflicts(service: TodoService) -> None:
    service.create("alice", {"title": "t"}, "key-1")
    with pytest.raises(Conflict):
        service.create("alice", {"title": "other"}, "key-1")
    assert len(service.list_todos("alice", limit=20)["items"]) == 1


def test_create_keys_belong_to_their_user(service: TodoService) -> None:
    mine, _ = service.create("alice", {"title": "t"}, "key-1")
    theirs, replayed = service.create("bob", {"title": "t"}, "key-1")
    assert not replayed
    assert theirs["id"] != mine["id"]


def test_create_replays_a_retry_made_a_day_later(aws: None) -> None:
    # The promise: a retry within 24 hours (7 days for offline queues) is the same request.
    early = TodoService(cursor_secret=SECRET, clock=FakeClock())
    late = TodoService(cursor_secret=SECRET, clock=FakeClock(T0 + timedelta(hours=23, minutes=59)))
    first, _ = early.create("alice", {"title": "t"}, "key-1")
    again, replayed = late.create("alice", {"title": "t"}, "key-1")
    assert replayed
    assert again == first


def test_create_expired_key_can_be_reused(aws: None) -> None:
    clock = FakeClock()
    late = TodoService(cursor_secret=SECRET, clock=FakeClock(T0 + timedelta(days=7, hours=1)))
    early = TodoService(cursor_secret=SECRET, clock=clock)
    first, _ = early.create("alice", {"title": "t"}, "key-1")
    second, replayed = late.create("alice", {"title": "other"}, "key-1")
    assert not replayed
    assert second["id"] != first["id"]


@pytest.mark.parametrize(
    "key", ["", "k" * 65, "tab\there", "with space", "caf\u00e9", "nb\u00a0sp"]
)
def test_create_rejects_bad_idempotency_key(service: TodoService, key: str) -> None:
    with pytest.raises(ValidationError, match="Idempotency-Key"):
        service.create("alice", {"title": "t"}, key)


def test_keyed_create_builds_no_botocore_session_per_call(
    service: TodoService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.session  # noqa: PLC0415

    service.create("alice", {"title": "first"}, idempotency_key="k0")
    built: list[object] = []
    real = botocore.session.Session.create_client

    def counting(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    for n in range(1, 4):
        service.create("alice", {"title": f"t{n}"}, idempotency_key=f"k{n}")
    assert built == []
