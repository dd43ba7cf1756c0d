"""Markdown to safe HTML for blog posts: markdown-it renders, nh3 (ammonia) sanitises.

Imported only on the write path (posts are rendered once, when saved); reads never render.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

# Everything Markdown produces plus a few inline tags editors reach for in raw HTML; no
# forms, frames, media, svg/math, style or script. Unknown tags are dropped, their text kept.
TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
# No style, no event handlers, no id/class (they could mimic the site's own UI).
ATTRIBUTES = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "img": frozenset({"src", "alt", "title"}),
    "ol": frozenset({"start"}),
}
# Relative URLs (links between posts, #anchors) pass; absolute ones need one of these schemes.
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped with their content, not just their tags.
CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript"}
)
LINK_REL = "noopener noreferrer nofollow"


@cache
def _markdown() -> MarkdownIt:
    # CommonMark with tables and strikethrough; raw HTML is parsed here and sanitised below.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
    )


def sanitize(html: str) -> str:
    return _cleaner().clean(html)


def render(markdown: str) -> str:
    """The post body as HTML that runs no script wherever it is inserted."""
    return sanitize(_markdown().render(markdown))
