"""moto's server in this process, standing in for every AWS service, behind the fault rules,
with the control routes."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer

from sandbox.atomic import make_dynamodb_atomic
from sandbox.aws_faults import FaultInjector, fault_actions
from sandbox.capture import clear_outbox, outbox_data
from sandbox.control import SandboxAwsApp, WSGIApp
from sandbox.env import aws_environment
from sandbox.faults import Faults
from sandbox.moto_dispatch import cache_moto_dispatch
from sandbox.serving import ThreadedServer, ThreadPoolMixIn
from sandbox.settings import DEFAULT_REGION


class PooledWSGIServer(ThreadPoolMixIn, BaseWSGIServer):
    """werkzeug's server, each connection served on a thread of a pool."""

    multithread = True  # werkzeug then speaks HTTP/1.1 and says so in the WSGI environ


class MotoServer(ThreadedServer):
    """moto's server, in this process, standing in for every AWS service."""

    name = "aws"

    def __init__(
        self, host: str, port: int, region: str = DEFAULT_REGION, faults: Faults | None = None
    ) -> None:
        super().__init__(host, port)
        self.faults = faults if faults is not None else Faults()
        # The sandbox's credentials: the one key the S3 POST checks accept.
        credentials = aws_environment("", "")
        self._secrets = {credentials["AWS_ACCESS_KEY_ID"]: credentials["AWS_SECRET_ACCESS_KEY"]}
        self.mounts: dict[str, WSGIApp] = {}
        self.actions: dict[tuple[str, str], Callable[[bytes], Any]] = {
            ("GET", "outbox"): lambda _: outbox_data(region),
            ("POST", "outbox/clear"): lambda _: {"deleted": clear_outbox(region)},
            **fault_actions(self.faults),
        }

    def _bind(self) -> BaseWSGIServer:
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - slow import, only here
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        make_dynamodb_atomic()
        cache_moto_dispatch()
        # Every AWS call the app makes would be logged; the API's own request log is enough.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Bound here because werkzeug calls sys.exit() when it cannot bind a port itself.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(128)
        except OSError as e:
            sock.close()
            raise self.cannot_listen("AWS (moto)", "SANDBOX_AWS_PORT", e) from e
        moto = DomainDispatcherApplication(create_backend_app)
        app = SandboxAwsApp(FaultInjector(moto, self.faults), self._secrets)
        app.actions = self.actions
        app.mounts = self.mounts
        try:
            return PooledWSGIServer(
                self._host,
                sock.getsockname()[1],
                app,
                handler=MotoRequestHandler,
                fd=sock.fileno(),
            )
        finally:
            sock.close()  # werkzeug serves a duplicate of the descriptor
