"""Settings read from the environment on first use and cached for the container's life."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_REGION = "us-east-1"
# How the warmer reaches the API function: lambda:Invoke, or a call in this process (the
# sandbox, which serves the API in the same process; moto cannot run Lambda functions).
WARM_INVOKERS = ("lambda", "in-process")


@dataclass(frozen=True)
class Settings:
    # Table names are not here: PynamoDB models read theirs when their classes are built.
    stage: str
    region: str
    media_bucket: str
    cursor_secret: bytes
    post_mails_queue_name: str
    mail_sender: str
    site_url: str
    api_function_name: str
    warm_concurrency: int
    warm_invoker: str


def aws_region(environ: Mapping[str, str] = os.environ) -> str:
    """The region: Lambda sets AWS_REGION; botocore alone reads only AWS_DEFAULT_REGION."""
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def _secret(name: str) -> bytes:
    value = _required(name)
    if len(value) < 32:
        # Refuses the config.json placeholder: a guessable key would make cursors forgeable.
        raise RuntimeError(f"{name} must be at least 32 characters of random text")
    return value.encode()


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or choices[0]
    if value not in choices:
        raise RuntimeError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _count(name: str) -> int:
    value = os.environ.get(name, "0")
    if not value.isdigit():
        raise RuntimeError(f"{name} must be a whole number, not {value!r}")
    return int(value)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        stage=os.environ.get("APP_STAGE", "dev"),
        region=aws_region(),
        media_bucket=_required("MEDIA_BUCKET_NAME"),
        cursor_secret=_secret("CURSOR_SECRET"),
        post_mails_queue_name=_required("POST_MAILS_QUEUE_NAME"),
        mail_sender=_required("MAIL_SENDER"),
        # Mail links are built by appending paths: a trailing slash would double them.
        site_url=_required("SITE_URL").rstrip("/"),
        api_function_name=os.environ.get("API_FUNCTION_NAME", "mytodolist-dev"),
        warm_concurrency=_count("WARM_CONCURRENCY"),
        warm_invoker=_choice("WARM_INVOKER", WARM_INVOKERS),
    )


def reset() -> None:
    """Forget cached settings (tests and the sandbox change the environment)."""
    settings.cache_clear()
