"""End to end: the sandbox keeps its state across restarts, and `--fresh` and `reset` clear it."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from tests.e2e import (
    HTTP_TIMEOUT,
    PASSWORD,
    Sandbox,
    call,
    create_user,
    running_sandbox,
    start_sandbox,
)

pytestmark = pytest.mark.e2e
POLL_TIMEOUT = 20.0


def _wait_for_mail(sandbox: Sandbox, to: str) -> list[dict[str, str]]:
    deadline = time.monotonic() + POLL_TIMEOUT
    while time.monotonic() < deadline:
        mails: list[dict[str, str]] = json.loads(sandbox.cli("mail", "--to", to, "--json"))
        if mails:
            return mails
        time.sleep(0.2)
    pytest.fail(f"no mail to {to} after {POLL_TIMEOUT:.0f} s")


def _ids(sandbox: Sandbox) -> tuple[str, str]:
    return sandbox.endpoints["user_pool_id"], sandbox.endpoints["user_pool_client_id"]


def _jpeg() -> bytes:
    from PIL import Image  # noqa: PLC0415 - only this test makes an image

    out = io.BytesIO()
    Image.new("RGB", (300, 200), "teal").save(out, "JPEG")
    return out.getvalue()


def _upload(
    sandbox: Sandbox, token: str, data: bytes, declared: int
) -> tuple[str, requests.Response]:
    """POST /photos declaring `declared` bytes, then upload `data` with the form it returned."""
    body = {"content_type": "image/jpeg", "size": declared}
    created = call(sandbox, "POST", "/photos", token, body)
    assert created.status_code == 201, created.text
    form = created.json()["upload"]
    sent = requests.post(
        form["url"], data=form["fields"], files={"file": ("p.jpg", data)}, timeout=HTTP_TIMEOUT
    )
    return created.json()["photo"]["id"], sent


def _wait_until_ready(sandbox: Sandbox, token: str, photo_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_TIMEOUT
    while time.monotonic() < deadline:
        photo: dict[str, Any] = call(sandbox, "GET", f"/photos/{photo_id}", token).json()
        if photo["status"] != "pending":
            return photo
        time.sleep(0.2)
    pytest.fail(f"photo {photo_id} still pending after {POLL_TIMEOUT:.0f} s")


def test_sandbox_s3_refuses_an_upload_larger_than_the_photo_declared(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as sandbox:
        user = create_user(sandbox, "liar")
        data = _jpeg()
        photo_id, sent = _upload(sandbox, user.token, data, declared=len(data) - 1)
        assert sent.status_code == 400
        assert b"<Code>EntityTooLarge</Code>" in sent.content
        photo = call(sandbox, "GET", f"/photos/{photo_id}", user.token).json()
        assert photo["status"] == "pending"


def test_restart_keeps_users_todos_mails_and_the_pool_ids(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as first:
        user = create_user(first, "keeper")
        editor_email = f"editor-{user.sub[:8]}@example.com"
        first.cli("user", "create", editor_email, PASSWORD, "--editor")
        todo = call(first, "POST", "/todos", user.token, {"title": "Survive"}).json()
        older = call(first, "POST", "/todos", user.token, {"title": "Older"}).json()
        cursor = call(first, "GET", "/todos?limit=1", user.token).json()["next_cursor"]
        sync_token = call(first, "GET", "/todos/sync", user.token).json()["sync_token"]
        reader = f"reader-{user.sub[:8]}@example.com"
        subscribed = call(first, "POST", "/subscriptions", body={"email": reader})
        assert subscribed.status_code == 202
        mails = _wait_for_mail(first, reader)
        data = _jpeg()
        photo_id, sent = _upload(first, user.token, data, declared=len(data))
        assert sent.status_code == 204, sent.text
        photo = _wait_until_ready(first, user.token, photo_id)
        assert photo["status"] == "ready", photo
        ids = _ids(first)
        assert not first.endpoints["state"]["restored"]
        assert first.stop() == 0

    with running_sandbox(tmp_path) as second:
        assert second.endpoints["state"]["restored"]
        assert "restored the state saved" in second.output()
        assert _ids(second) == ids
        # The token from before the restart still verifies: same pool, same signing key.
        listed = call(second, "GET", "/todos", user.token).json()["items"]
        assert [t["id"] for t in listed] == [older["id"], todo["id"]]
        # What a client holds still works: the cursor secret is kept with the state.
        page = call(second, "GET", f"/todos?limit=1&cursor={cursor}", user.token)
        assert page.status_code == 200, page.text
        assert [t["id"] for t in page.json()["items"]] == [todo["id"]]
        changes = call(second, "GET", f"/todos/sync?token={sync_token}", user.token)
        assert changes.status_code == 200, changes.text
        # Nothing changed since; what a sync may send twice (writes near the token) is these.
        assert {t["id"] for t in changes.json()["items"]} <= {todo["id"], older["id"]}
        new_token = second.cli("token", user.email, PASSWORD)
        assert call(second, "GET", f"/todos/{todo['id']}", new_token).json() == todo
        assert json.loads(second.cli("mail", "--to", reader, "--json")) == mails
        editor = jwt.decode(
            second.cli("token", editor_email, PASSWORD), options={"verify_signature": False}
        )
        assert editor["cognito:groups"] == ["editors"]
        # The photo and its thumbnails: the objects came back with the table.
        kept = call(second, "GET", f"/photos/{photo_id}", user.token).json()
        assert kept["status"] == "ready"
        thumbnail = requests.get(kept["thumbnails"]["small"], timeout=HTTP_TIMEOUT)
        assert thumbnail.status_code == 200
        assert thumbnail.content[:2] == b"\xff\xd8"  # a JPEG
        # Streams work after a restore, and restored items sent nothing again.
        newcomer = f"newcomer-{user.sub[:8]}@example.com"
        call(second, "POST", "/subscriptions", body={"email": newcomer})
        _wait_for_mail(second, newcomer)
        assert json.loads(second.cli("mail", "--to", reader, "--json")) == mails


def test_kill_9_loses_nothing_saved_by_a_periodic_snapshot(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as first:
        user = create_user(first, "crash")
        todo = call(first, "POST", "/todos", user.token, {"title": "Saved"}).json()
        state = tmp_path / "state" / "state.json"
        deadline = time.monotonic() + POLL_TIMEOUT
        while time.monotonic() < deadline:
            if state.exists() and todo["id"] in state.read_text():
                break
            time.sleep(0.2)
        else:
            pytest.fail("no periodic snapshot holds the todo")
        first.kill()

    with running_sandbox(tmp_path) as second:
        assert second.endpoints["state"]["restored"]
        listed = call(second, "GET", "/todos", user.token).json()["items"]
        assert [t["id"] for t in listed] == [todo["id"]]


def test_fresh_start_forgets_the_saved_state(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as first:
        user = create_user(first, "forgotten")
        for title in ("a", "b"):
            call(first, "POST", "/todos", user.token, {"title": title})
        cursor = call(first, "GET", "/todos?limit=1", user.token).json()["next_cursor"]
    with running_sandbox(tmp_path, "--fresh") as second:
        # A new cursor secret with the new state: the old cursor is no cursor of this sandbox.
        stale = call(second, "GET", f"/todos?limit=1&cursor={cursor}", user.token)
        assert stale.status_code == 400, stale.text
        assert not second.endpoints["state"]["restored"]
        assert "--fresh: deleted the saved state" in second.output()
        # The pool's id and signing key stay, so the old token verifies; its data is gone.
        assert call(second, "GET", "/todos", user.token).json()["items"] == []
        done = second.run_cli("token", user.email, PASSWORD)
        assert done.returncode == 1
        assert "wrong e-mail or password" in done.stderr


def test_reset_empties_the_outbox_and_saves_at_once(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as sandbox:
        reader = "reset-reader@example.com"
        call(sandbox, "POST", "/subscriptions", body={"email": reader})
        _wait_for_mail(sandbox, reader)
        report = sandbox.cli("reset")
        assert "mail outbox: " in report
        assert json.loads(sandbox.cli("mail", "--json")) == []
        saved = json.loads((tmp_path / "state" / "state.json").read_text())
        assert saved["mails"] == []
        assert all(items == [] for items in saved["tables"].values())


def test_reset_with_no_sandbox_running_deletes_the_saved_state(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path)
    sandbox.stop()
    assert (tmp_path / "state" / "state.json").exists()
    report = sandbox.cli("reset")
    assert report.startswith("no sandbox is running (start it with `make run`)")
    assert not (tmp_path / "state").exists()


def test_cli_after_kill_9_says_no_sandbox_is_running(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path)
    sandbox.kill()
    done = sandbox.run_cli("mail")
    assert done.returncode == 1
    assert done.stderr.strip() == "sandbox: no sandbox is running (start it with `make run`)"
