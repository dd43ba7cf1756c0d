"""The blog: posts (routes, service, fields, markup, feed), subscribers (routes, service,
addresses) and mail (sender, content, deliveries, fanout), and here the accessors of all three,
which import and build each service on first use (`post_service`, `feed`, `subscriptions`,
`mail_service`, `fanout`).

May import `chalicelib.core`, `chalicelib.store` and `chalicelib.web`; never todos, photos or
realtime. Inside the blog, mail may use posts and subscribers, never the other way round. Routes
live with their sub-package: a change to one feature of the blog touches one folder.

The accessors live in this `__init__` (one module fewer at every cold start), so none may share
its name with a sub-package or module: importing `chalicelib.blog.posts` sets `posts` here
(tests/test_layout.py checks).
"""

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
def post_service() -> PostService:
    from chalicelib.blog.posts.service import PostService  # noqa: PLC0415 - keeps cold start lean

    return PostService()


@service
def feed() -> FeedService:
    from chalicelib.blog.posts.feed import FeedService  # noqa: PLC0415 - keeps cold start lean

    return FeedService(post_service())


@service
def subscriptions() -> SubscriptionService:
    from chalicelib.blog.subscribers.service import SubscriptionService  # noqa: PLC0415

    return SubscriptionService()


@service
def mail_service() -> MailService:
    from chalicelib.blog.mail.sender import MailService  # noqa: PLC0415 - keeps cold start lean

    return MailService()


@service
def fanout() -> FanOutService:
    from chalicelib.blog.mail.fanout import FanOutService  # noqa: PLC0415 - keeps cold start lean

    return FanOutService()
