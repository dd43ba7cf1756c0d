"""The warmer fans out concurrent invokes; the API answers warm-up events before any routing."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import warm
from chalicelib.warm import WarmerService
from tests.conftest import headers_for


def test_warmer_invokes_concurrently_and_counts_containers() -> None:
    concurrency = 5
    # Every call waits for all the others: the test can only pass if they run at the same time.
    barrier = threading.Barrier(concurrency, timeout=5)
    payloads: list[dict[str, Any]] = []

    def invoke(payload: bytes) -> dict[str, Any]:
        payloads.append(json.loads(payload))
        index = barrier.wait()
        return {"warm": True, "cold": index % 2 == 0, "container": f"c{index}"}

    report = WarmerService(invoke, concurrency=concurrency, hold_ms=50).warm()
    assert report == {"invoked": 5, "containers": 5, "cold": 3, "failed": 0}
    assert all(warm.is_warm_event(p) for p in payloads)
    assert payloads[0][warm.WARM_KEY]["hold_ms"] == 50


def test_warmer_counts_distinct_containers_only() -> None:
    answers = iter(["a", "a", "b"])
    lock = threading.Lock()

    def invoke(payload: bytes) -> dict[str, Any]:
        with lock:
            return {"warm": True, "cold": False, "container": next(answers)}

    assert WarmerService(invoke, concurrency=3).warm()["containers"] == 2


def test_warmer_survives_failed_invocations() -> None:
    calls = iter(range(4))
    lock = threading.Lock()

    def invoke(payload: bytes) -> dict[str, Any]:
        with lock:
            n = next(calls)
        if n % 2:
            raise RuntimeError("throttled")
        return {"warm": True, "cold": True, "container": f"c{n}"}

    report = WarmerService(invoke, concurrency=4).warm()
    assert (report["containers"], report["failed"]) == (2, 2)


def test_warmer_disabled_invokes_nothing() -> None:
    def invoke(payload: bytes) -> dict[str, Any]:
        raise AssertionError("must not be called")

    assert WarmerService(invoke, concurrency=0).warm()["invoked"] == 0


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (warm.warm_event(0), True),
        ({warm.WARM_KEY: {}, "requestContext": {}}, False),
        ({warm.WARM_KEY: {}, "httpMethod": "GET"}, False),
        ({"body": json.dumps(warm.warm_event(0)), "requestContext": {}}, False),
        ({"warm": True}, False),
        ([], False),
    ],
)
def test_is_warm_event_only_for_the_direct_shape(event: Any, expected: bool) -> None:
    assert warm.is_warm_event(event) is expected


def test_api_answers_warm_event_before_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import app  # noqa: PLC0415

    loaded: list[bool] = []
    monkeypatch.setitem(warm._state, "cold", True)  # noqa: SLF001
    monkeypatch.setattr(warm, "preload", lambda: loaded.append(True))
    first = app(warm.warm_event(0), None)
    second = app(warm.warm_event(0), None)
    assert (first["warm"], first["cold"], second["cold"]) == (True, True, False)
    assert first["container"] == second["container"]
    assert loaded == [True]


def test_api_preload_builds_services_without_requests(aws: None) -> None:
    from chalicelib import todos  # noqa: PLC0415

    warm.preload()
    assert todos.todos.cache_info().currsize == 1


def test_http_request_mimicking_the_warm_event_is_a_normal_request(client: Client) -> None:
    body = json.dumps(warm.warm_event(0))
    response = client.http.post("/todos", headers=headers_for("alice"), body=body)
    assert response.status_code == 400
    assert "unknown field" in response.json_body["Message"]
    assert client.http.post("/todos", body=body).status_code == 401


def test_warmer_invokes_in_process_when_the_setting_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.core import config  # noqa: PLC0415

    monkeypatch.setenv("WARM_INVOKER", "in-process")
    monkeypatch.setitem(warm._state, "cold", True)  # noqa: SLF001
    monkeypatch.setattr(warm, "preload", lambda: None)
    config.reset()
    try:
        report = warm.warmer_from(config.settings()).warm()
    finally:
        config.reset()
    # The test stage warms two at once; both calls land in this one process.
    assert report == {"invoked": 2, "containers": 1, "cold": 1, "failed": 0}
