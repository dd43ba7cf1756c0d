"""What the sandbox puts in front of moto's WSGI app: S3's POST-policy checks, and control routes.

Control routes live under /_sandbox/ on the AWS endpoint, for the CLI in another process:
`GET /_sandbox/outbox` (the sent mails, as moto's data.json shows them), `POST
/_sandbox/outbox/clear`, `POST /_sandbox/snapshot` (save the state now), `GET /_sandbox/faults`,
`POST /_sandbox/faults` (body: a SPEC) and `POST /_sandbox/faults/clear` (sandbox.faults).
An action gets the request's body; a ValueError it raises is a 400 `{"error": message}`.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.formparser import parse_form_data

from sandbox.s3post import PostRefused, check_post

log = logging.getLogger("sandbox.s3")

PREFIX = "/_sandbox/"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Action = Callable[[bytes], Any]


def _respond(
    start_response: Callable[..., Any], status: int, body: bytes, content_type: str
) -> list[bytes]:
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "")
    start_response(
        f"{status} {reason}".strip(),
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _form_upload(environ: dict[str, Any]) -> tuple[str, bytes] | None:
    """The bucket of a path-style form POST to a bucket, and its body; None for anything else."""
    path = environ.get("PATH_INFO", "")
    parts = [p for p in path.split("/") if p]
    content_type = environ.get("CONTENT_TYPE", "")
    if (
        environ.get("REQUEST_METHOD") != "POST"
        or len(parts) != 1
        or environ.get("QUERY_STRING")
        or not content_type.startswith("multipart/form-data")
    ):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return parts[0], environ["wsgi.input"].read(length)


class SandboxAwsApp:
    """moto's app behind the sandbox's own checks and control routes."""

    def __init__(self, moto: WSGIApp, secrets: dict[str, str]) -> None:
        self._moto = moto
        self._secrets = secrets
        self.actions: dict[tuple[str, str], Action] = {}
        # Whole WSGI apps under a path of their own (the WebSocket API's @connections).
        self.mounts: dict[str, WSGIApp] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, mounted in self.mounts.items():
            if path.startswith(prefix + "/"):
                return mounted(environ, start_response)
        if path.startswith(PREFIX):
            return self._control(environ, start_response)
        upload = _form_upload(environ)
        if upload is not None:
            bucket, body = upload
            refused = self._refusal(environ, bucket, body)
            if refused is not None:
                log.info("S3 refused an upload to %s: %s %s", bucket, refused.code, refused)
                return _respond(
                    start_response, refused.status, refused.xml(uuid.uuid4().hex), "application/xml"
                )
            # moto reads the body again.
            environ["wsgi.input"] = io.BytesIO(body)
        return self._moto(environ, start_response)

    def _refusal(self, environ: dict[str, Any], bucket: str, body: bytes) -> PostRefused | None:
        copy = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        _, form, files = parse_form_data(copy)
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        try:
            check_post(bucket, dict(form.items()), size, self._secrets)
        except PostRefused as e:
            return e
        return None

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        key = (environ.get("REQUEST_METHOD", "GET"), environ["PATH_INFO"][len(PREFIX) :])
        action = self.actions.get(key)
        if action is None:
            body = json.dumps({"error": f"no sandbox action {key[0]} {PREFIX}{key[1]}"})
            return _respond(start_response, 404, body.encode(), "application/json")
        length = str(environ.get("CONTENT_LENGTH") or "0")
        request = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        try:
            answer = json.dumps(action(request), default=str)
        except ValueError as e:
            error = json.dumps({"error": str(e)}).encode()
            return _respond(start_response, 400, error, "application/json")
        return _respond(start_response, 200, answer.encode(), "application/json")
