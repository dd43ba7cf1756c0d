"""Fixtures: the test stage's environment, moto (credentials → mock_aws → tables), signed tokens."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
from tests.stage import use_stage_environment  # noqa: E402

# The test client applies stage variables only during a request; models read them on import.
use_stage_environment()

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from app import app  # noqa: E402
from chalicelib.core import config, reset_services  # noqa: E402
from chalicelib.store.models import ALL_MODELS  # noqa: E402
from sandbox.atomic import make_dynamodb_atomic  # noqa: E402
from sandbox.cognito import TokenVerifier, install  # noqa: E402
from sandbox.resources import Mail, Media, create_mail, create_media, create_tables  # noqa: E402
from tests.e2e import Sandbox, running_sandbox  # noqa: E402

ACCOUNT = "123456789012"  # moto's default account
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
CLIENT_ID = "test-app-client"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "test-key"
JWKS = {
    "keys": [
        {
            **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key())),
            "kid": KID,
            "alg": "RS256",
            "use": "sig",
        }
    ]
}

TokenFactory = Callable[..., str]


def make_token(
    sub: str,
    *,
    token_use: str = "id",
    audience: str = CLIENT_ID,
    issuer: str = ISSUER,
    expires_in: int = 3600,
    key: rsa.RSAPrivateKey = SIGNING_KEY,
    groups: list[str] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": issuer,
        "token_use": token_use,
        "iat": now - 10,
        "auth_time": now - 10,
        "exp": now + expires_in,
        "email": f"{sub}@example.com",
        "cognito:username": sub,
    }
    claims["client_id" if token_use == "access" else "aud"] = audience
    if groups:
        claims["cognito:groups"] = groups
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def headers_for(sub: str, **extra: str) -> dict[str, str]:
    return {"Authorization": make_token(sub), "Content-Type": "application/json", **extra}


_PROCESS_ENVIRON = os.environ


@pytest.fixture(autouse=True)
def _environ_stays_the_processs() -> Iterator[None]:
    """A test that leaves a copy in place of os.environ fails (see `client`): every later test
    would set variables the code under test never reads."""
    yield
    if os.environ is not _PROCESS_ENVIRON:
        os.environ = _PROCESS_ENVIRON  # noqa: B003 - puts the real object back
        pytest.fail("the test left a copy in place of os.environ")


# One session for every test's setup: its clients are new each time, but the service models
# it loaded are kept (loading them again costs more than creating the resources).
_SESSION = boto3.Session()


def _reset_caches() -> None:
    config.reset()
    reset_services()
    for model in ALL_MODELS:
        model._connection = None  # noqa: SLF001 - a client built under another mock


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """A moto server on a free loopback port, for the tests that talk to AWS over HTTP."""
    from sandbox.aws import MotoServer  # noqa: PLC0415 - only these tests need it

    server = MotoServer("127.0.0.1", 0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`python -m sandbox run` on free ports, one per test module (end-to-end tests)."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox of the test's own, for tests that stop it or delete every user."""
    with running_sandbox(tmp_path) as running:
        yield running


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for every AWS call, with the tables, queues and mail sender of infra/resources.yaml."""
    _reset_caches()
    make_dynamodb_atomic()
    with mock_aws():
        create_tables("test", _SESSION)
        create_mail("test", os.environ["MAIL_SENDER"], _SESSION)
        yield
    _reset_caches()


@pytest.fixture
def media(aws: None) -> Media:
    """The media bucket, the thumbnail queue and its dead-letter queue, as in production."""
    return create_media("test", _SESSION)


UploadPhoto = Callable[..., str]


@pytest.fixture
def upload_photo(media: Media) -> UploadPhoto:
    """Create a pending photo as POST /photos does, then put `data` where its upload form points
    (S3 queues the notification, as after a real upload); returns the photo's id. With
    `photo_id`, upload to that photo instead of creating one."""
    from chalicelib.photos.service import PhotoService, upload_key  # noqa: PLC0415

    def upload(
        data: bytes,
        photo_id: str | None = None,
        *,
        user: str = "alice",
        content_type: str = "image/jpeg",
        size: int = 1_000_000,
    ) -> str:
        if photo_id is None:
            body = {"content_type": content_type, "size": size}
            photo_id = str(PhotoService(cursor_secret=b"u" * 32).create(user, body)["photo"]["id"])
        key = upload_key(user, photo_id)
        _SESSION.client("s3").put_object(Bucket=media.bucket, Key=key, Body=data)
        return photo_id

    return upload


@pytest.fixture
def mail(aws: None) -> Mail:
    """The post-mail queue, its dead-letter queue and the verified sender (made by `aws`)."""
    return create_mail("test", os.environ["MAIL_SENDER"], _SESSION)


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS)


@pytest.fixture
def client(aws: None, verifier: TokenVerifier) -> Iterator[Client]:
    # Chalice's test client swaps os.environ for a dict copy around each request and puts back
    # what it found: requests from several threads at once can leave a copy in place, which
    # later tests would then change while the process (botocore, os.getenv) reads the real one.
    real_environ = os.environ
    try:
        with Client(app, stage_name="test", project_dir=str(ROOT)) as test_client:
            install(test_client.http._local_gateway, app, verifier)  # noqa: SLF001
            yield test_client
    finally:
        os.environ = real_environ  # noqa: B003 - puts the real object back


# -- IAM: every AWS call the app makes is recorded and checked against the stage's policy ----

_APP_CODE = (str(ROOT / "chalicelib") + os.sep, str(ROOT / "app.py"))
_CALLS: set[str] = set()
_CALLS_DIR = "MYTODOLIST_IAM_CALLS_DIR"
_original_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # noqa: SLF001


def _made_by_app() -> bool:
    frame: FrameType | None = sys._getframe(2)  # noqa: SLF001 - who called botocore, cheaply
    while frame is not None:
        if frame.f_code.co_filename.startswith(_APP_CODE):
            return True
        frame = frame.f_back
    return False


def _resource_params(params: dict[str, Any]) -> dict[str, Any]:
    """What decides the IAM resource and condition of a call, without the payload."""
    keep = (
        "TableName",
        "IndexName",
        "Bucket",
        "Key",
        "QueueUrl",
        "QueueName",
        "Source",
        "SecretId",
        "ConnectionId",
    )
    out: dict[str, Any] = {k: params[k] for k in keep if k in params}
    out.update({"FunctionName": params["FunctionName"]} if "FunctionName" in params else {})
    if "RequestItems" in params:
        out["RequestItems"] = {name: {} for name in params["RequestItems"]}
    if "TransactItems" in params:
        out["TransactItems"] = [
            {kind: {"TableName": spec["TableName"]}}
            for item in params["TransactItems"]
            for kind, spec in item.items()
        ]
    if "Delete" in params:
        out["Delete"] = {"Objects": [{"Key": o["Key"]} for o in params["Delete"]["Objects"]]}
    return out


def _recording_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    if _made_by_app():
        service = self.meta.service_model.service_name
        params = _resource_params(api_params)
        if service == "apigatewaymanagementapi":
            # The API and stage are in the endpoint, not in the parameters.
            params["Endpoint"] = self.meta.endpoint_url
        _CALLS.add(json.dumps([service, operation_name, params]))
    return _original_api_call(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _recording_api_call  # type: ignore[attr-defined]  # noqa: SLF001


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        # Workers start after this and inherit the environment: they write their calls here.
        os.environ[_CALLS_DIR] = tempfile.mkdtemp(prefix="mytodolist-iam-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = Path(os.environ[_CALLS_DIR])
    worker = getattr(session.config, "workerinput", None)
    if worker is not None:
        (directory / f"{worker['workerid']}.json").write_text(json.dumps(sorted(_CALLS)))
        return
    calls = set(_CALLS)
    for path in directory.glob("*.json"):
        calls.update(json.loads(path.read_text()))
    shutil.rmtree(directory, ignore_errors=True)
    from tools.iam import UnmappedCall, allowed, render, required  # noqa: PLC0415

    policy = render("test", os.environ["MAIL_SENDER"])
    problems = []
    for call in sorted(calls):
        service, operation, params = json.loads(call)
        try:
            needs = required(service, operation, params, region="us-east-1", account=ACCOUNT)
        except UnmappedCall as e:
            problems.append(f"{e}: unknown to tools/iam.py, so it cannot be checked")
            continue
        problems += [
            f"{service}:{operation} needs {n.action} on {n.resource} {n.context or ''}"
            for n in needs
            if not allowed(policy, n)
        ]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", "IAM policy check")
        reporter.write_line(
            f"IAM: {len(calls)} distinct AWS calls made by the app, checked against "
            f"infra/iam-policy.json: {len(problems)} not allowed"
        )
        for problem in problems:
            reporter.write_line(f"  not allowed: {problem}", red=True)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
