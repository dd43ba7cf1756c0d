"""The warm-up event: its shape, and the API function's short answer to it before any routing."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

# API Gateway's proxy events always carry requestContext and httpMethod; this key never appears
# at the top level of one, so no HTTP client can produce a warm-up event.
WARM_KEY = "mytodolist-warm-up"
MAX_HOLD_MS = 1000

# Not uuid: importing it (and platform) costs every cold start a millisecond or two.
CONTAINER_ID = os.urandom(16).hex()
_state = {"cold": True}
# One invocation at a time per Lambda container; the lock is for local servers with threads.
_lock = threading.Lock()


def warm_event(hold_ms: int) -> dict[str, Any]:
    return {WARM_KEY: {"hold_ms": hold_ms}}


def is_warm_event(event: object) -> bool:
    return (
        isinstance(event, dict)
        and WARM_KEY in event
        and "requestContext" not in event
        and "httpMethod" not in event
    )


def answer(event: dict[str, Any], preload: Callable[[], None]) -> dict[str, Any]:
    """Load what a first request needs (only once), hold briefly, say whether we were cold."""
    with _lock:
        was_cold = _state["cold"]
        if was_cold:
            preload()
            _state["cold"] = False
    spec = event.get(WARM_KEY) or {}
    hold = spec.get("hold_ms", 0) if isinstance(spec, dict) else 0
    if isinstance(hold, int) and not isinstance(hold, bool) and hold > 0:
        # Held open, concurrent invocations cannot reuse this container: each lands on its own.
        time.sleep(min(hold, MAX_HOLD_MS) / 1000)
    return {
        "warm": True,
        "cold": was_cold,
        "container": CONTAINER_ID,
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
    }
