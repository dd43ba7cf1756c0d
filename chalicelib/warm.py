"""Keeping API containers warm: the warm-up event, the API's short answer to it, the warmer."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Chalice

from chalicelib.core import service

if TYPE_CHECKING:
    from chalicelib.core.config import Settings

log = logging.getLogger(__name__)

# API Gateway's proxy events always carry requestContext and httpMethod; this key never appears
# at the top level of one, so no HTTP client can produce a warm-up event.
WARM_KEY = "mytodolist-warm-up"
MAX_HOLD_MS = 1000
HOLD_MS = 200

# Not uuid: importing it (and platform) costs every cold start a millisecond or two.
_state: dict[str, Any] = {"cold": True, "container": os.urandom(16).hex()}
# One invocation at a time per Lambda container; the lock is for local servers with threads.
_lock = threading.Lock()

Invoker = Callable[[bytes], dict[str, Any]]


def warm_event(hold_ms: int) -> dict[str, Any]:
    return {WARM_KEY: {"hold_ms": hold_ms}}


def is_warm_event(event: object) -> bool:
    return (
        isinstance(event, dict)
        and WARM_KEY in event
        and "requestContext" not in event
        and "httpMethod" not in event
    )


def preload() -> None:
    """What a first request would otherwise pay for: service modules, models, AWS clients."""
    from chalicelib import blog, photos, todos  # noqa: PLC0415 - what a first request pays for
    from chalicelib.store.models import ALL_MODELS  # noqa: PLC0415

    todos.todos()
    photos.photos()
    blog.post_service()
    blog.subscriptions()
    for model in ALL_MODELS:
        # Builds the botocore client (endpoint, credentials, service model); sends nothing.
        model._get_connection().connection.client  # noqa: B018, SLF001


def restored() -> None:
    """A container restored from a SnapStart snapshot (taken after `preload`) is warm, and
    has its own id: the warmer counts containers by it, and the snapshot's is everyone's."""
    with _lock:
        _state["cold"] = False
        _state["container"] = os.urandom(16).hex()


def answer(event: dict[str, Any], function_name: str) -> dict[str, Any]:
    """Load what a first request needs (only once), hold briefly, say whether we were cold."""
    from chalicelib.core import telemetry  # noqa: PLC0415

    telemetry.configure(telemetry.log_level())
    log.info("warm-up", extra={"event": "warm-up", "cold_start": telemetry.take_cold_start()})
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
    container = _state["container"]
    return {"warm": True, "cold": was_cold, "container": container, "function": function_name}


class WarmableChalice(Chalice):
    """The Chalice app whose API function answers warm-up invocations before anything else."""

    def __call__(self, event: Any, context: Any) -> Any:
        # Before routing, auth and storage: a warm-up must cost nothing but the preload.
        if is_warm_event(event):
            return answer(event, getattr(context, "function_name", "local"))
        return super().__call__(event, context)


def lambda_invoker(function_name: str) -> Invoker:
    """Invoke the function synchronously through lambda:Invoke; returns its decoded answer."""
    from chalicelib.store import aws  # noqa: PLC0415 - only the warmer needs the client

    client = aws.client("lambda")

    def invoke(payload: bytes) -> dict[str, Any]:
        response = client.invoke(
            FunctionName=function_name, InvocationType="RequestResponse", Payload=payload
        )
        result: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(f"warm-up invocation failed: {result}")
        return result

    return invoke


def in_process_invoker(function_name: str) -> Invoker:
    """Answer in this process, as the API function would: for a sandbox that serves the API in
    the same process (moto cannot run Lambda functions)."""

    def invoke(payload: bytes) -> dict[str, Any]:
        return answer(json.loads(payload), function_name)

    return invoke


INVOKERS: dict[str, Callable[[str], Invoker]] = {
    "lambda": lambda_invoker,
    "in-process": in_process_invoker,
}


@service
def warmer() -> WarmerService:
    """The warmer of this stage, built on first use (app.py's schedule handler calls it)."""
    from chalicelib.core.config import settings  # noqa: PLC0415

    return warmer_from(settings())


def warmer_from(config: Settings) -> WarmerService:
    """The warmer as the settings describe it: how it reaches the API, how many at once."""
    invoker = INVOKERS[config.warm_invoker](config.api_function_name)
    return WarmerService(invoker, concurrency=config.warm_concurrency)


class WarmerService:
    """Invokes the API function N times at once so N containers stay warm."""

    def __init__(self, invoke: Invoker, *, concurrency: int, hold_ms: int = HOLD_MS) -> None:
        self._invoke = invoke
        self._concurrency = concurrency
        self._hold_ms = hold_ms

    def warm(self) -> dict[str, Any]:
        """Invoke `concurrency` times at once; report how many distinct containers answered."""
        if self._concurrency < 1:
            return {"invoked": 0, "containers": 0, "cold": 0, "failed": 0}
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - the warmer's only

        payload = json.dumps(warm_event(self._hold_ms)).encode()
        answers: list[dict[str, Any]] = []
        failed = 0
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            futures = [pool.submit(self._invoke, payload) for _ in range(self._concurrency)]
            for future in futures:
                try:
                    answers.append(future.result())
                except Exception:
                    # One failed invocation leaves one container cold; the others still count.
                    log.exception("a warm-up invocation failed")
                    failed += 1
        report = {
            "invoked": self._concurrency,
            "containers": len({a.get("container") for a in answers if a.get("warm")}),
            "cold": sum(1 for a in answers if a.get("cold")),
            "failed": failed,
        }
        log.info("warmed %(containers)d containers (%(cold)d were cold)", report)
        return report
