"""Routes for /posts: public cached reads, editor-only writes; thin adapters over PostService."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.blog import feed, post_service
from chalicelib.web.http import (
    BODYLESS,
    Headers,
    cognito,
    domain_errors,
    etag,
    if_match,
    json_body,
    not_modified,
    page_limit,
    query,
    require_editor,
)

bp = Blueprint(__name__)

# Browsers and CDNs may keep a public read for a minute and serve it stale while revalidating.
PUBLIC_CACHE = "public, max-age=60, stale-while-revalidate=300"
# Editors' views show drafts: never stored by a shared cache.
PRIVATE_CACHE = "private, no-store"
# The feed's media type (RFC 4287).
ATOM = "application/atom+xml; charset=utf-8"


def _tagged(
    body: Any, tag: str, cache_control: str, status: int = 200, content_type: str | None = None
) -> Response:
    headers: Headers = {"ETag": etag(tag), "Cache-Control": cache_control}
    if content_type:
        headers["Content-Type"] = content_type
    return Response(body=body, status_code=status, headers=headers)


def _public(result: tuple[Any, str], content_type: str | None = None) -> Response:
    body, tag = result
    if not_modified(bp.current_request, tag):
        return _tagged("", tag, PUBLIC_CACHE, 304)
    return _tagged(body, tag, PUBLIC_CACHE, content_type=content_type)


@bp.route("/posts", methods=["GET"], content_types=BODYLESS)
@domain_errors
def list_posts() -> Response:
    request = bp.current_request
    return _public(
        post_service().list_published(limit=page_limit(request), cursor=query(request, "cursor"))
    )


@bp.route("/feed.xml", methods=["GET"], content_types=BODYLESS)
@domain_errors
def get_feed() -> Response:
    return _public(feed().atom(), ATOM)


@bp.route("/posts/{slug}", methods=["GET"], content_types=BODYLESS)
@domain_errors
def get_post(slug: str) -> Response:
    return _public(post_service().get_published(slug))


@bp.route(
    "/posts/{slug}/preview",
    methods=["GET"],
    authorizer=cognito,
    content_types=BODYLESS,
)
@domain_errors
def preview_post(slug: str) -> Response:
    require_editor(bp.current_request)
    post, tag = post_service().get(slug)
    return _tagged(post, tag, PRIVATE_CACHE)


@bp.route("/posts", methods=["POST"], authorizer=cognito)
@domain_errors
def create_post() -> Response:
    request = bp.current_request
    post, tag = post_service().create(require_editor(request), json_body(request))
    response = _tagged(post, tag, PRIVATE_CACHE, 201)
    response.headers["Location"] = f"/posts/{post['slug']}"
    return response


@bp.route("/posts/{slug}", methods=["PATCH"], authorizer=cognito)
@domain_errors
def update_post(slug: str) -> Response:
    request = bp.current_request
    require_editor(request)
    post, tag = post_service().update(slug, json_body(request), if_match(request))
    return _tagged(post, tag, PRIVATE_CACHE)


@bp.route("/posts/{slug}", methods=["DELETE"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def delete_post(slug: str) -> Response:
    request = bp.current_request
    require_editor(request)
    post_service().delete(slug, if_match(request))
    return Response(body="", status_code=204)
