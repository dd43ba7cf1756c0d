"""Small helpers shared by test modules: the error-envelope assertion, a stepping clock and a
clock set by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def assert_error(response: Any, status: int, code: str, text: str = "") -> dict[str, Any]:
    """The response is `status` with exactly the {"Code", "Message"} envelope (a 412 also
    carries the current representation as `Current`); returns the envelope."""
    assert response.status_code == status
    body: dict[str, Any] = json.loads(response.body)
    assert set(body) == ({"Code", "Message", "Current"} if status == 412 else {"Code", "Message"})
    assert body["Code"] == code
    assert text in body["Message"]
    return body


class FakeClock:
    """Advances one second per reading, so every write has its own timestamp."""

    def __init__(self, start: datetime = T0) -> None:
        self._ticks: Iterator[int] = count()
        self._start = start

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=next(self._ticks))


class ManualClock:
    """Reads `now`, which the test moves."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
