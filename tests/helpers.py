"""Small helpers shared by test modules: the error-envelope assertion, a stepping clock, a
clock set by hand, the DynamoDB requests a block sends, and what a test does when this machine
lacks something it needs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any, NoReturn

import botocore.client
import pytest
from pynamodb.connection.base import Connection

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


@contextmanager
def dynamodb_requests() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The DynamoDB requests PynamoDB sends inside the block, in order: (operation, parameters)."""
    sent: list[tuple[str, dict[str, Any]]] = []
    real = Connection._make_api_call  # noqa: SLF001

    def recording(self: Connection, operation: str, params: dict[str, Any]) -> Any:
        sent.append((operation, params))
        return real(self, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Connection, "_make_api_call", recording)
        yield sent


def client_closes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every botocore client closed from now on, in order (each still closed for real)."""
    closed: list[Any] = []
    real = botocore.client.BaseClient.close

    def close(self: Any) -> None:
        closed.append(self)
        real(self)

    monkeypatch.setattr(botocore.client.BaseClient, "close", close)
    return closed


def under_ci() -> bool:
    """CI sets CI (GitHub Actions, GitLab, CircleCI, Buildkite...): there every test must run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(missing: str, *, safe_because: str) -> NoReturn:
    """A test that cannot run on this machine: under CI a failure (a green CI run means every
    test ran), elsewhere a skip that names what is missing and why skipping it here is safe."""
    if under_ci():
        pytest.fail(f"{missing}; under CI (CI={os.environ['CI']}) this test must run")
    pytest.skip(f"{missing}; skipped outside CI only: {safe_because}")
