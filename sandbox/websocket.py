"""The WebSocket API in the sandbox: what API Gateway does for the app's WebSocket handlers.

A socket that opens is a `$connect` event (the handler's answer decides the handshake: a non-2xx
status refuses it, as API Gateway does), each frame a `$default` event, a close a `$disconnect`
event, all shaped as API Gateway shapes them. What the app posts to a connection through the
management API (`POST /@connections/{id}`, served under the AWS endpoint at MANAGEMENT_PATH) goes
to that socket; a connection that is not open answers 410 GoneException. The protocol itself is
the `websockets` library's.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from chalice.local import LambdaContext
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from sandbox import logs
from sandbox.settings import SandboxError

log = logging.getLogger("sandbox.websocket")

# Where the app's management calls go (WEBSOCKET_MANAGEMENT_URL = AWS endpoint + this path).
MANAGEMENT_PATH = "/_sandbox/websocket"
API_ID = "sandbox"
# API Gateway's frame limit is 32 KB and its message limit 128 KB.
MAX_MESSAGE = 128 * 1024
_STOP_TIMEOUT = 5.0

Handler = Callable[[dict[str, Any], Any], Any]
StartResponse = Callable[..., Any]


def connection_id() -> str:
    """An id shaped like API Gateway's (16 characters of base64), safe in a URL path."""
    return base64.urlsafe_b64encode(os.urandom(10)).decode()


def _request_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class WebSocketServer:
    """A sandbox component: the WebSocket API on its own port, one thread per connection."""

    name = "websocket"

    def __init__(
        self, handlers: dict[str, Handler], host: str, port: int, stage: str = "api"
    ) -> None:
        self._handlers = handlers
        self._host = host
        self._port = port
        self._stage = stage
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: dict[str, ServerConnection] = {}
        self._ids: dict[ServerConnection, str] = {}
        self._lock = threading.Lock()

    # -- the component ------------------------------------------------------------------------

    def start(self) -> None:
        # Every refused handshake and closed socket would be logged; the app's own log is enough.
        logging.getLogger("websockets").setLevel(logging.CRITICAL)
        try:
            self._server = serve(
                self._session,
                self._host,
                self._port,
                process_request=self._connect,
                max_size=MAX_MESSAGE,
                # API Gateway sends no pings: clients keep the connection alive themselves.
                ping_interval=None,
                compression=None,
            )
        except OSError as e:
            raise SandboxError(
                f"cannot listen on {self._host}:{self._port} for the WebSocket API: "
                f"{e.strerror}; set SANDBOX_WS_PORT to a free port"
            ) from e
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-websocket", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://{self._host}:{self.port}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sockets)

    # -- API Gateway's side ------------------------------------------------------------------

    def _event(self, route: str, kind: str, cid: str, **extra: Any) -> dict[str, Any]:
        now = time.time()
        context = {
            "routeKey": route,
            "eventType": kind,
            "messageDirection": "IN",
            "stage": self._stage,
            "connectionId": cid,
            "domainName": f"{self._host}:{self.port}",
            "apiId": API_ID,
            "requestId": uuid.uuid4().hex,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": _request_time(now),
            "requestTimeEpoch": int(now * 1000),
            "connectedAt": int(now * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
        }
        return {"requestContext": context, "isBase64Encoded": False, **extra}

    def _call(self, route: str, event: dict[str, Any]) -> Any:
        handler = self._handlers.get(route)
        if handler is None:
            return {"statusCode": 200}
        name = {"$connect": "websocket_connect", "$disconnect": "websocket_disconnect"}.get(
            route, "websocket_message"
        )
        context = LambdaContext(function_name=name, memory_size=256, max_runtime_ms=30_000)
        with logs.handling(name):
            return handler(event, context)

    def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake's request: the app's $connect handler says whether it goes on."""
        cid = connection_id()
        query = parse_qs(urlsplit(request.path).query)
        headers = dict(request.headers.raw_items())
        event = self._event(
            "$connect",
            "CONNECT",
            cid,
            headers=headers,
            multiValueHeaders={k: request.headers.get_all(k) for k in headers},
            queryStringParameters={k: v[-1] for k, v in query.items()} or None,
            multiValueQueryStringParameters=query or None,
        )
        try:
            answer = self._call("$connect", event)
        except Exception:
            log.exception("the $connect handler failed")
            return self._refuse(connection, 500, '{"message": "Internal server error"}')
        status = int(answer.get("statusCode", 200)) if isinstance(answer, dict) else 200
        if not 200 <= status < 300:
            return self._refuse(connection, status, str(answer.get("body") or ""))
        with self._lock:
            self._ids[connection] = cid
        return None

    @staticmethod
    def _refuse(connection: ServerConnection, status: int, body: str) -> Response:
        response = connection.respond(status, body)
        response.headers = Headers(
            [(k, v) for k, v in response.headers.raw_items() if k.lower() != "content-type"]
        )
        response.headers["Content-Type"] = "application/json"
        return response

    def _session(self, connection: ServerConnection) -> None:
        """An open socket: its frames go to $default, its end to $disconnect."""
        with self._lock:
            cid = self._ids.pop(connection)
            self._sockets[cid] = connection
        try:
            for message in connection:
                self._message(cid, message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._sockets.pop(cid, None)
            close = connection.close_code or 1006
            event = self._event(
                "$disconnect",
                "DISCONNECT",
                cid,
                disconnectStatusCode=close,
                disconnectReason=connection.close_reason or "",
            )
            try:
                self._call("$disconnect", event)
            except Exception:
                log.exception("the $disconnect handler failed")

    def _message(self, cid: str, message: str | bytes) -> None:
        binary = isinstance(message, bytes)
        body = base64.b64encode(message).decode() if isinstance(message, bytes) else message
        event = self._event("$default", "MESSAGE", cid, body=body)
        event["isBase64Encoded"] = binary
        event["requestContext"]["messageId"] = uuid.uuid4().hex
        try:
            self._call("$default", event)
        except Exception:
            # API Gateway tells the client nothing either; the log says what broke.
            log.exception("the $default handler failed")

    # -- the management API (PostToConnection and friends) -----------------------------------

    def post(self, cid: str, data: bytes) -> bool:
        """Deliver one frame; False if the connection is not open (API Gateway's 410)."""
        with self._lock:
            connection = self._sockets.get(cid)
        if connection is None:
            return False
        try:
            connection.send(data.decode("utf-8", "replace"))
        except ConnectionClosed:
            return False
        return True

    def drop(self, cid: str) -> bool:
        """DeleteConnection: close the socket from the server's side."""
        with self._lock:
            connection = self._sockets.get(cid)
        if connection is None:
            return False
        connection.close(1000, "closed by the app")
        return True

    def management_app(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """A WSGI app for MANAGEMENT_PATH/{stage}/@connections/{id}, as API Gateway serves it."""
        _, marker, rest = environ.get("PATH_INFO", "").partition("/@connections/")
        cid = unquote(rest)
        if not marker or not cid or "/" in cid:
            return _answer(start_response, 404, "NotFoundException", "no such management route")
        method = environ.get("REQUEST_METHOD", "GET")
        operations = {"POST": self._post_from, "DELETE": self._delete, "GET": self._get}
        operation = operations.get(method)
        if operation is None:
            return _answer(start_response, 405, "ForbiddenException", f"{method} not allowed")
        body = operation(cid, environ)
        if body is None:
            return _answer(start_response, 410, "GoneException", f"connection {cid} is gone")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    # Each: the 200 answer's body, or None when the connection is not open (410).

    def _post_from(self, cid: str, environ: dict[str, Any]) -> bytes | None:
        data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        return b"" if self.post(cid, data[:MAX_MESSAGE]) else None

    def _delete(self, cid: str, environ: dict[str, Any]) -> bytes | None:
        return b"" if self.drop(cid) else None

    def _get(self, cid: str, environ: dict[str, Any]) -> bytes | None:
        with self._lock:
            open_now = cid in self._sockets
        return json.dumps({"identity": {"sourceIp": "127.0.0.1"}}).encode() if open_now else None


def _answer(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    start_response(
        f"{status} {code}",
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]
