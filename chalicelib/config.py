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
    )


def reset() -> None:
    """Forget cached settings (tests and the sandbox change the environment)."""
    settings.cache_clear()
