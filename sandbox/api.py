"""The API server: the Chalice app under Chalice's local server, strict token checks, envelopes."""

from __future__ import annotations

import functools
import json
import logging
import socketserver
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    RouteMatcher,
)

from sandbox import logs
from sandbox.cognito import TokenVerifier, install
from sandbox.gateway import gateway_response
from sandbox.serving import ThreadedServer
from sandbox.settings import BASE_STAGE, CHALICE_CONFIG, ROOT

_ERROR_CODES = {401: "UnauthorizedError", 403: "ForbiddenError"}
# http.server's own refusals, said as a client developer can act on them.
_REFUSALS = {
    HTTPStatus.REQUEST_URI_TOO_LONG: "the URL is too long: send long values in a request body",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        "the request's headers are too large or too many: send fewer or shorter headers"
    ),
}
requests_log = logging.getLogger("sandbox.api")


def error_body(status: int, body: bytes | str | None) -> bytes:
    """A local gateway error's body in the app's envelope (Chalice's own is {"message": ...})."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = {"message": text}
    if isinstance(data, dict) and "Code" in data and "Message" in data:
        return json.dumps(data).encode()
    message = data.get("message") if isinstance(data, dict) else None
    envelope = {
        "Code": _ERROR_CODES.get(status, "InternalServerError"),
        "Message": message or "the request was refused",
    }
    return json.dumps(envelope).encode()


class SandboxRequestHandler(ChaliceRequestHandler):
    """Chalice's local request handler with real Cognito checks; every failure is an envelope."""

    def __init__(
        self,
        request: Any,
        client_address: tuple[str, int],
        server: Any,
        *,
        app_object: Chalice,
        config: Config,
        verifier: TokenVerifier,
    ) -> None:
        self.local_gateway = LocalGateway(app_object, config)
        install(self.local_gateway, app_object, verifier)
        self._routes = RouteMatcher(list(app_object.routes))
        self._methods = {path: set(entries) for path, entries in app_object.routes.items()}
        # Not ChaliceRequestHandler.__init__: it would serve the request before install() ran.
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _generic_handle(self) -> None:
        length = self.headers.get("content-length", "0")
        if not (length.isascii() and length.isdigit()):
            # Chalice's int() of it would drop the connection; API Gateway says 400.
            self._send_gateway("DEFAULT_4XX", f"Content-Length is not a number: {length!r}")
            return
        headers, body = self._parse_payload()
        if not self._has_route():
            # Chalice's answer echoes the Authorization header back (a non-ASCII one drops the
            # connection) or is an HTML 501; API Gateway answers an unknown path or method
            # with its MISSING_AUTHENTICATION_TOKEN response.
            self._send_gateway("MISSING_AUTHENTICATION_TOKEN")
            return
        try:
            with logs.handling("api_handler"):
                response = self.local_gateway.handle_request(
                    method=self.command, path=self.path, headers=headers, body=body
                )
        except LocalGatewayException as e:
            self._send_http_response(e.CODE, dict(e.headers), error_body(e.CODE, e.body))
            return
        except Exception:
            # A dropped connection tells the developer nothing; the log and a 500 do.
            self.log_error("unhandled error:\n%s", traceback.format_exc())
            self._send_envelope(500, "InternalServerError", "the sandbox failed; see its log")
            return
        out_headers = dict(response["headers"])
        out_headers.update(response.get("multiValueHeaders") or {})
        response = self._handle_binary(response)
        self._send_http_response(response["statusCode"], out_headers, response["body"])

    def _has_route(self) -> bool:
        try:
            found = self._routes.match_route(self.path)
        except ValueError:
            return False
        # Every route answers CORS preflights (the app's default CORS config).
        return self.command in self._methods[found.route] or self.command == "OPTIONS"

    def _send_gateway(self, kind: str, message: str | None = None) -> None:
        status, headers, body = gateway_response(kind, message)
        self._send_http_response(status, headers, body)

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method without a do_<METHOD> with an HTML 501; API Gateway
        # treats TRACE and made-up verbs as any other method no route has.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line or a header too long, too many headers, a
        malformed request line) in the envelope that API Gateway's DEFAULT_4XX answers, not HTML."""
        self.log_error("code %d, message %s", code, message)
        said = _REFUSALS.get(HTTPStatus(code)) or message or HTTPStatus(code).phrase
        status, headers, body = gateway_response(
            "DEFAULT_5XX" if code >= 500 else "DEFAULT_4XX", said, status=code
        )
        # What the refused request holds is unread: the connection cannot carry another. A
        # request line too broken to name its version still gets a status line and headers.
        self.close_connection = True
        self.request_version = self.protocol_version
        self._send_http_response(status, {**headers, "Connection": "close"}, body)

    def log_message(self, format: str, *args: Any) -> None:
        # Through logging, not straight to stderr: the request line's query may hold a token,
        # which the log's redactor takes out as it does from every other record.
        requests_log.info("%s %s", self.address_string(), format % args)

    def _send_envelope(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"Code": code, "Message": message}).encode()
        self._send_http_response(status, {"Content-Type": "application/json"}, body)

    # The parent binds its own _generic_handle to these names, so they must be rebound here.
    do_GET = do_PUT = do_POST = do_HEAD = _generic_handle  # noqa: N815 - http.server's names
    do_DELETE = do_PATCH = do_OPTIONS = _generic_handle  # noqa: N815


def serve_on_threads(app: Chalice) -> None:
    """Give the app a current_request per thread, as `chalice local` does for its server."""
    if not isinstance(app, LocalChalice):
        app.__class__ = type(f"Local{type(app).__name__}", (LocalChalice, type(app)), {})


def chalice_config(app: Chalice, environment: dict[str, str]) -> Config:
    """The base stage's Chalice config (timeouts, memory) with the sandbox's variables."""
    return Config(
        chalice_stage=BASE_STAGE,
        user_provided_params={
            "chalice_app": app,
            "project_dir": str(ROOT),
            "environment_variables": environment,
        },
        config_from_disk=json.loads(CHALICE_CONFIG.read_text()),
    )


class ApiServer(ThreadedServer):
    """The Chalice app behind Chalice's local server, with strict Cognito checks."""

    name = "api"

    def __init__(
        self, app: Chalice, config: Config, verifier: TokenVerifier, host: str, port: int
    ) -> None:
        super().__init__(host, port)
        self._app = app
        self._config = config
        self._verifier = verifier

    def _bind(self) -> socketserver.BaseServer:
        # Refuse what `chalice deploy` would refuse, as `chalice local` does.
        validate_routes(self._app.routes)
        serve_on_threads(self._app)
        handler = functools.partial(SandboxRequestHandler, verifier=self._verifier)
        try:
            local = LocalDevServer(
                self._app, self._config, self._host, self._port, handler_cls=handler
            )
        except OSError as e:
            raise self.cannot_listen("the API", "SANDBOX_API_PORT", e) from e
        server: socketserver.BaseServer = local.server
        return server
