"""The environment the sandbox gives boto3 and the app: fake credentials, moto, resource names."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.settings import BASE_STAGE, CHALICE_CONFIG, HOST, STAGE, SandboxError

MIN_CLIENT_VERSION = "MIN_CLIENT_VERSION"

if TYPE_CHECKING:
    from sandbox.resources import Mail, Media

# Environment variables that would send boto3 somewhere other than the sandbox's moto.
_AWS_LEAKS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
_PLACEHOLDER = "set-by-"


def aws_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Fake credentials and the moto endpoint: no call can reach a real AWS account."""
    return {
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
    }


def point_at_sandbox(environ: MutableMapping[str, str], endpoint_url: str, region: str) -> None:
    """Make boto3, botocore and PynamoDB in this process talk to the sandbox only."""
    for name in _AWS_LEAKS:
        environ.pop(name, None)
    # Per-service endpoint overrides would bypass AWS_ENDPOINT_URL.
    for name in [n for n in environ if n.startswith("AWS_ENDPOINT_URL_")]:
        environ.pop(name, None)
    environ.update(aws_environment(endpoint_url, region))
    _bypass_proxy(environ, urlsplit(endpoint_url).hostname or HOST)


def _bypass_proxy(environ: MutableMapping[str, str], host: str) -> None:
    """A proxy configured for the internet must not see calls to the sandbox on this machine."""
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in environ.get(name, "").split(",") if h.strip()]
        local = [h for h in dict.fromkeys((host, HOST, "localhost")) if h not in hosts]
        environ[name] = ",".join([*hosts, *local])


def stage_environment(
    stage: str = BASE_STAGE, config_file: Path = CHALICE_CONFIG
) -> dict[str, str]:
    """A chalice stage's environment variables from .chalice/config.json."""
    config: dict[str, Any] = json.loads(config_file.read_text())
    merged: dict[str, str] = dict(config.get("environment_variables", {}))
    merged.update(config["stages"][stage].get("environment_variables", {}))
    return merged


def table_variable(logical_id: str) -> str:
    """The environment variable naming a template table: TodosTable → TODOS_TABLE_NAME."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", logical_id).upper()
    return f"{snake}_NAME"


def app_environment(
    stage_env: Mapping[str, str],
    tables: Mapping[str, str],
    user_pool_arn: str,
    cursor_secret: str,
) -> dict[str, str]:
    """The base stage's variables with every resource value replaced by the sandbox's own."""
    env = dict(stage_env)
    for logical_id, name in tables.items():
        env[table_variable(logical_id)] = name
    missing = sorted(
        name
        for name in stage_env
        if name.endswith("_TABLE_NAME") and name not in {table_variable(t) for t in tables}
    )
    if missing:
        # Better to refuse than to serve the app against a table that does not exist.
        raise SandboxError(
            f"no table in infra/resources.yaml provides {', '.join(missing)}: name the table "
            "resource after the variable (e.g. TodosTable for TODOS_TABLE_NAME)"
        )
    env.update(
        {
            "APP_STAGE": STAGE,
            "USER_POOL_ARN": user_pool_arn,
            "CURSOR_SECRET": cursor_secret,
        }
    )
    # The oldest client the sandbox serves comes from `make run`'s environment
    # (`MIN_CLIENT_VERSION=2.4.0 make run`), so a team tries its upgrade prompt without editing
    # the stage.
    if MIN_CLIENT_VERSION in os.environ:
        env[MIN_CLIENT_VERSION] = os.environ[MIN_CLIENT_VERSION]
    return env


def resource_environment(
    *, media: Media, mail: Mail, streams: Mapping[str, str], warm_concurrency: int
) -> dict[str, str]:
    """The app's variables for the sandbox's bucket, queues, streams, sender and warmer."""
    env = {
        "MEDIA_BUCKET_NAME": media.bucket,
        "THUMBNAILS_QUEUE_NAME": media.queue_url.rsplit("/", 1)[-1],
        "POST_MAILS_QUEUE_NAME": mail.queue_url.rsplit("/", 1)[-1],
        "MAIL_SENDER": mail.sender,
        "API_FUNCTION_NAME": "api_handler",
        "WARM_CONCURRENCY": str(warm_concurrency),
        # The API is served in this process and moto cannot run Lambda functions.
        "WARM_INVOKER": "in-process",
        # Metrics as DEBUG log lines: embedded-metric-format JSON is for CloudWatch, not people.
        "METRICS_OUTPUT": "log",
    }
    for logical_id, arn in streams.items():
        # PostsTable → POSTS_STREAM_ARN, as app.py's decorators read them.
        env[table_variable(logical_id).replace("_TABLE_NAME", "_STREAM_ARN")] = arn
    return env


def placeholders(env: Mapping[str, str]) -> list[str]:
    """Variables still holding a config.json placeholder: the sandbox does not provide them."""
    return sorted(name for name, value in env.items() if _PLACEHOLDER in value)
