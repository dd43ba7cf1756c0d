"""End to end: `chalice local --stage local` serves the todo API against a running sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e import (
    HTTP_TIMEOUT,
    ROOT,
    Sandbox,
    call,
    create_user,
    listening_url,
    stop_process,
    wait_until_healthy,
)

pytestmark = pytest.mark.e2e
# What the local stage must name exactly as the sandbox creates it.
SHARED = (
    "TABLE_NAME",
    "QUEUE_NAME",
    "MEDIA_BUCKET_NAME",
    "MAIL_SENDER",
    "USER_POOL_ARN",
)


def local_stage(config_file: Path = ROOT / ".chalice" / "config.json") -> dict[str, str]:
    stages: dict[str, Any] = json.loads(config_file.read_text())["stages"]
    variables: dict[str, str] = stages["local"]["environment_variables"]
    return variables


def _chalice_local(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`chalice local --stage local` in the project itself, on a port of its own."""
    chalice = Path(sys.executable).parent / "chalice"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(chalice), "local", "--stage", "local", "--port", "0", "--no-autoreload"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def chalice_local(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`chalice local --stage local` beside a sandbox on ports and in a directory other than the
    defaults, told nothing but SANDBOX_DIR (no file edited): it must follow the sandbox."""
    log = tmp_path_factory.mktemp("chalice-local") / "chalice.log"
    process = _chalice_local({**os.environ, "SANDBOX_DIR": str(sandbox.directory)}, log)
    try:
        # Port 0: chalice local binds a port of its own, read back from the system.
        wait_until_healthy(process, lambda: listening_url(process), log, "chalice local")
        url = listening_url(process)
        assert url is not None
        yield url
    finally:
        stop_process(process)


def test_local_stage_names_the_sandboxs_resources(sandbox: Sandbox) -> None:
    created = sandbox.endpoints["app_environment"]
    stage = local_stage()
    shared = {k: v for k, v in created.items() if k.endswith(SHARED)}
    assert shared
    assert {k: stage.get(k) for k in shared} == shared


def test_local_stage_has_fake_credentials_and_takes_the_rest_from_the_sandbox() -> None:
    stage = local_stage()
    assert (stage["AWS_ACCESS_KEY_ID"], stage["AWS_SECRET_ACCESS_KEY"]) == ("sandbox", "sandbox")
    # The endpoint and the cursor secret come from the running sandbox (chalicelib/local_stage.py).
    assert "AWS_ENDPOINT_URL" not in stage
    assert "CURSOR_SECRET" not in stage


def test_chalice_local_without_a_sandbox_refuses_to_start_saying_what_to_set(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "SANDBOX_DIR": str(tmp_path)}
    process = _chalice_local(env, tmp_path / "chalice.log")
    try:
        assert process.wait(timeout=60) != 0
    finally:
        stop_process(process)
    said = (tmp_path / "chalice.log").read_text()
    assert f"no sandbox found ({tmp_path / 'endpoints.json'})" in said
    assert "make run" in said
    assert "SANDBOX_DIR" in said


def test_chalice_local_reads_the_cursors_the_sandbox_issued(
    sandbox: Sandbox, chalice_local: str
) -> None:
    user = create_user(sandbox, "cursor")
    for title in ("one", "two"):
        assert call(sandbox, "POST", "/todos", user.token, {"title": title}).status_code == 201
    cursor = call(sandbox, "GET", "/todos?limit=1", user.token).json()["next_cursor"]
    page = requests.get(
        f"{chalice_local}/todos?limit=1&cursor={cursor}",
        headers={"Authorization": user.token},
        timeout=HTTP_TIMEOUT,
    )
    assert page.status_code == 200, page.text
    assert [t["title"] for t in page.json()["items"]] == ["one"]


def test_chalice_local_creates_and_lists_a_todo_in_the_sandbox(
    sandbox: Sandbox, chalice_local: str
) -> None:
    user = create_user(sandbox, "local")
    headers = {"Authorization": user.token, "Content-Type": "application/json"}
    created = requests.post(
        f"{chalice_local}/todos",
        headers=headers,
        data=json.dumps({"title": "Via chalice local"}),
        timeout=HTTP_TIMEOUT,
    )
    assert created.status_code == 201, created.text
    todo = created.json()
    listed = requests.get(f"{chalice_local}/todos", headers=headers, timeout=HTTP_TIMEOUT)
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()["items"]] == [todo["id"]]
    # The same table the sandbox's own API serves.
    strict = requests.get(f"{sandbox.api}/todos/{todo['id']}", headers=headers, timeout=10)
    assert strict.json() == todo
