"""Blog posts: validation, slugs, Markdown rendered once on write, cached public reads."""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any, Final

from pynamodb.exceptions import DoesNotExist

from chalicelib import validation
from chalicelib.cache import TTLCache
from chalicelib.cursors import CursorCodec
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.models import PhotoModel, PostModel
from chalicelib.preconditions import IfMatch, check_if_match
from chalicelib.services import aws, defaults
from chalicelib.services.storage import (
    conditional,
    optimistic_write,
    query_page,
    storage_errors,
)

Json = dict[str, Any]
# A JSON-ready result and its entity tag (without the quotes).
Tagged = tuple[Json, str]

DRAFT: Final = "draft"
PUBLISHED: Final = "published"
STATUSES = (DRAFT, PUBLISHED)
# The one value of the by_published index's hash key.
FEED: Final = "published"

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

CACHE_TTL_SECONDS = 45.0
CACHE_MAX_LISTS = 128
CACHE_MAX_POSTS = 512

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def derive_slug(title: str) -> str:
    """Lowercase ASCII letters, digits and single hyphens: "Ünïcode Day!" → "unicode-day"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        # Whole words only; a single word longer than the limit is cut.
        boundary = slug.rfind("-", 0, MAX_SLUG + 1)
        slug = slug[:boundary] if boundary > 0 else slug[:MAX_SLUG]
    if not slug:
        raise ValidationError(
            "cannot derive a slug from this title (it has no ASCII letters or digits): "
            "send a slug such as my-first-post"
        )
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


def _clean(data: Json, *, partial: bool) -> Json:
    """The validated subset of post fields present in a request body."""
    if partial and "slug" in data:
        raise ValidationError(
            "slug cannot be changed (links to the post would break): "
            "create a new post with the new slug and delete this one"
        )
    validation.reject_unknown(data, UPDATE_FIELDS if partial else CREATE_FIELDS)
    if not partial and "title" not in data:
        raise ValidationError("title is required")
    out: Json = {}
    if "slug" in data:
        out["slug"] = check_slug(data["slug"])
    if "title" in data:
        out["title"] = _title(data["title"])
    if "summary" in data:
        summary = data["summary"]
        out["summary"] = (
            ""
            if summary is None
            else validation.text(
                summary, "summary", max_len=MAX_SUMMARY, strip=True, multiline=True
            )
        )
    if "body" in data:
        out["body"] = "" if data["body"] is None else _body(data["body"])
    if "status" in data:
        if data["status"] not in STATUSES:
            raise ValidationError(f"status must be {DRAFT!r} or {PUBLISHED!r}")
        out["status"] = data["status"]
    if "cover_photo_id" in data:
        photo = data["cover_photo_id"]
        out["cover_photo_id"] = (
            None
            if photo is None
            else validation.text(
                photo, "cover_photo_id", min_len=1, max_len=MAX_PHOTO_ID, strip=True
            )
        )
    return out


def _render(body: str) -> str:
    # Deferred: markdown-it and nh3 load only when a post is written, never on reads.
    from chalicelib.services.markup import render  # noqa: PLC0415

    html = render(body)
    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        raise ValidationError(
            f"body renders to {size} bytes of HTML; the limit is {MAX_HTML_BYTES}: shorten it"
        )
    return html


def _check_if_match(item: PostModel, if_match: IfMatch) -> None:
    # The ETag, or the bare version number for clients that keep `version`.
    check_if_match(
        if_match,
        {post_tag(item), str(item.version)},
        what="post",
        version=item.version,
        current=lambda: _to_json(item),
    )


def post_tag(item: PostModel) -> str:
    """The entity tag: the version, plus the creation time so a re-created slug never matches."""
    created = hashlib.sha256(item.created_at.encode()).hexdigest()[:8]
    return f"{item.version}-{created}"


def _to_json(item: PostModel, *, full: bool = True) -> Json:
    out: Json = {
        "slug": item.slug,
        "title": item.title,
        "summary": item.summary or "",
        "status": item.status,
        "author": item.author,
        "cover_photo_id": item.cover_photo_id,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "published_at": item.published_at,
        "version": item.version,
    }
    if full:
        out["body"] = item.body or ""
        out["body_html"] = item.body_html or ""
    return out


class PostService:
    def __init__(
        self,
        *,
        cursor_secret: bytes | None = None,
        clock: defaults.Clock = defaults.utcnow,
        cache_ttl: float = CACHE_TTL_SECONDS,
        cache_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cursors = CursorCodec(
            cursor_secret if cursor_secret is not None else aws.cursor_secret
        )
        self._clock = clock
        # Public reads only; both are emptied by every write through this service.
        self._lists: TTLCache[tuple[int, str], Tagged] = TTLCache(
            ttl=cache_ttl, max_entries=CACHE_MAX_LISTS, clock=cache_clock
        )
        self._posts: TTLCache[str, Tagged | None] = TTLCache(
            ttl=cache_ttl, max_entries=CACHE_MAX_POSTS, clock=cache_clock
        )

    def clear_cache(self) -> None:
        self._lists.clear()
        self._posts.clear()

    # -- writes (editors) -------------------------------------------------------------------

    def create(self, author: str, data: Json) -> Tagged:
        fields = _clean(data, partial=False)
        slug = fields.get("slug") or derive_slug(fields["title"])
        stamp = validation.format_time(self._clock())
        item = PostModel(
            slug,
            title=fields["title"],
            summary=fields.get("summary", ""),
            body=fields.get("body", ""),
            status=fields.get("status", DRAFT),
            author=author,
            cover_photo_id=fields.get("cover_photo_id"),
            created_at=stamp,
            updated_at=stamp,
        )
        if item.cover_photo_id:
            self._check_cover(author, item.cover_photo_id)
        item.body_html = _render(item.body)
        self._set_publication(item, stamp)
        with conditional() as write:
            item.save(condition=PostModel.slug.does_not_exist())
        if write.failed:
            raise Conflict(
                f"slug {slug!r} is taken by another post: send a different slug"
            ) from write.error
        self.clear_cache()
        return _to_json(item), post_tag(item)

    def update(self, slug: str, data: Json, if_match: IfMatch = None) -> Tagged:
        changes = _clean(data, partial=True)

        def apply(item: PostModel, stamp: str) -> None:
            cover = changes.get("cover_photo_id")
            if cover and cover != item.cover_photo_id:
                self._check_cover(item.author, cover)
            body_changed = "body" in changes and changes["body"] != item.body
            for name, value in changes.items():
                setattr(item, name, value)
            if body_changed:
                item.body_html = _render(item.body)
            self._set_publication(item, stamp)

        item = self._write(slug, if_match, apply if changes else None)
        return _to_json(item), post_tag(item)

    def delete(self, slug: str, if_match: IfMatch = None) -> None:
        def store(item: PostModel) -> None:
            _check_if_match(item, if_match)
            item.delete()

        optimistic_write(
            lambda: self._load(slug),
            store,
            strict=if_match is not None,
            what="post",
            current=lambda: self.get(slug)[0],
        )
        self.clear_cache()

    def _write(
        self,
        slug: str,
        if_match: IfMatch,
        change: Callable[[PostModel, str], None] | None,
    ) -> PostModel:
        """Check If-Match, change, and write back only if nobody wrote since the read."""

        def store(item: PostModel) -> None:
            _check_if_match(item, if_match)
            if change is None:
                return
            stamp = validation.format_time(self._clock())
            change(item, stamp)
            item.updated_at = stamp
            item.save()

        item = optimistic_write(
            lambda: self._load(slug),
            store,
            strict=if_match is not None,
            what="post",
            current=lambda: self.get(slug)[0],
        )
        if change is not None:
            self.clear_cache()
        return item

    @staticmethod
    def _set_publication(item: PostModel, stamp: str) -> None:
        if item.status == PUBLISHED:
            item.published_at = item.published_at or stamp
            item.feed = FEED
            item.published_key = f"{item.published_at}#{item.slug}"
        else:
            # Out of the index; published_at stays as the date it first went out.
            item.feed = item.published_key = None

    @staticmethod
    def _check_cover(author: str, photo_id: str) -> None:
        try:
            with storage_errors():
                photo = PhotoModel.get(author, photo_id, consistent_read=True)
        except DoesNotExist:
            photo = None
        if photo is None or photo.status != "ready":
            raise ValidationError(
                f"cover_photo_id {photo_id!r} must be one of the author's photos "
                "whose thumbnails are ready"
            )

    # -- reads ------------------------------------------------------------------------------

    def _load(self, slug: str) -> PostModel:
        if not is_slug(slug):
            raise NotFound(f"post {slug} not found")
        try:
            with storage_errors():
                return PostModel.get(slug, consistent_read=True)
        except DoesNotExist as e:
            raise NotFound(f"post {slug} not found") from e

    def get(self, slug: str) -> Tagged:
        """Any post, draft or published, straight from the table (editors' preview)."""
        item = self._load(slug)
        return _to_json(item), post_tag(item)

    def get_published(self, slug: str) -> Tagged:
        """A published post, from this container's cache when it is fresh."""
        if not is_slug(slug):
            raise NotFound(f"post {slug} not found")
        found = self._posts.get_or_load(slug, lambda: self._load_published(slug))
        if found is None:
            raise NotFound(f"post {slug} not found")
        return found

    def _load_published(self, slug: str) -> Tagged | None:
        # Unknown slugs are cached too (as None), so they cannot be used to hammer the table.
        try:
            item = self._load(slug)
        except NotFound:
            return None
        if item.status != PUBLISHED:
            return None
        return _to_json(item), post_tag(item)

    def list_published(self, *, limit: int, cursor: str | None = None) -> Tagged:
        """Published posts, newest published first, without bodies; cached per page."""
        return self._lists.get_or_load(
            # No cursor and an empty one are different requests (the empty one is refused).
            (limit, "" if cursor is None else f"={cursor}"),
            lambda: self._list_published(limit, cursor),
        )

    def _list_published(self, limit: int, cursor: str | None) -> Tagged:
        rows, next_cursor = query_page(
            PostModel.by_published,
            FEED,
            key_names=("slug", "feed", "published_key"),
            condition=None,
            scope="posts|published",
            limit=limit,
            cursor=cursor,
            cursors=self._cursors,
            forward=False,
            consistent=False,
        )
        page = {"items": [_to_json(r, full=False) for r in rows], "next_cursor": next_cursor}
        return page, _page_tag(rows, next_cursor)


def _page_tag(rows: list[PostModel], next_cursor: str | None) -> str:
    """Changes whenever any listed post changes, or the page's extent does."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.slug}\0{post_tag(row)}\0".encode())
    digest.update((next_cursor or "").encode())
    return "p-" + digest.hexdigest()[:32]
