"""The SnapStart runtime hooks (chalicelib/snapstart.py), with Lambda's part played by
tests/snapshot_runtime.py: what the snapshot holds (modules, models, clients; no credential, no
secret, nothing sent), and what a restored container redoes before its first request."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import botocore.client
import botocore.credentials
import pytest

from app import app
from chalicelib import blog, photos, snapstart, todos, warm
from chalicelib.core import config
from chalicelib.store import aws
from chalicelib.store.models import ALL_MODELS, PhotoModel
from chalicelib.todos.service import TodoService
from tests import snapshot_runtime
from tests.conftest import ROOT, _reset_caches
from tests.helpers import client_closes

USER = "restored-user"
SNAPSHOT_KEY = "AKIDTAKENATSNAPSHOT"
RESTORED_KEY = "AKIDOFTHERESTOREDONE"


class Recorder:
    """What happened, in order: the hooks that ran, and each AWS request as it was sent."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.signed_with: list[str] = []

    def sent(self, request: Any, **_: Any) -> None:
        target = _text(request.headers.get("X-Amz-Target", ""))
        self.events.append(f"send {target.rsplit('.', 1)[-1] or request.method}")
        authorization = _text(request.headers.get("Authorization", ""))
        self.signed_with.append(authorization.split("Credential=", 1)[-1].split("/", 1)[0])

    def listen(self) -> Recorder:
        # Clients copy the session's handlers when they are built: registered before any is.
        aws.session().get_component("event_emitter").register_first("before-send", self.sent)
        return self


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Lambda's `snapshot_restore_py`, with the app's hooks registered as `import app` does."""
    snapshot_runtime.clear()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", snapshot_runtime)
    assert snapstart.register() is True
    yield snapshot_runtime
    snapshot_runtime.clear()


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The API function of a deployed stage: its name, its cursor key in Secrets Manager (by
    ARN), credentials in the environment; every request the app sends recorded."""
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="mytodolist/test/cursor-secret", SecretString="k" * 64
    )["ARN"]
    monkeypatch.delenv("CURSOR_SECRET", raising=False)
    monkeypatch.setenv("CURSOR_SECRET_ARN", secret)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mytodolist-test")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SNAPSHOT_KEY)
    config.reset()
    return Recorder().listen()


def _credential_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time botocore's provider chain reads credentials from the environment."""
    lookups: list[str] = []
    real = botocore.credentials.EnvProvider.load

    def load(self: Any) -> Any:
        lookups.append(os.environ.get("AWS_ACCESS_KEY_ID", ""))
        return real(self)

    monkeypatch.setattr(botocore.credentials.EnvProvider, "load", load)
    return lookups


def _get_todos(limit: int) -> dict[str, Any]:
    """GET /todos?limit=... as API Gateway invokes the function (claims verified upstream)."""
    headers = {"Authorization": "verified-by-api-gateway", "Host": "api.example.com"}
    event = {
        "resource": "/todos",
        "path": "/todos",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"limit": str(limit)},
        "multiValueQueryStringParameters": {"limit": [str(limit)]},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/todos",
            "httpMethod": "GET",
            "path": "/api/todos",
            "stage": "api",
            "requestId": "restored-0001",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": {"sub": USER, "token_use": "id"}},
        },
        "body": None,
        "isBase64Encoded": False,
    }

    class Context:
        function_name = "mytodolist-test"
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:mytodolist-test"
        memory_limit_in_mb = "512"
        aws_request_id = "restored-0001"
        log_group_name = "/aws/lambda/mytodolist-test"
        log_stream_name = "2026/12/06/[1]0123456789abcdef"

        def get_remaining_time_in_millis(self) -> int:
            return 10_000

    answer: dict[str, Any] = app(event, Context())
    return answer


def test_register_is_a_no_op_where_there_is_no_snapstart_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as off Lambda
    assert snapstart.register() is False


def _import_app_with_runtime(tmp_path: Path, initialization_type: str | None) -> Any:
    """`import app` in a fresh process that can import `snapshot_restore_py`: the hooks it
    registered, and whether it imported that module at all."""
    (tmp_path / "snapshot_restore_py.py").write_text(
        (ROOT / "tests" / "snapshot_runtime.py").read_text()
    )
    code = (
        "import json, sys, app; r = sys.modules.get('snapshot_restore_py'); "
        "print(json.dumps(r and [[f.__qualname__ for f, _, _ in r.before], "
        "[f.__qualname__ for f, _, _ in r.after]]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
    if initialization_type is not None:
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = initialization_type
    env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


# Lambda sets "snap-start" under SnapStart; were it ever unset, the hooks must still register.
@pytest.mark.parametrize("initialization_type", ["snap-start", None])
def test_import_app_registers_one_hook_before_the_snapshot_and_one_after_restore(
    tmp_path: Path, initialization_type: str | None
) -> None:
    hooks = _import_app_with_runtime(tmp_path, initialization_type)
    assert hooks == [["before_snapshot"], ["after_restore"]]


@pytest.mark.parametrize("initialization_type", ["on-demand", "provisioned-concurrency"])
def test_import_app_does_not_look_for_the_snapstart_runtime_in_other_containers(
    tmp_path: Path, initialization_type: str
) -> None:
    # Every cold start of a function without SnapStart skips the search for the module.
    assert _import_app_with_runtime(tmp_path, initialization_type) is None


def test_before_snapshot_loads_services_models_and_clients_and_sends_nothing(
    deployed: Recorder, runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = _credential_lookups(monkeypatch)
    runtime.snapshot()
    assert todos.todos.cache_info().currsize == 1
    assert photos.photos.cache_info().currsize == 1
    assert blog.post_service.cache_info().currsize == blog.subscriptions.cache_info().currsize == 1
    assert all(model._connection is not None for model in ALL_MODELS)  # noqa: SLF001
    assert {"s3", "secretsmanager", "dynamodb"} <= _built_services()
    # Nothing secret or unique in the snapshot: no credential read, no secret, no request.
    assert lookups == []
    assert aws.session().get_credentials().resolved is False
    assert aws.cursor_secret.cache_info().currsize == 0
    assert deployed.events == []


def _built_services() -> set[str]:
    return {c.meta.service_model.service_name for c in aws._BUILT}  # noqa: SLF001


def test_restored_container_reads_its_own_credentials_and_the_secret_after_restore(
    deployed: Recorder, runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = TodoService(cursor_secret=b"s" * 32)
    for n in range(3):
        service.create(USER, {"title": f"todo {n}"})
    _reset_caches()  # the seeding's clients and credentials: a new container starts without them
    config.reset()
    deployed = Recorder().listen()
    lookups = _credential_lookups(monkeypatch)
    deployed.events.append("snapshot")
    runtime.snapshot()
    # Days later, in another container: Lambda gives it credentials of its own.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", RESTORED_KEY)
    deployed.events.append("restore")
    runtime.restore()
    answer = _get_todos(limit=2)
    assert answer["statusCode"] == 200
    page = json.loads(answer["body"])
    assert len(page["items"]) == 2
    assert page["next_cursor"]  # signed with the key read from Secrets Manager
    # Every request came after the restore, signed with the restored container's credentials,
    # and the cursor key was read then (a snapshot would have carried it into every container).
    assert deployed.events[:2] == ["snapshot", "restore"]
    assert "send GetSecretValue" in deployed.events[2:]
    assert set(deployed.signed_with) == {RESTORED_KEY}
    assert lookups
    assert set(lookups) == {RESTORED_KEY}


def test_after_restore_forgets_credentials_and_secret_found_before_it(
    deployed: Recorder, runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.snapshot()
    # Were anything to read them before the snapshot, the restore drops both.
    aws.cursor_secret()
    aws.client("s3").list_buckets()
    assert deployed.signed_with[-1] == SNAPSHOT_KEY
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", RESTORED_KEY)
    runtime.restore()
    assert aws.cursor_secret.cache_info().currsize == 0
    aws.client("s3").list_buckets()
    assert deployed.signed_with[-1] == RESTORED_KEY


def test_after_restore_reseeds_random_and_gives_the_container_its_own_id(
    deployed: Recorder, runtime: ModuleType
) -> None:
    runtime.snapshot()
    snapshot_id = warm._state["container"]  # noqa: SLF001
    draws = []
    for _ in range(2):
        random.seed(17)  # the state every container would resume with
        runtime.restore()
        draws.append(random.random())
    random.seed(17)
    assert len({*draws, random.random()}) == 3
    assert warm._state["container"] != snapshot_id  # noqa: SLF001
    # Loaded before the snapshot: a warm-up of a restored container does not load again.
    assert warm.answer({warm.WARM_KEY: {}}, "f")["cold"] is False


def test_after_restore_closes_every_clients_pooled_connections(
    deployed: Recorder, runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = client_closes(monkeypatch)
    runtime.snapshot()
    built = list(aws._BUILT)  # noqa: SLF001
    assert len(built) >= len(ALL_MODELS) + 2
    runtime.restore()
    assert {id(c) for c in closed} == {id(c) for c in built}


def test_closed_clients_reopen_their_connections(
    moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over real HTTP (moto's server): mock_aws answers before a connection is ever opened.
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    _reset_caches()
    s3 = aws.client("s3")
    s3.list_buckets()
    pools = s3._endpoint.http_session._manager.pools  # noqa: SLF001 - urllib3's pool manager
    assert len(pools) == 1
    aws.close_connections()
    assert len(pools) == 0
    assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(pools) == 1
    _reset_caches()


def test_thumbnail_worker_snapshot_holds_pillow_its_model_and_s3(
    deployed: Recorder, runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mytodolist-test-make_thumbnails")
    config.reset()
    runtime.snapshot()
    from PIL import Image  # noqa: PLC0415

    assert {"JPEG", "PNG", "WEBP"} <= set(Image.OPEN)
    assert photos.thumbnail_service.cache_info().currsize == 1
    assert PhotoModel._connection is not None  # noqa: SLF001
    assert "s3" in _built_services()
    assert aws.cursor_secret.cache_info().currsize == 0
    assert deployed.events == []
