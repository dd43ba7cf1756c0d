"""Routes for /photos: thin adapters over PhotoService."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.photos import photos
from chalicelib.web.http import (
    BODYLESS,
    Headers,
    cognito,
    domain_errors,
    etag,
    json_body,
    not_modified,
    page_limit,
    query,
    user_id,
)

bp = Blueprint(__name__)


@bp.route("/photos", methods=["POST"], authorizer=cognito)
@domain_errors
def create_photo() -> Response:
    request = bp.current_request
    result = photos().create(user_id(request), json_body(request))
    photo = result["photo"]
    headers: Headers = {"Location": f"/photos/{photo['id']}", "ETag": etag(photo["version"])}
    return Response(body=result, status_code=201, headers=headers)


@bp.route("/photos", methods=["GET"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def list_photos() -> dict[str, Any]:
    request = bp.current_request
    return photos().list_photos(
        user_id(request),
        limit=page_limit(request),
        cursor=query(request, "cursor"),
    )


@bp.route("/photos/{photo_id}", methods=["GET"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def get_photo(photo_id: str) -> Response:
    request = bp.current_request
    photo = photos().get(user_id(request), photo_id)
    headers: Headers = {"ETag": etag(photo["version"])}
    if not_modified(request, str(photo["version"])):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=photo, headers=headers)


@bp.route("/photos/{photo_id}", methods=["DELETE"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def delete_photo(photo_id: str) -> Response:
    request = bp.current_request
    photos().delete(user_id(request), photo_id)
    return Response(body="", status_code=204)
