"""Blog post fields: slugs, validation of what editors send, Markdown rendered to safe HTML."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, Final

from chalicelib.core import validation
from chalicelib.core.errors import ValidationError

Json = dict[str, Any]

DRAFT: Final = "draft"
PUBLISHED: Final = "published"
STATUSES = (DRAFT, PUBLISHED)

CREATE_FIELDS = ("slug", "title", "summary", "body", "status", "cover_photo_id")
UPDATE_FIELDS = ("title", "summary", "body", "status", "cover_photo_id")
MAX_TITLE = 200
MAX_SUMMARY = 1_000
MAX_SLUG = 80
MAX_BODY_BYTES = 100 * 1024
# Markdown can grow several-fold as HTML (every "<" becomes "&lt;"); this keeps body and HTML
# together well inside DynamoDB's 400 KB item limit.
MAX_HTML_BYTES = 256 * 1024
MAX_PHOTO_ID = 64

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def derive_slug(title: str) -> str:
    """Lowercase ASCII letters, digits and single hyphens: "Ünïcode Day!" → "unicode-day"; a
    title with nothing that folds to ASCII gets "post-" and 12 hex digits of its SHA-256."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        # Whole words only; a single word longer than the limit is cut.
        boundary = slug.rfind("-", 0, MAX_SLUG + 1)
        slug = slug[:boundary] if boundary > 0 else slug[:MAX_SLUG]
    if not slug:
        # Nothing folds to ASCII ("日本語", "!!!"): a slug still follows from the title alone,
        # so that the same title gives the same slug (and a second such post its 409).
        import hashlib  # noqa: PLC0415 - only for such titles

        slug = f"post-{hashlib.sha256(title.encode('utf-8')).hexdigest()[:12]}"
    return slug


def check_slug(value: object) -> str:
    slug = validation.text(value, "slug", min_len=1, max_len=MAX_SLUG)
    if not _SLUG.fullmatch(slug):
        raise ValidationError(
            "slug must be lowercase ASCII letters and digits in words joined by single hyphens, "
            f"such as my-first-post; not {slug!r}"
        )
    return slug


def is_slug(value: str) -> bool:
    return len(value) <= MAX_SLUG and _SLUG.fullmatch(value) is not None


def _title(value: object) -> str:
    # Titles become mail subjects and page titles: one line (text() refuses line breaks).
    return validation.text(value, "title", min_len=1, max_len=MAX_TITLE, strip=True)


def _body(value: object) -> str:
    body = validation.text(value, "body", max_len=MAX_BODY_BYTES, multiline=True)
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise ValidationError(f"body is {size} bytes of UTF-8; the limit is {MAX_BODY_BYTES}")
    return body


def _summary(value: object) -> str:
    if value is None:
        return ""
    return validation.text(value, "summary", max_len=MAX_SUMMARY, strip=True, multiline=True)


def _body_or_empty(value: object) -> str:
    return "" if value is None else _body(value)


def _status(value: object) -> str:
    if value not in STATUSES:
        raise ValidationError(f"status must be {DRAFT!r} or {PUBLISHED!r}")
    return str(value)


def _cover_photo_id(value: object) -> str | None:
    if value is None:
        return None
    return validation.text(value, "cover_photo_id", min_len=1, max_len=MAX_PHOTO_ID, strip=True)


# Each field a request may carry and its parser, in the order errors are reported.
_PARSERS: dict[str, Callable[[object], object]] = {
    "slug": check_slug,
    "title": _title,
    "summary": _summary,
    "body": _body_or_empty,
    "status": _status,
    "cover_photo_id": _cover_photo_id,
}


def clean_fields(data: Json, *, partial: bool) -> Json:
    """The validated subset of post fields present in a request body."""
    if partial and "slug" in data:
        raise ValidationError(
            "slug cannot be changed (links to the post would break): "
            "create a new post with the new slug and delete this one"
        )
    validation.reject_unknown(data, UPDATE_FIELDS if partial else CREATE_FIELDS)
    if not partial and "title" not in data:
        raise ValidationError("title is required")
    return {name: parse(data[name]) for name, parse in _PARSERS.items() if name in data}


def render_body(body: str) -> str:
    # Deferred: markdown-it and nh3 load only when a post is written, never on reads.
    from chalicelib.blog.posts.markup import render  # noqa: PLC0415

    html = render(body)
    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        raise ValidationError(
            f"body renders to {size} bytes of HTML; the limit is {MAX_HTML_BYTES}: shorten it"
        )
    return html
