"""What the blog's mails say: templates for subject, plain text and HTML, the links, and the
MIME message (text and HTML parts, RFC 8058 one-click unsubscribe headers)."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
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
    # Where a POST unsubscribes at once (RFC 8058); None for the mail before confirmation.
    one_click: str | None = None


CONFIRMATION: Final = MailTemplate(
    subject=Template("Confirm your subscription to $blog"),
    text=Template(
        "Someone, hopefully you, asked to get a mail whenever $blog publishes a post.\n\n"
        "To confirm, open this link within 7 days:\n$confirm_url\n\n"
        "If it was not you, ignore this mail: you will get nothing more from us.\n"
    ),
    html=Template(
        "<p>Someone, hopefully you, asked to get a mail whenever $blog publishes a post.</p>"
        '<p><a href="$confirm_url">Confirm your subscription</a> (the link works for 7 days).</p>'
        "<p>If it was not you, ignore this mail: you will get nothing more from us.</p>"
    ),
)

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

# CRLF lines as SMTP wants them, and long headers (the one-click URL) left on one line.
_WIRE: Final = policy.SMTP.clone(max_line_length=998)

# The HTML part's document around a rendered body.
PAGE: Final = Template(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>$title</title></head>'
    '<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em">$body</body></html>'
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
    """The site's pages a mail links to, and the API's one-click unsubscribe."""

    def __init__(self, site_url: str, api_url: str | None) -> None:
        self._site = site_url.rstrip("/")
        self._api = api_url.rstrip("/") if api_url else None

    def confirm(self, token: str) -> str:
        return f"{self._site}/confirm.html?{urlencode({'token': token})}"

    def unsubscribe(self, token: str) -> str:
        return f"{self._site}/unsubscribe.html?{urlencode({'token': token})}"

    def one_click(self, token: str) -> str | None:
        if self._api is None:
            return None
        return f"{self._api}/subscriptions/unsubscribe?{urlencode({'token': token})}"

    def post(self, slug: str) -> str:
        return f"{self._site}/post.html?slug={quote(slug, safe='')}"


def confirmation(links: Links, token: str) -> MailContent:
    return render(CONFIRMATION, blog=BLOG_NAME, confirm_url=links.confirm(token))


def welcome(links: Links, token: str) -> MailContent:
    content = render(WELCOME, blog=BLOG_NAME, unsubscribe_url=links.unsubscribe(token))
    return replace(content, one_click=links.one_click(token))


def new_post(links: Links, *, slug: str, title: str, summary: str, token: str) -> MailContent:
    title = " ".join(title.split())
    blocks = {"summary_text": "", "summary_html": ""}
    if summary:
        blocks = {
            "summary_text": SUMMARY_TEXT.substitute(summary=summary),
            "summary_html": SUMMARY_HTML.substitute(summary=html.escape(summary)),
        }
    content = render(
        NEW_POST,
        blocks=blocks,
        blog=BLOG_NAME,
        title=title,
        post_url=links.post(slug),
        unsubscribe_url=links.unsubscribe(token),
    )
    return replace(content, one_click=links.one_click(token))


def mime(content: MailContent, *, sender: str, to: str) -> bytes:
    """The whole message for SendRawEmail: plain text with an HTML alternative, and the
    one-click unsubscribe headers when the mail has them."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = content.subject
    if content.one_click:
        message["List-Unsubscribe"] = f"<{content.one_click}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(content.text)
    page = PAGE.substitute(title=html.escape(content.subject), body=content.html)
    message.add_alternative(page, subtype="html")
    return message.as_bytes(policy=_WIRE)
