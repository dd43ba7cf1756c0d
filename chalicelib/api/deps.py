"""Service accessors: each service module is imported and built on first use, then reused."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.services.photos import PhotoService
    from chalicelib.services.todos import TodoService


@cache
def todos() -> TodoService:
    from chalicelib.services.todos import TodoService  # noqa: PLC0415 - keeps cold start lean

    return TodoService()


@cache
def photos() -> PhotoService:
    from chalicelib.services.photos import PhotoService  # noqa: PLC0415 - keeps cold start lean

    return PhotoService()


def reset() -> None:
    """Forget built services and clients (tests swap the environment underneath them)."""
    todos.cache_clear()
    photos.cache_clear()
    from chalicelib.services import aws  # noqa: PLC0415

    aws.reset()
