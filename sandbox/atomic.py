"""DynamoDB applies each write atomically; moto does not across threads: one lock makes it so."""

from __future__ import annotations

import threading
from typing import Any

from sandbox.dynamodb_json import make_responses_fast
from sandbox.dynamodb_query import make_queries_partitioned
from sandbox.transactions import make_transactions_cheap

_LOCK = threading.RLock()
_installed = False


def dynamodb_lock() -> threading.RLock:
    """The lock every DynamoDB action holds; whoever reads moto's tables directly takes it too."""
    return _LOCK


def make_dynamodb_atomic() -> None:
    """Serialise moto's DynamoDB actions (once per process), so that a condition check and its
    write cannot interleave with another thread's, as they cannot in DynamoDB; with nothing
    interleaving, a transaction's rollback needs only its own items (sandbox.transactions).
    Item answers are written as JSON directly (sandbox.dynamodb_json) and queries read only their
    partition (sandbox.dynamodb_query): the lock is held less."""
    global _installed  # noqa: PLW0603 - a process-wide patch, applied once
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415 - slow import

    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with _LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    make_transactions_cheap()
    make_responses_fast()
    make_queries_partitioned()
    _installed = True
