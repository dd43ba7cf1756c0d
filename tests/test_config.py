"""Settings: read once from the environment, refused when a value cannot work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from chalicelib.core import config, reset_services
from chalicelib.core.config import PLACEHOLDER, TEMPLATE_FILLS_PLACEHOLDERS
from chalicelib.store import aws as aws_clients
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    config.reset()
    reset_services()
    yield
    config.reset()
    reset_services()


def test_settings_warm_invoker_is_lambda_by_default() -> None:
    assert config.settings().warm_invoker == "lambda"


def test_settings_refuse_an_unknown_warm_invoker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARM_INVOKER", "http")
    with pytest.raises(RuntimeError, match="WARM_INVOKER must be one of"):
        config.settings()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({}, "us-east-1"),
    ],
)
def test_aws_region_prefers_lambdas_variable(environ: dict[str, str], expected: str) -> None:
    assert config.aws_region(environ) == expected


def test_environment_readers_follow_os_environ_when_it_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Chalice's test client replaces os.environ around each request: a default argument bound
    # to the object at import would read the old one.
    monkeypatch.setattr(
        os,
        "environ",
        {
            "AWS_LAMBDA_FUNCTION_NAME": "mytodolist-prod-make_thumbnails",
            "AWS_REGION": "eu-central-1",
        },
    )
    assert config.function_handler() == "make_thumbnails"
    assert config.aws_region() == "eu-central-1"


def test_import_time_value_refuses_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTS_STREAM_ARN", f"arn:aws:dynamodb:::table/x/stream/{PLACEHOLDER}")
    monkeypatch.delenv(TEMPLATE_FILLS_PLACEHOLDERS, raising=False)
    with pytest.raises(RuntimeError, match=r"POSTS_STREAM_ARN is still .*make resources STAGE="):
        config.import_time_value("POSTS_STREAM_ARN", "default")


def test_import_time_value_lets_the_package_fill_placeholders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTS_STREAM_ARN", PLACEHOLDER)
    monkeypatch.setenv(TEMPLATE_FILLS_PLACEHOLDERS, "1")
    assert config.import_time_value("POSTS_STREAM_ARN", "default") == PLACEHOLDER


def test_chalice_deploy_refuses_a_stage_with_placeholders() -> None:
    # What `chalice deploy --stage dev` does first: import app.py with the stage's variables.
    env = {
        **{k: v for k, v in os.environ.items() if k != TEMPLATE_FILLS_PLACEHOLDERS},
        **json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["dev"][
            "environment_variables"
        ],
    }
    done = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "resources do not exist yet" in done.stderr


def test_cursor_secret_is_the_local_value_on_local_stages() -> None:
    assert aws_clients.cursor_secret() == os.environ["CURSOR_SECRET"].encode()


def test_cursor_secret_refuses_a_short_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURSOR_SECRET", "short")
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        aws_clients.cursor_secret()


def test_cursor_secret_is_read_from_secrets_manager_once(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "s" * 64
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(Name="mytodolist/test/cursor-secret", SecretString=value)["ARN"]
    monkeypatch.delenv("CURSOR_SECRET")
    monkeypatch.setenv("CURSOR_SECRET_ARN", arn)
    config.reset()
    assert aws_clients.cursor_secret() == value.encode()
    client.update_secret(SecretId=arn, SecretString="t" * 64)
    # Cached for the container's life: no second read.
    assert aws_clients.cursor_secret() == value.encode()


def test_cursor_secret_unset_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURSOR_SECRET")
    with pytest.raises(RuntimeError, match="CURSOR_SECRET_ARN"):
        aws_clients.cursor_secret()


def test_accessors_work_once_every_core_module_is_imported() -> None:
    # The registry lives in chalicelib.core's __init__: a module of the package imported later
    # becomes an attribute of it and must not shadow what the registry uses (core.cache did).
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    from chalicelib import core  # noqa: PLC0415

    for module in pkgutil.iter_modules(core.__path__):
        importlib.import_module(f"chalicelib.core.{module.name}")
    built: list[int] = []

    @core.service
    def accessor() -> int:
        built.append(1)
        return len(built)

    assert accessor() == accessor() == 1
    core.reset_services()
    assert accessor() == 2
