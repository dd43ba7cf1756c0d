"""What the sandbox's servers share: serving on a daemon thread, a port, a URL and a clean stop."""

from __future__ import annotations

import socketserver
import threading

from sandbox.settings import SandboxError, url

_STOP_TIMEOUT = 5.0
# How often a server thread looks for shutdown(): Ctrl-C should feel immediate.
_POLL_INTERVAL = 0.1


class ThreadedServer:
    """A sandbox component: `_bind()` makes the server, this class runs and stops it."""

    name = "server"

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> socketserver.BaseServer:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        address = self._server.server_address
        return int(address[1]) if isinstance(address, tuple) else 0

    @property
    def url(self) -> str:
        return url(self._host, self.port)

    def cannot_listen(self, what: str, variable: str, error: OSError) -> SandboxError:
        return SandboxError(
            f"cannot listen on {self._host}:{self._port} for {what}: {error.strerror}; "
            f"set {variable} to a free port"
        )

    def start(self) -> None:
        self._server = self._bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(_POLL_INTERVAL,),
            name=f"sandbox-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)
