"""The blog's Atom feed (RFC 4287): the latest published posts, from the cached post list."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from urllib.parse import quote

from feedgenerator import Atom1Feed

from chalicelib.blog.posts.service import PostService
from chalicelib.core.config import settings

FEED_SIZE: Final = 20
TITLE: Final = "MyTodoList blog"
SUBTITLE: Final = "News and tips from the MyTodoList team."
AUTHOR: Final = "The MyTodoList team"


class FeedService:
    def __init__(
        self, posts: PostService, *, site_url: str | None = None, api_url: str | None = None
    ) -> None:
        self._posts = posts
        self._site = (site_url or settings().site_url).rstrip("/")
        self._api = (settings().api_url if api_url is None else api_url).rstrip("/")

    def atom(self) -> tuple[str, str]:
        """The feed document and its entity tag (the listing's: it changes when a post does)."""
        page, tag = self._posts.list_published(limit=FEED_SIZE)
        feed = Atom1Feed(
            title=TITLE,
            link=f"{self._site}/",
            description=SUBTITLE,
            language="en",
            author_name=AUTHOR,
            # Ids never change: a reader that saw an entry once never shows it as new again.
            feed_guid=f"{self._site}/",
            feed_url=f"{self._api}/feed.xml" if self._api else None,
        )
        for post in page["items"]:
            url = f"{self._site}/post.html?slug={quote(post['slug'], safe='')}"
            feed.add_item(
                title=post["title"],
                link=url,
                unique_id=url,
                description=post["summary"] or post["title"],
                pubdate=_time(post["published_at"] or post["created_at"]),
                updateddate=_time(post["updated_at"]),
            )
        return feed.writeString("utf-8"), f"feed-{tag}"


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
