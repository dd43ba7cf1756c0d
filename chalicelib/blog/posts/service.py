"""Blog posts: writes with optimistic concurrency, cached public reads (fields: post_fields)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Final

from pynamodb.exceptions import DoesNotExist

from chalicelib.blog.posts.fields import (
    DRAFT,
    PUBLISHED,
    clean_fields,
    derive_slug,
    is_slug,
    render_body,
)
from chalicelib.core import defaults, validation
from chalicelib.core.cache import TTLCache
from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import Conflict, NotFound, ValidationError
from chalicelib.core.preconditions import IfMatch, check_if_match
from chalicelib.store import aws
from chalicelib.store.models import PhotoModel, PostModel
from chalicelib.store.storage import (
    conditional,
    get_or_not_found,
    optimistic_write,
    query_page,
    storage_errors,
)

Json = dict[str, Any]
# A JSON-ready result and its entity tag (without the quotes).
Tagged = tuple[Json, str]

# The one value of the by_published index's hash key.
FEED: Final = "published"

CACHE_TTL_SECONDS = 45.0
CACHE_MAX_LISTS = 128
CACHE_MAX_POSTS = 512


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
        fields = clean_fields(data, partial=False)
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
        item.body_html = render_body(item.body)
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
        changes = clean_fields(data, partial=True)

        def apply(item: PostModel, stamp: str) -> None:
            cover = changes.get("cover_photo_id")
            if cover and cover != item.cover_photo_id:
                self._check_cover(item.author, cover)
            body_changed = "body" in changes and changes["body"] != item.body
            for name, value in changes.items():
                setattr(item, name, value)
            if body_changed:
                item.body_html = render_body(item.body)
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
        return get_or_not_found(PostModel, slug, what="post")

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
