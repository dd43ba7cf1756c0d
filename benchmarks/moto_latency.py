"""The benchmarks' AWS: the sandbox's moto server on a free port, N ms on each DynamoDB call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox.aws import MotoServer
from sandbox.faults import Faults
from sandbox.resources import create_tables


@contextmanager
def moto_server(latency_ms: int) -> Iterator[None]:
    """The sandbox's moto server with `latency_ms` on every DynamoDB call; the app points at it."""
    spec = f"dynamodb:*:latency{latency_ms}ms:1" if latency_ms else ""
    server = MotoServer("127.0.0.1", 0, faults=Faults.start(spec, seed="1"))
    server.start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    try:
        create_tables("test")
        yield
    finally:
        server.stop()
