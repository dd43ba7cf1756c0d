"""The blog's services (posts, subscribers, mail), each imported and built on first use, then
reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import service

if TYPE_CHECKING:
    from chalicelib.blog.mail.fanout import FanOutService
    from chalicelib.blog.mail.sender import MailService
    from chalicelib.blog.posts.feed import FeedService
    from chalicelib.blog.posts.service import PostService
    from chalicelib.blog.subscribers.service import SubscriptionService


@service
def posts() -> PostService:
    from chalicelib.blog.posts.service import PostService  # noqa: PLC0415 - keeps cold start lean

    return PostService()


@service
def feed() -> FeedService:
    from chalicelib.blog.posts.feed import FeedService  # noqa: PLC0415 - keeps cold start lean

    return FeedService(posts())


@service
def subscriptions() -> SubscriptionService:
    from chalicelib.blog.subscribers.service import SubscriptionService  # noqa: PLC0415

    return SubscriptionService()


@service
def mail() -> MailService:
    from chalicelib.blog.mail.sender import MailService  # noqa: PLC0415 - keeps cold start lean

    return MailService()


@service
def fanout() -> FanOutService:
    from chalicelib.blog.mail.fanout import FanOutService  # noqa: PLC0415 - keeps cold start lean

    return FanOutService()
