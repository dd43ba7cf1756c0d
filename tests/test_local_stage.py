"""The local stage follows the running sandbox (chalicelib/local_stage.py): endpoint, region,
cursor secret and site URL from its endpoints.json, or a refusal that says what to set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local_stage import endpoints_path as where
from chalicelib.local_stage import follow_sandbox

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sandbox-cursor-secret-" + "x" * 20


def _endpoints(directory: Path, **overrides: Any) -> Path:
    endpoints = {
        "aws_endpoint_url": "http://127.0.0.1:5123",
        "region": "eu-west-1",
        "pid": os.getpid(),
        "app_environment": {"CURSOR_SECRET": SECRET, "SITE_URL": "http://127.0.0.1:8123"},
        **overrides,
    }
    path = directory / "endpoints.json"
    path.write_text(json.dumps(endpoints))
    return path


def _local(directory: Path, **extra: str) -> dict[str, str]:
    return {"APP_STAGE": "local", "SANDBOX_DIR": str(directory), **extra}


def test_local_stage_takes_the_running_sandboxs_endpoint_region_and_secret(
    tmp_path: Path,
) -> None:
    _endpoints(tmp_path)
    environ = _local(tmp_path, AWS_ENDPOINT_URL_DYNAMODB="https://dynamodb.us-east-1.amazonaws.com")
    follow_sandbox(environ)
    assert environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5123"
    assert (environ["AWS_REGION"], environ["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert environ["CURSOR_SECRET"] == SECRET
    assert environ["SITE_URL"] == "http://127.0.0.1:8123"
    # A per-service endpoint from the shell would have sent DynamoDB calls past the sandbox.
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in environ


@pytest.mark.parametrize("stage", ["test", "dev", "prod", "sandbox", ""])
def test_other_stages_are_left_alone(tmp_path: Path, stage: str) -> None:
    _endpoints(tmp_path)
    environ = {"APP_STAGE": stage, "SANDBOX_DIR": str(tmp_path)}
    follow_sandbox(environ)
    assert environ == {"APP_STAGE": stage, "SANDBOX_DIR": str(tmp_path)}


def test_no_sandbox_is_a_refusal_naming_the_file_and_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        follow_sandbox(_local(tmp_path))
    said = str(refused.value)
    assert str(tmp_path / "endpoints.json") in said
    assert "make run" in said
    assert "SANDBOX_DIR" in said


def test_a_sandbox_that_died_is_a_refusal(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    _endpoints(tmp_path, pid=int(done.stdout))
    with pytest.raises(SystemExit, match="no longer running"):
        follow_sandbox(_local(tmp_path))


@pytest.mark.parametrize(
    "overrides",
    [{"aws_endpoint_url": None}, {"aws_endpoint_url": "https://dynamodb.amazonaws.com"}],
)
def test_endpoints_without_a_sandbox_endpoint_are_a_refusal(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    _endpoints(tmp_path, **overrides)
    environ = _local(tmp_path)
    with pytest.raises(SystemExit, match="AWS endpoint"):
        follow_sandbox(environ)
    assert "AWS_ENDPOINT_URL" not in environ


def test_damaged_endpoints_are_a_refusal(tmp_path: Path) -> None:
    (tmp_path / "endpoints.json").write_text("{not json")
    with pytest.raises(SystemExit, match="cannot be read"):
        follow_sandbox(_local(tmp_path))


def test_default_directory_is_the_projects_dot_sandbox() -> None:
    # The sandbox's own default (sandbox/settings.py), wherever chalice local was started.
    assert where({}) == str(ROOT / ".sandbox" / "endpoints.json")
    assert where({"SANDBOX_DIR": "/tmp/elsewhere"}) == "/tmp/elsewhere/endpoints.json"


def _import_app(environ: dict[str, str]) -> dict[str, Any]:
    """What `import app` did in a fresh interpreter: the endpoint it left, whether it loaded
    chalicelib.local_stage."""
    code = (
        "import json, os, sys; import app; print(json.dumps({"
        "'endpoint': os.environ.get('AWS_ENDPOINT_URL'), "
        "'loaded': 'chalicelib.local_stage' in sys.modules}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.mark.parametrize("stage", ["test", "dev", "prod"])
def test_import_app_loads_the_local_stage_on_the_local_stage_only(
    tmp_path: Path, stage: str
) -> None:
    # A running sandbox's endpoints.json where the stage would look: only `local` follows it.
    _endpoints(tmp_path)
    answer = _import_app({"APP_STAGE": stage, "SANDBOX_DIR": str(tmp_path)})
    assert answer == {"endpoint": None, "loaded": False}


def test_import_app_on_the_local_stage_follows_the_sandbox(tmp_path: Path) -> None:
    _endpoints(tmp_path)
    answer = _import_app(_local(tmp_path))
    assert answer == {"endpoint": "http://127.0.0.1:5123", "loaded": True}
