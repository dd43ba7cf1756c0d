"""Lambda SnapStart runtime hooks: what the snapshot holds, and what a restored container redoes.

Where SnapStart is on (stages with "snapstart": true; deploy/snapstart.py), Lambda imports `app`
once per published version, runs `before_snapshot`, and snapshots the microVM; each new container
resumes from that snapshot, maybe days later and many at once, and runs `after_restore` before
its first invocation. So the snapshot holds every module and client a request needs, and nothing
unique (random state, the container id), nothing secret (the cursor key; AWS credentials, which
clients look up on their first request) and no open connection.

`snapshot_restore_py` exists only in Lambda's Python runtime: elsewhere `register()` does
nothing. Imported by app.py, so it imports nothing heavy itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Final

from chalicelib import warm
from chalicelib.core.config import function_handler

log = logging.getLogger(__name__)

# The AWS clients each function's requests use besides its PynamoDB models'.
CLIENTS: Final = {"api_handler": ("s3", "secretsmanager"), "make_thumbnails": ("s3",)}


def register() -> bool:
    """Register the hooks with Lambda's runtime; False where there is none (not Lambda)."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]  # noqa: PLC0415
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True


def _thumbnail_worker() -> None:
    from PIL import Image  # noqa: PLC0415 - the worker's own library, loaded into its snapshot

    from chalicelib import photos  # noqa: PLC0415
    from chalicelib.store.models import PhotoModel  # noqa: PLC0415

    Image.init()  # every format plugin, which Pillow would otherwise load on the first decode
    photos.thumbnail_service()
    PhotoModel._get_connection()  # noqa: SLF001 - builds its client on the shared session


PRELOADS: Final[dict[str, Callable[[], None]]] = {
    "api_handler": warm.preload,
    "make_thumbnails": _thumbnail_worker,
}


def before_snapshot() -> None:
    """Load what this function's first request needs: modules, models, the botocore session
    and clients. It reads no credential and no secret, and sends nothing."""
    from chalicelib.store import aws  # noqa: PLC0415 - botocore: not at `import app`

    handler = function_handler() or "api_handler"
    PRELOADS.get(handler, warm.preload)()
    for service in CLIENTS.get(handler, ()):
        aws.client(service)
    log.info("ready for the snapshot", extra={"event": "before-snapshot", "handler": handler})


def after_restore() -> None:
    """Make this container its own: new random state and id; no credential, secret or pooled
    connection from the snapshot (each is looked up or opened again when first needed)."""
    import random  # noqa: PLC0415 - not at `import app` (it brings hashlib's sha2 and bisect)

    from chalicelib.store import aws  # noqa: PLC0415 - loaded before the snapshot

    random.seed(os.urandom(32))
    warm.restored()
    aws.forget_secrets()
    aws.close_connections()
