"""End to end: `chalice local --stage local` serves the todo API against a running sandbox."""

from __future__ import annotations

import json
import shutil
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


@pytest.fixture(scope="module")
def chalice_local(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`chalice local --stage local` in a copy of the project whose local stage names this
    sandbox's ports (the stage in git names the default ones)."""
    project = tmp_path_factory.mktemp("project")
    shutil.copy2(ROOT / "app.py", project)
    shutil.copy2(ROOT / "requirements.txt", project)
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib")
    skip = shutil.ignore_patterns("deployments", "venv")
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=skip)
    config_file = project / ".chalice" / "config.json"
    config = json.loads(config_file.read_text())
    config["stages"]["local"]["environment_variables"].update(
        AWS_ENDPOINT_URL=sandbox.endpoints["aws_endpoint_url"],
        SITE_URL=sandbox.endpoints["site_url"],
    )
    config_file.write_text(json.dumps(config))
    chalice = Path(sys.executable).parent / "chalice"
    with (project / "chalice.log").open("wb") as log:
        process = subprocess.Popen(
            [str(chalice), "local", "--stage", "local", "--port", "0", "--no-autoreload"],
            cwd=project,
            env=sandbox.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Port 0: chalice local binds a port of its own, read back from the system.
        wait_until_healthy(
            process, lambda: listening_url(process), project / "chalice.log", "chalice local"
        )
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


def test_local_stage_points_at_the_sandbox_only() -> None:
    stage = local_stage()
    assert stage["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert (stage["AWS_ACCESS_KEY_ID"], stage["AWS_SECRET_ACCESS_KEY"]) == ("sandbox", "sandbox")
    assert len(stage["CURSOR_SECRET"]) >= 32


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
