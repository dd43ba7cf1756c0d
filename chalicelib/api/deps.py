"""Service accessors: each service module is imported and built on first use, then reused."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.services.fanout import FanOutService
    from chalicelib.services.feed import FeedService
    from chalicelib.services.mail import MailService
    from chalicelib.services.photos import PhotoService
    from chalicelib.services.posts import PostService
    from chalicelib.services.subscriptions import SubscriptionService
    from chalicelib.services.thumbnails import ThumbnailService
    from chalicelib.services.todo_sync import TodoSync
    from chalicelib.services.todos import TodoService
    from chalicelib.warm import WarmerService


@cache
def todos() -> TodoService:
    from chalicelib.services.todos import TodoService  # noqa: PLC0415 - keeps cold start lean

    return TodoService()


@cache
def todo_sync() -> TodoSync:
    from chalicelib.services.todo_sync import TodoSync  # noqa: PLC0415 - keeps cold start lean

    return TodoSync()


@cache
def photos() -> PhotoService:
    from chalicelib.services.photos import PhotoService  # noqa: PLC0415 - keeps cold start lean

    return PhotoService()


@cache
def thumbnails() -> ThumbnailService:
    from chalicelib.services.thumbnails import ThumbnailService  # noqa: PLC0415

    return ThumbnailService()


@cache
def posts() -> PostService:
    from chalicelib.services.posts import PostService  # noqa: PLC0415 - keeps cold start lean

    return PostService()


@cache
def feed() -> FeedService:
    from chalicelib.services.feed import FeedService  # noqa: PLC0415 - keeps cold start lean

    return FeedService(posts())


@cache
def subscriptions() -> SubscriptionService:
    from chalicelib.services.subscriptions import SubscriptionService  # noqa: PLC0415

    return SubscriptionService()


@cache
def mail() -> MailService:
    from chalicelib.services.mail import MailService  # noqa: PLC0415 - keeps cold start lean

    return MailService()


@cache
def fanout() -> FanOutService:
    from chalicelib.services.fanout import FanOutService  # noqa: PLC0415 - keeps cold start lean

    return FanOutService()


@cache
def warmer() -> WarmerService:
    from chalicelib.config import settings  # noqa: PLC0415
    from chalicelib.warm import warmer_from  # noqa: PLC0415

    return warmer_from(settings())


def reset() -> None:
    """Forget built services and clients (tests swap the environment underneath them)."""
    todos.cache_clear()
    todo_sync.cache_clear()
    photos.cache_clear()
    thumbnails.cache_clear()
    posts.cache_clear()
    feed.cache_clear()
    subscriptions.cache_clear()
    mail.cache_clear()
    fanout.cache_clear()
    warmer.cache_clear()
    from chalicelib.realtime import deps as realtime  # noqa: PLC0415
    from chalicelib.services import aws  # noqa: PLC0415

    realtime.reset()

    aws.reset()
