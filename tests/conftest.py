"""Fixtures: the test stage's environment, moto (credentials → mock_aws → tables), signed tokens."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
_STAGE = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["test"]
# The test client applies stage variables only during a request; models read them on import.
os.environ.update(_STAGE["environment_variables"])
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
)
for _leak in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_leak, None)

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from app import app  # noqa: E402
from chalicelib import config  # noqa: E402
from chalicelib.api import deps  # noqa: E402
from chalicelib.models import ALL_MODELS  # noqa: E402
from sandbox.cognito import TokenVerifier, install  # noqa: E402
from sandbox.resources import Mail, Media, create_mail, create_media, create_tables  # noqa: E402

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


# One session for every test's setup: its clients are new each time, but the service models
# it loaded are kept (loading them again costs more than creating the resources).
_SESSION = boto3.Session()


def _reset_caches() -> None:
    config.reset()
    deps.reset()
    for model in ALL_MODELS:
        model._connection = None  # noqa: SLF001 - a client built under another mock


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for every AWS call, with the tables, queues and mail sender of infra/resources.yaml."""
    _reset_caches()
    with mock_aws():
        create_tables("test", _SESSION)
        create_mail("test", os.environ["MAIL_SENDER"], _SESSION)
        yield
    _reset_caches()


@pytest.fixture
def media(aws: None) -> Media:
    """The media bucket, the thumbnail queue and its dead-letter queue, as in production."""
    return create_media("test", _SESSION)


@pytest.fixture
def mail(aws: None) -> Mail:
    """The post-mail queue, its dead-letter queue and the verified sender (made by `aws`)."""
    return create_mail("test", os.environ["MAIL_SENDER"], _SESSION)


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS)


@pytest.fixture
def client(aws: None, verifier: TokenVerifier) -> Iterator[Client]:
    with Client(app, stage_name="test", project_dir=str(ROOT)) as test_client:
        install(test_client.http._local_gateway, app, verifier)  # noqa: SLF001
        yield test_client
