"""The blog's Atom feed (RFC 4287): the latest published posts, from the cached post list."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any, Final
from urllib.parse import quote

from feedgenerator import Atom1Feed
from feedgenerator.django.utils.feedgenerator import rfc3339_date
from feedgenerator.django.utils.xmlutils import SimplerXMLGenerator

from chalicelib.blog.posts.service import PostService
from chalicelib.core.characters import xml_safe
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
        feed = TextAtomFeed(
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


class _XmlSafeWriter(SimplerXMLGenerator):  # type: ignore[misc]
    """Writes every text and attribute value through characters.xml_safe: whatever a post holds
    (one stored before the input rules, one an operator wrote), the feed stays well-formed."""

    def characters(self, content: str) -> None:
        super().characters(xml_safe(content))

    def startElement(self, name: str, attrs: dict[str, str]) -> None:  # noqa: N802 - SAX's name
        super().startElement(name, {key: xml_safe(value) for key, value in (attrs or {}).items()})


class TextAtomFeed(Atom1Feed):  # type: ignore[misc]
    """feedgenerator's Atom feed with entries whose title and summary say they are text.

    feedgenerator marks a summary as HTML, so a reader renders markup an editor typed (an
    `<img onerror=...>` in a summary) as HTML; the site and the mails show it as text. Atom's
    type="text" makes every reader do the same.
    """

    def write(self, outfile: IO[str], encoding: str) -> None:
        handler = _XmlSafeWriter(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        handler.addQuickElement("title", item["title"], {"type": "text"})
        handler.addQuickElement("link", "", {"href": item["link"], "rel": "alternate"})
        handler.addQuickElement("published", rfc3339_date(item["pubdate"]))
        handler.addQuickElement("updated", rfc3339_date(item["updateddate"]))
        handler.addQuickElement("id", item["unique_id"])
        handler.addQuickElement("summary", item["description"], {"type": "text"})
