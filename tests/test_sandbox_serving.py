"""sandbox.serving.ThreadPoolMixIn: connections are served concurrently by a fixed pool of
threads (none started per connection), and closing the server lets the pool go."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from sandbox.serving import ThreadPoolMixIn

CLIENTS = 12


class _Server(ThreadPoolMixIn, socketserver.TCPServer):
    pool_size = 4
    daemon_threads = True


class _Handler(socketserver.StreamRequestHandler):
    # All clients wait here together: the test fails unless the pool serves them at once.
    gate = threading.Barrier(4, timeout=10)

    def handle(self) -> None:
        line = self.rfile.readline()
        if line.startswith(b"wait"):
            self.gate.wait()
        self.wfile.write(b"echo " + line)


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=running.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()
    thread.join(5)


def _ask(server: _Server, line: bytes) -> bytes:
    port = int(server.server_address[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(line + b"\n")
        return sock.makefile("rb").readline()


def test_pool_serves_connections_at_once(server: _Server) -> None:
    answers: list[bytes] = []
    clients = [
        threading.Thread(target=lambda: answers.append(_ask(server, b"wait"))) for _ in range(4)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(15)
    assert answers == [b"echo wait\n"] * 4


def test_pool_starts_no_thread_per_connection(server: _Server) -> None:
    before = set(threading.enumerate())
    for n in range(CLIENTS):
        assert _ask(server, f"{n}".encode()) == f"echo {n}\n".encode()
    assert len(set(threading.enumerate()) - before) == server.pool_size


def test_closing_the_server_ends_its_pool(server: _Server) -> None:
    before = set(threading.enumerate())
    _ask(server, b"hello")
    workers = set(threading.enumerate()) - before
    assert len(workers) == server.pool_size
    server.shutdown()
    server.server_close()
    for worker in workers:
        worker.join(5)
    assert not any(worker.is_alive() for worker in workers)
