"""Photos: presigned direct uploads to S3, listing and deletion (the worker is thumbnails.py)."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib.core import defaults, validation
from chalicelib.core.config import settings
from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import ValidationError
from chalicelib.store import aws
from chalicelib.store.models import PhotoModel
from chalicelib.store.storage import get_or_not_found, query_page, storage_errors

log = logging.getLogger(__name__)

Json = dict[str, Any]

CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_TTL = timedelta(minutes=10)
THUMBNAIL_URL_TTL = timedelta(hours=1)
# A photo still pending this long after its upload URL expired never got its file: TTL removes it.
PENDING_TTL = timedelta(days=2)
THUMBNAIL_SIZES = ("small", "medium", "large")
FIELDS = ("content_type", "size", "filename")


def upload_key(user_id: str, photo_id: str) -> str:
    return f"uploads/{user_id}/{photo_id}"


def thumbnail_key(user_id: str, photo_id: str, size: str) -> str:
    return f"thumbnails/{user_id}/{photo_id}/{size}.jpg"


def delete_objects(s3: Any, bucket: str, keys: list[str]) -> None:
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})


def _clean(data: Json) -> Json:
    validation.reject_unknown(data, FIELDS)
    content_type = data.get("content_type")
    if content_type not in CONTENT_TYPES:
        raise ValidationError(f"content_type must be one of {', '.join(CONTENT_TYPES)}")
    size = validation.integer(data.get("size"), "size")
    if not 1 <= size <= MAX_UPLOAD_BYTES:
        raise ValidationError(f"size must be from 1 to {MAX_UPLOAD_BYTES} bytes (10 MiB)")
    filename = data.get("filename")
    if filename is not None:
        filename = posixpath.basename(
            validation.text(filename, "filename", min_len=1, max_len=255, strip=True).replace(
                "\\", "/"
            )
        )
    return {"content_type": content_type, "size": size, "filename": filename or None}


class PhotoService:
    def __init__(
        self,
        *,
        s3: Any = None,
        bucket: str | None = None,
        cursor_secret: bytes | None = None,
        clock: defaults.Clock = defaults.utcnow,
        new_id: Callable[[], str] = defaults.new_id,
    ) -> None:
        self._s3 = s3 if s3 is not None else aws.client("s3")
        self._bucket = bucket or settings().media_bucket
        self._cursors = CursorCodec(
            cursor_secret if cursor_secret is not None else aws.cursor_secret
        )
        self._clock = clock
        self._new_id = new_id

    # -- the API side -------------------------------------------------------------------------

    def create(self, user_id: str, data: Json) -> Json:
        """A pending photo and the presigned POST that may upload exactly that file."""
        fields = _clean(data)
        now = self._clock()
        stamp = validation.format_time(now)
        photo_id = self._new_id()
        item = PhotoModel(
            user_id,
            photo_id,
            status="pending",
            content_type=fields["content_type"],
            size=fields["size"],
            filename=fields["filename"],
            created_at=stamp,
            created_key=f"{stamp}#{photo_id}",
            updated_at=stamp,
            expires_at=now + PENDING_TTL,
        )
        with storage_errors():
            item.save(condition=PhotoModel.photo_id.does_not_exist())
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=upload_key(user_id, photo_id),
            Fields={"Content-Type": fields["content_type"]},
            Conditions=[
                {"Content-Type": fields["content_type"]},
                ["content-length-range", 1, fields["size"]],
            ],
            ExpiresIn=int(UPLOAD_TTL.total_seconds()),
        )
        return {
            "photo": self._to_json(item),
            "upload": {
                "url": post["url"],
                "fields": post["fields"],
                "expires_at": validation.format_time(now + UPLOAD_TTL),
            },
        }

    def get(self, user_id: str, photo_id: str) -> Json:
        return self._to_json(self._load(user_id, photo_id))

    def list_photos(self, user_id: str, *, limit: int, cursor: str | None = None) -> Json:
        rows, next_cursor = query_page(
            PhotoModel.by_created,
            user_id,
            key_names=("user_id", "photo_id", "created_key"),
            condition=None,
            scope=f"photos|{user_id}",
            limit=limit,
            cursor=cursor,
            cursors=self._cursors,
            forward=False,
        )
        return {"items": [self._to_json(r) for r in rows], "next_cursor": next_cursor}

    def delete(self, user_id: str, photo_id: str) -> None:
        item = self._load(user_id, photo_id)
        with storage_errors():
            # Deleted whatever a thumbnail worker did meanwhile (it then cleans up itself).
            item.delete(add_version_condition=False)
        # After the record: a worker that finishes later finds no record and cleans up itself.
        delete_objects(
            self._s3,
            self._bucket,
            [upload_key(user_id, photo_id)]
            + [thumbnail_key(user_id, photo_id, s) for s in THUMBNAIL_SIZES],
        )

    def _load(self, user_id: str, photo_id: str) -> PhotoModel:
        validation.known_id(photo_id, "photo")
        return get_or_not_found(PhotoModel, user_id, photo_id, what="photo")

    def _to_json(self, item: PhotoModel) -> Json:
        out: Json = {
            "id": item.photo_id,
            "status": item.status,
            "content_type": item.content_type,
            "size": item.size,
            "filename": item.filename,
            "width": item.width,
            "height": item.height,
            "created_at": item.created_at,
            "version": item.version,
        }
        if item.status == "ready":
            out["thumbnails"] = {
                size: self._s3.generate_presigned_url(
                    "get_object",
                    Params={
                        "Bucket": self._bucket,
                        "Key": thumbnail_key(item.user_id, item.photo_id, size),
                    },
                    ExpiresIn=int(THUMBNAIL_URL_TTL.total_seconds()),
                )
                for size in THUMBNAIL_SIZES
            }
        if item.status == "failed":
            out["error"] = item.error
        return out
