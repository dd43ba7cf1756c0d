"""The warmer: invokes the API function N times at once so N containers stay warm."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.warm import warm_event

log = logging.getLogger(__name__)

Invoker = Callable[[bytes], dict[str, Any]]
HOLD_MS = 200


def lambda_invoker(function_name: str) -> Invoker:
    """Invoke the function synchronously through lambda:Invoke; returns its decoded answer."""
    from chalicelib.services import aws  # noqa: PLC0415 - only the warmer needs the client

    client = aws.client("lambda")

    def invoke(payload: bytes) -> dict[str, Any]:
        response = client.invoke(
            FunctionName=function_name, InvocationType="RequestResponse", Payload=payload
        )
        answer: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(f"warm-up invocation failed: {answer}")
        return answer

    return invoke


class WarmerService:
    def __init__(self, invoke: Invoker, *, concurrency: int, hold_ms: int = HOLD_MS) -> None:
        self._invoke = invoke
        self._concurrency = concurrency
        self._hold_ms = hold_ms

    def warm(self) -> dict[str, Any]:
        """Invoke `concurrency` times at once; report how many distinct containers answered."""
        if self._concurrency < 1:
            return {"invoked": 0, "containers": 0, "cold": 0, "failed": 0}
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
