"""What the sandbox's servers share: serving on a daemon thread, a port, a URL and a clean stop,
and connections served by a pool of threads."""

from __future__ import annotations

import queue
import socketserver
import threading
from typing import Any

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


class ThreadPoolMixIn(socketserver.ThreadingMixIn):
    """Serve each connection on one of a pool of threads, not on a thread started for it.

    socketserver's ThreadingMixIn starts a thread per connection and waits until it runs before
    it accepts the next. moto's server (werkzeug) closes every connection, so each AWS call is a
    new one: under load its accept loop spent two thirds of the time waiting for new threads to
    be scheduled, and every call queued behind it. A pool's threads are already running (daemon
    threads, as ThreadingMixIn's are: a stuck connection never holds up the exit).
    """

    pool_size = 48
    _jobs: queue.SimpleQueue[tuple[Any, Any] | None] | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        if self._jobs is None:  # only the serving thread calls this
            self._jobs = queue.SimpleQueue()
            for n in range(self.pool_size):
                name = f"{type(self).__name__}-{n}"
                threading.Thread(
                    target=self._work, args=(self._jobs,), name=name, daemon=True
                ).start()
        self._jobs.put((request, client_address))

    def _work(self, jobs: queue.SimpleQueue[tuple[Any, Any] | None]) -> None:
        while (job := jobs.get()) is not None:
            self.process_request_thread(*job)

    def server_close(self) -> None:
        super().server_close()
        if self._jobs is not None:
            for _ in range(self.pool_size):
                self._jobs.put(None)
