"""What the blog's mails say: templates for subject, plain text and HTML, and the site's links."""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from typing import Final
from urllib.parse import quote, urlencode

BLOG_NAME: Final = "the MyTodoList blog"


@dataclass(frozen=True)
class MailTemplate:
    subject: Template
    text: Template
    html: Template


@dataclass(frozen=True)
class MailContent:
    subject: str
    text: str
    html: str


WELCOME: Final = MailTemplate(
    subject=Template("Welcome to $blog"),
    text=Template(
        "Thank you for subscribing to $blog.\n"
        "You will get one mail whenever a new post is published.\n\n"
        "Not you, or changed your mind? Unsubscribe: $unsubscribe_url\n"
    ),
    html=Template(
        "<p>Thank you for subscribing to $blog.</p>"
        "<p>You will get one mail whenever a new post is published.</p>"
        '<p>Not you, or changed your mind? <a href="$unsubscribe_url">Unsubscribe</a>.</p>'
    ),
)

NEW_POST: Final = MailTemplate(
    subject=Template("New post: $title"),
    text=Template(
        "$title\n\n${summary_text}Read it: $post_url\n\n"
        "--\nYou get this mail because you subscribed to $blog.\n"
        "Unsubscribe: $unsubscribe_url\n"
    ),
    html=Template(
        "<h1>$title</h1>${summary_html}"
        '<p><a href="$post_url">Read it on the blog</a></p>'
        "<hr><p>You get this mail because you subscribed to $blog. "
        '<a href="$unsubscribe_url">Unsubscribe</a>.</p>'
    ),
)

# Parts shown only when there is something to show, filled like the rest.
SUMMARY_TEXT: Final = Template("$summary\n\n")
SUMMARY_HTML: Final = Template("<p>$summary</p>")


def render(
    template: MailTemplate, *, blocks: dict[str, str] | None = None, **values: str
) -> MailContent:
    """Fill a template: every value is escaped in the HTML part; `blocks` are already-rendered
    parts (`<name>_text` and `<name>_html`), inserted as they are."""
    escaped = {name: html.escape(value) for name, value in values.items()}
    blocks = blocks or {}
    return MailContent(
        subject=" ".join(template.subject.substitute(values).split()),
        text=template.text.substitute(values, **blocks),
        html=template.html.substitute(escaped, **blocks),
    )


class Links:
    """The site's pages a mail links to."""

    def __init__(self, site_url: str) -> None:
        self._site = site_url.rstrip("/")

    def unsubscribe(self, token: str) -> str:
        return f"{self._site}/unsubscribe.html?{urlencode({'token': token})}"

    def post(self, slug: str) -> str:
        return f"{self._site}/post.html?slug={quote(slug, safe='')}"


def welcome(links: Links, token: str) -> MailContent:
    return render(WELCOME, blog=BLOG_NAME, unsubscribe_url=links.unsubscribe(token))


def new_post(links: Links, *, slug: str, title: str, summary: str, token: str) -> MailContent:
    title = " ".join(title.split())
    blocks = {"summary_text": "", "summary_html": ""}
    if summary:
        blocks = {
            "summary_text": SUMMARY_TEXT.substitute(summary=summary),
            "summary_html": SUMMARY_HTML.substitute(summary=html.escape(summary)),
        }
    return render(
        NEW_POST,
        blocks=blocks,
        blog=BLOG_NAME,
        title=title,
        post_url=links.post(slug),
        unsubscribe_url=links.unsubscribe(token),
    )
