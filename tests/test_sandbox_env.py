"""Unit tests of the sandbox's settings, the app environment it builds, and endpoints.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sandbox.endpoints import read_endpoints, remove_endpoints, write_endpoints
from sandbox.env import (
    app_environment,
    placeholders,
    point_at_sandbox,
    stage_environment,
    table_variable,
)
from sandbox.settings import ROOT, SandboxError, SandboxSettings

DEV_ENV = {
    "APP_STAGE": "dev",
    "TODOS_TABLE_NAME": "mytodolist-dev-todos",
    "IDEMPOTENCY_TABLE_NAME": "mytodolist-dev-idempotency",
    "USER_POOL_ARN": "arn:aws:cognito-idp:us-east-1:000000000000:userpool/set-by-make-resources",
    "CURSOR_SECRET": "set-by-make-resources",
    "LOG_LEVEL": "INFO",
}
TABLES = {
    "TodosTable": "mytodolist-sandbox-todos",
    "IdempotencyTable": "mytodolist-sandbox-idempotency",
}
POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
SECRET = "s" * 43


def test_settings_defaults() -> None:
    settings = SandboxSettings.from_environ({})
    assert (settings.api_port, settings.site_port, settings.aws_port) == (8000, 8001, 5000)
    assert settings.ws_port == 8002
    assert settings.region == "us-east-1"
    assert settings.endpoints_file == ROOT / ".sandbox" / "endpoints.json"


def test_settings_read_ports_region_and_directory(tmp_path: Path) -> None:
    settings = SandboxSettings.from_environ(
        {
            "SANDBOX_API_PORT": "9000",
            "SANDBOX_SITE_PORT": "9001",
            "SANDBOX_AWS_PORT": "0",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "SANDBOX_DIR": str(tmp_path),
        }
    )
    assert (settings.api_port, settings.site_port, settings.aws_port) == (9000, 9001, 0)
    assert settings.region == "eu-west-1"
    assert settings.endpoints_file == tmp_path / "endpoints.json"


@pytest.mark.parametrize("value", ["http", "-1", "65536", "80.5"])
def test_settings_refuse_a_bad_port(value: str) -> None:
    with pytest.raises(SandboxError, match="SANDBOX_API_PORT must be a port number"):
        SandboxSettings.from_environ({"SANDBOX_API_PORT": value})


@pytest.mark.parametrize(
    ("logical_id", "variable"),
    [
        ("TodosTable", "TODOS_TABLE_NAME"),
        ("IdempotencyTable", "IDEMPOTENCY_TABLE_NAME"),
        ("BlogPostsTable", "BLOG_POSTS_TABLE_NAME"),
    ],
)
def test_table_variable_follows_the_naming_convention(logical_id: str, variable: str) -> None:
    assert table_variable(logical_id) == variable


def test_app_environment_replaces_every_resource_value() -> None:
    env = app_environment(DEV_ENV, TABLES, POOL_ARN, SECRET)
    assert env == {
        "APP_STAGE": "sandbox",
        "TODOS_TABLE_NAME": "mytodolist-sandbox-todos",
        "IDEMPOTENCY_TABLE_NAME": "mytodolist-sandbox-idempotency",
        "USER_POOL_ARN": POOL_ARN,
        "CURSOR_SECRET": SECRET,
        "LOG_LEVEL": "INFO",
    }
    assert placeholders(env) == []


def test_app_environment_takes_the_minimum_client_version_from_make_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIN_CLIENT_VERSION", "2.4.0")
    stage = {**DEV_ENV, "MIN_CLIENT_VERSION": ""}
    assert app_environment(stage, TABLES, POOL_ARN, SECRET)["MIN_CLIENT_VERSION"] == "2.4.0"


def test_app_environment_refuses_a_table_variable_without_a_table() -> None:
    with pytest.raises(SandboxError, match="PHOTOS_TABLE_NAME"):
        app_environment({**DEV_ENV, "PHOTOS_TABLE_NAME": "mytodolist-dev-photos"}, TABLES, "a", "b")


def test_placeholders_names_values_the_sandbox_did_not_provide() -> None:
    assert placeholders({"MEDIA_BUCKET_NAME": "x-set-by-make-resources", "A": "b"}) == [
        "MEDIA_BUCKET_NAME"
    ]


def test_stage_environment_merges_global_and_stage_variables(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "environment_variables": {"A": "global", "B": "global"},
                "stages": {"dev": {"environment_variables": {"B": "dev"}}},
            }
        )
    )
    assert stage_environment("dev", config) == {"A": "global", "B": "dev"}


def test_stage_environment_of_the_real_dev_stage_builds_a_sandbox_environment() -> None:
    from sandbox.resources import table_definitions  # noqa: PLC0415

    tables = {name: args["TableName"] for name, args in table_definitions("sandbox").items()}
    env = app_environment(stage_environment(), tables, POOL_ARN, SECRET)
    assert env["TODOS_TABLE_NAME"] == "mytodolist-sandbox-todos"
    assert env["APP_STAGE"] == "sandbox"


def test_point_at_sandbox_sets_fake_credentials_and_drops_profiles() -> None:
    environ = {
        "AWS_PROFILE": "prod-admin",
        "AWS_SESSION_TOKEN": "real",
        "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.us-east-1.amazonaws.com",
        "NO_PROXY": "example.com",
        "HOME": "/home/me",
    }
    point_at_sandbox(environ, "http://127.0.0.1:5000", "us-east-1")
    assert environ == {
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "NO_PROXY": "example.com,127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "HOME": "/home/me",
    }


def test_write_endpoints_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "endpoints.json"
    write_endpoints(path, {"api_url": "old", "pid": os.getpid()})
    write_endpoints(path, {"api_url": "new", "pid": os.getpid()})
    assert read_endpoints(path) == {"api_url": "new", "pid": os.getpid()}
    assert [p.name for p in path.parent.iterdir()] == ["endpoints.json"]


def test_read_endpoints_without_a_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="make run"):
        read_endpoints(tmp_path / "endpoints.json")


def test_read_endpoints_of_a_killed_sandbox_says_none_runs_and_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    # Beyond the kernel's pid_max, so no process can have it.
    write_endpoints(path, {"pid": 2**31 - 1})
    with pytest.raises(SandboxError, match=r"^no sandbox is running \(start it with `make run`\)$"):
        read_endpoints(path)
    assert not path.exists()


def test_remove_endpoints_leaves_another_sandbox_file(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    write_endpoints(path, {"pid": os.getpid() + 1})
    remove_endpoints(path, os.getpid())
    assert path.exists()
    remove_endpoints(path, os.getpid() + 1)
    assert not path.exists()


def test_sandbox_host_defaults_to_loopback() -> None:
    assert SandboxSettings.from_environ({}).host == "127.0.0.1"


def test_sandbox_host_takes_an_address_of_this_machine() -> None:
    assert SandboxSettings.from_environ({"SANDBOX_HOST": " 192.168.1.20 "}).host == "192.168.1.20"


@pytest.mark.parametrize("value", ["0.0.0.0", "my-laptop", "::1"])  # noqa: S104 - refused
def test_sandbox_host_that_cannot_be_in_a_url_is_refused(value: str) -> None:
    with pytest.raises(SandboxError, match="SANDBOX_HOST"):
        SandboxSettings.from_environ({"SANDBOX_HOST": value})


def test_point_at_sandbox_keeps_its_host_off_the_proxy() -> None:
    environ: dict[str, str] = {"NO_PROXY": "corp.example"}
    point_at_sandbox(environ, "http://192.168.1.20:5000", "us-east-1")
    assert environ["NO_PROXY"].split(",") == [
        "corp.example",
        "192.168.1.20",
        "127.0.0.1",
        "localhost",
    ]
