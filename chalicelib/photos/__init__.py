"""Photos: the /photos routes (routes), uploads and listings (service), the thumbnail worker
(thumbnails) and the Pillow side of it (images, imported only by the worker), and here the
accessors that import and build each service on first use (`photos`, `thumbnail_service`).

May import `chalicelib.core`, `chalicelib.store` and `chalicelib.web`; never todos, the blog or
realtime. Routes live here with their services: a change to photos touches this folder only.

The accessors live in this `__init__` (one module fewer at every cold start), so none may share
its name with a submodule (tests/test_layout.py checks).
"""

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
def thumbnail_service() -> ThumbnailService:
    from chalicelib.photos.thumbnails import ThumbnailService  # noqa: PLC0415

    return ThumbnailService()
