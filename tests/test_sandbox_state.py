"""The sandbox's saved state on disk (sandbox.state) and how a bad one is handled (persist)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from sandbox.restore import Restorer
from sandbox.state import FORMAT, Snapshot, StateError, StateStore, digest_of, from_json, to_json

ITEM = {"id": {"S": "1"}, "blob": {"B": b"\x00\xff"}}


def _snapshot(body: bytes = b"photo") -> Snapshot:
    digest = digest_of(body)
    return Snapshot(
        tables={"todos": [to_json(ITEM)]},
        users=[{"username": "me@example.com", "sub": "s-1", "password": "Passw0rd!!"}],
        objects={"media": [{"key": "uploads/a", "blob": digest, "content_type": "image/jpeg"}]},
        messages={"thumbnails": [{"body": "{}"}]},
        mails=[{"kind": "Message", "id": "m-1", "subject": "Welcome"}],
        blobs={digest: body},
    )


def test_binary_attribute_values_survive_json() -> None:
    item = {"b": {"B": b"\x00\x01"}, "bs": {"BS": [b"a", b"b"]}, "s": {"S": "x"}}
    assert from_json(json.loads(json.dumps(to_json(item)))) == item


def test_saved_snapshot_loads_back_with_its_objects(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    saved = _snapshot()
    store.save(saved)
    loaded = store.load()
    assert loaded is not None
    snapshot, saved_at = loaded
    assert from_json(snapshot.tables) == {"todos": [ITEM]}
    assert (snapshot.users, snapshot.messages, snapshot.mails) == (
        saved.users,
        saved.messages,
        saved.mails,
    )
    assert store.blob(digest_of(b"photo")) == b"photo"
    assert saved_at


def test_no_saved_state_loads_as_none(tmp_path: Path) -> None:
    assert StateStore(tmp_path / "state").load() is None


def test_blobs_no_snapshot_names_are_deleted_after_the_next_save(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.save(_snapshot(b"old"))
    store.save(_snapshot(b"new"))
    assert sorted(p.name for p in (store.directory / "blobs").iterdir()) == [digest_of(b"new")]


def test_a_crash_while_saving_leaves_the_previous_snapshot_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore(tmp_path / "state")
    store.save(_snapshot(b"old"))
    real_replace = os.replace

    def crash_on_state_file(src: Any, dst: Any) -> None:
        if Path(dst).name == "state.json":
            raise KeyboardInterrupt  # stands for kill -9 between the blob and the state file
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_state_file)
    with pytest.raises(KeyboardInterrupt):
        store.save(_snapshot(b"new"))
    monkeypatch.undo()
    loaded = store.load()
    assert loaded is not None
    (entry,) = loaded[0].objects["media"]
    assert store.blob(entry["blob"]) == b"old"


def test_saving_removes_what_a_killed_save_left_behind(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.save(_snapshot(b"old"))
    (store.directory / ".state.json.abc.tmp").write_text("{")
    (store.directory / "blobs" / ".deadbeef.xyz.tmp").write_bytes(b"half")
    store.save(_snapshot(b"new"))
    assert not list(store.directory.rglob("*.tmp"))


@pytest.mark.parametrize(
    "content",
    [json.dumps({"format": FORMAT + 1, "tables": {}}), '{"format": 1, "tables": {', "[]"],
    ids=["newer-format", "truncated", "not-an-object"],
)
def test_an_unusable_state_is_refused_with_a_reason(tmp_path: Path, content: str) -> None:
    store = StateStore(tmp_path / "state")
    store.directory.mkdir()
    store.file.write_text(content)
    with pytest.raises(StateError, match=r"state\.json"):
        store.load()


def test_restorer_sets_an_unusable_state_aside_and_starts_fresh(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.directory.mkdir()
    store.file.write_text(json.dumps({"format": 0}))
    restorer = Restorer(store, boto3.Session(region_name="us-east-1"), "us-east-1")
    assert restorer.snapshot is None
    (problem,) = restorer.problems
    assert "format 0" in problem
    assert "starting fresh" in problem
    assert not store.directory.exists()
    (kept,) = tmp_path.glob("state.unreadable-*")
    assert json.loads((kept / "state.json").read_text()) == {"format": 0}


def test_clear_deletes_the_saved_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.save(_snapshot())
    assert store.clear()
    assert not store.exists()
    assert not store.clear()


def test_cursor_secret_is_made_once_and_kept_with_the_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    secret = store.cursor_secret()
    assert len(secret) >= 32
    # Another start (another store on the same directory) signs with the same key.
    assert StateStore(tmp_path / "state").cursor_secret() == secret
    # Readable by its owner only, like the users' passwords in state.json.
    assert (tmp_path / "state" / "cursor-secret").stat().st_mode & 0o077 == 0


def test_cursor_secret_is_new_once_the_state_is_deleted(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    secret = store.cursor_secret()
    assert store.clear()
    assert store.cursor_secret() != secret


def test_a_damaged_cursor_secret_is_replaced(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.cursor_secret()
    (tmp_path / "state" / "cursor-secret").write_text("short")
    assert len(store.cursor_secret()) >= 32
