"""The client-version check of every request: a middleware in front of every route."""

from __future__ import annotations

from collections.abc import Callable

from chalice import Response
from chalice.app import Request

from chalicelib.core import errors
from chalicelib.core.config import settings
from chalicelib.web.http import API_CORS, error_response


def check_client_version(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """426 for a client older than the stage's MIN_CLIENT_VERSION, 400 for a malformed
    X-Client-Version, before any route reads the request (no header: served)."""
    from chalicelib.core import versions  # noqa: PLC0415 - first request, not `import app`

    try:
        versions.require(request.headers.get("x-client-version"), settings().min_client_version)
    except errors.DomainError as e:
        refused = error_response(e)
        # Answered before the route, so without the CORS headers Chalice adds to a route's own
        # answers: a browser could not read why it was refused.
        refused.headers.update(API_CORS.get_access_control_headers())
        return refused
    return get_response(request)
