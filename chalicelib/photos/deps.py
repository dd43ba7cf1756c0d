"""The photos services, each imported and built on first use, then reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import service

if TYPE_CHECKING:
    from chalicelib.photos.service import PhotoService
    from chalicelib.photos.thumbnails import ThumbnailService


@service
def photos() -> PhotoService:
    from chalicelib.photos.service import PhotoService  # noqa: PLC0415 - keeps cold start lean

    return PhotoService()


@service
def thumbnails() -> ThumbnailService:
    from chalicelib.photos.thumbnails import ThumbnailService  # noqa: PLC0415

    return ThumbnailService()
