"""Settings read from the environment on first use and cached for the container's life."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    todos_table_name: str
    idempotency_table_name: str
    photos_table_name: str
    media_bucket: str
    cursor_secret: bytes
    posts_table_name: str
    subscribers_table_name: str
    mail_deliveries_table_name: str
    post_mails_queue_name: str
    mail_sender: str
    site_url: str
    api_function_name: str
    warm_concurrency: int


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


def _count(name: str) -> int:
    value = os.environ.get(name, "0")
    if not value.isdigit():
        raise RuntimeError(f"{name} must be a whole number, not {value!r}")
    return int(value)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        stage=os.environ.get("APP_STAGE", "dev"),
        region=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        todos_table_name=_required("TODOS_TABLE_NAME"),
        idempotency_table_name=_required("IDEMPOTENCY_TABLE_NAME"),
        photos_table_name=_required("PHOTOS_TABLE_NAME"),
        media_bucket=_required("MEDIA_BUCKET_NAME"),
        cursor_secret=_secret("CURSOR_SECRET"),
        posts_table_name=_required("POSTS_TABLE_NAME"),
        subscribers_table_name=_required("SUBSCRIBERS_TABLE_NAME"),
        mail_deliveries_table_name=_required("MAIL_DELIVERIES_TABLE_NAME"),
        post_mails_queue_name=_required("POST_MAILS_QUEUE_NAME"),
        mail_sender=_required("MAIL_SENDER"),
        # Mail links are built by appending paths: a trailing slash would double them.
        site_url=_required("SITE_URL").rstrip("/"),
        api_function_name=os.environ.get("API_FUNCTION_NAME", "mytodolist-dev"),
        warm_concurrency=_count("WARM_CONCURRENCY"),
    )


def reset() -> None:
    """Forget cached settings (tests and the sandbox change the environment)."""
    settings.cache_clear()
