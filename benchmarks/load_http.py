"""The load's HTTP side: a caller that retries as a good client does, and what it measured.

A write carries an `Idempotency-Key` and is sent again with the same key after a 429 or a 503
(after `Retry-After`), a timeout or a dropped connection. Every attempt is recorded under its
route: latency and status ("timeout" and "error" when nothing came back).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

Json = dict[str, Any]

RETRY_STATUSES = frozenset({429, 503})
# S3's own errors that a client retries (InternalError, SlowDown): S3's answers, not the API's.
S3_RETRY_STATUSES = frozenset({500, 503})
S3_ROUTE_PREFIX = "POST S3"
# A 5xx other than 503, a timeout or a dropped connection may follow a write that was applied.
UNSURE = frozenset({"timeout", "error"})
MAX_ATTEMPTS = 6
MAX_BACKOFF = 2.0


def maybe_applied(status: str) -> bool:
    """Whether a write that got this (or nothing) may have been applied all the same."""
    return status in UNSURE or (status.startswith("5") and status != "503")


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list (share in 0..1)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(share * len(sorted_values) + 0.4999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Recorder:
    """Latencies and statuses per route, from every client thread."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    # The statuses of the requests inside batches, by method.
    items: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, status: str, seconds: float) -> None:
        with self._lock:
            self.latencies.setdefault(route, []).append(seconds)
            self.statuses[(route, status)] += 1

    def add_item(self, route: str, status: str) -> None:
        with self._lock:
            self.items[(route, status)] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def status_totals(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (_, status), count in self.statuses.items():
            totals[status] += count
        return totals

    def table(self) -> list[Json]:
        rows = []
        for route in sorted(self.latencies):
            values = sorted(self.latencies[route])
            rows.append(
                {
                    "route": route,
                    "count": len(values),
                    "p50": percentile(values, 0.50),
                    "p95": percentile(values, 0.95),
                    "p99": percentile(values, 0.99),
                    "max": values[-1],
                    "statuses": {
                        status: count
                        for (r, status), count in sorted(self.statuses.items())
                        if r == route
                    },
                }
            )
        return rows


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    # Some attempt before this answer may have been applied without being answered.
    unsure: bool = False


class Caller:
    """One client's connection to the API (a device, the reader, the editor)."""

    def __init__(
        self,
        api: str,
        recorder: Recorder | None,
        rng: random.Random,
        *,
        token: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.api = api.rstrip("/")
        self.token = token
        self._recorder = recorder
        self._rng = rng
        self._timeout = timeout
        self.session = requests.Session()
        # Loopback only: never through a proxy from the environment.
        self.session.trust_env = False

    def new_key(self) -> str:
        return f"load-{self._rng.getrandbits(64):016x}"

    def call(
        self,
        route: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        key: str | None = None,
    ) -> Answer | None:
        """The final answer (after retries), or None when none came back."""
        sent = self._headers(headers, key, with_body=body is not None)
        data = None if body is None else json.dumps(body)
        unsure = False
        for attempt in range(MAX_ATTEMPTS):
            status, answer = self._attempt(route, method, f"{self.api}{path}", sent, data)
            if answer is not None and answer.status not in RETRY_STATUSES:
                return Answer(answer.status, answer.body, answer.headers, unsure)
            unsure = unsure or maybe_applied(status)
            time.sleep(self._backoff(attempt, answer))
        return None

    def _headers(
        self, headers: dict[str, str] | None, key: str | None, *, with_body: bool
    ) -> dict[str, str]:
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = self.token
        if key is not None:
            sent["Idempotency-Key"] = key
        if with_body:
            sent["Content-Type"] = "application/json"
        return sent

    def _attempt(
        self, route: str, method: str, url: str, headers: dict[str, str], data: str | None
    ) -> tuple[str, Answer | None]:
        start = time.perf_counter()
        try:
            response = self.session.request(
                method, url, headers=headers, data=data, timeout=self._timeout
            )
        except requests.Timeout:
            self._record(route, "timeout", start)
            return "timeout", None
        except requests.ConnectionError:
            self._record(route, "error", start)
            return "error", None
        self._record(route, str(response.status_code), start)
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = response.text
        return str(response.status_code), Answer(
            response.status_code, parsed, dict(response.headers)
        )

    def record_item(self, route: str, status: int) -> None:
        """The status of one request inside a batch."""
        if self._recorder is not None:
            self._recorder.add_item(route, str(status))

    def _record(self, route: str, status: str, start: float) -> None:
        if self._recorder is not None:
            self._recorder.add(route, status, time.perf_counter() - start)

    def _backoff(self, attempt: int, answer: Answer | None) -> float:
        after = answer.headers.get("Retry-After") if answer is not None else None
        if after is not None and after.isdigit():
            return min(float(after), MAX_BACKOFF)
        # Full jitter: clients that failed together do not come back together.
        return self._rng.uniform(0, min(MAX_BACKOFF, 0.1 * 2**attempt))

    def upload(self, route: str, url: str, fields: dict[str, str], name: str, data: bytes) -> int:
        """A browser-style form POST to S3 (no API token), sent again after S3's 500
        (InternalError) or 503 (SlowDown) as AWS asks clients to; its last status, 0 when none
        came."""
        status = 0
        for attempt in range(MAX_ATTEMPTS):
            start = time.perf_counter()
            try:
                response = self.session.post(
                    url,
                    data=fields,
                    files={"file": (name, data, fields.get("Content-Type", "image/jpeg"))},
                    timeout=self._timeout,
                )
            except requests.RequestException:
                self._record(route, "error", start)
                return 0
            status = response.status_code
            self._record(route, str(status), start)
            if status not in S3_RETRY_STATUSES:
                return status
            time.sleep(self._backoff(attempt, None))
        return status
