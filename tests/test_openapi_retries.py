"""The REST contract for safe retries and client versions: replayed answers (with
Idempotent-Replayed), a reused key's 409, and the 426 of every operation conform to
openapi.yaml as schemathesis judges them (helpers from test_openapi)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest
from chalice.test import Client

from chalicelib.core import config
from tests import test_openapi
from tests.test_openapi import Call, _concrete, _operations, send

# The small world (todos, a tombstone, a photo, posts, a subscriber) every call runs in.
names = test_openapi.names

P = pytest.param
KEY: Final = {"Idempotency-Key": "retry-1"}
PATCHED: Final = (Call("PATCH", "/todos/{todo}", 200, {"done": True}, headers=KEY),)
PUT: Final = {"If-None-Match": "*", **KEY}
CREATED: Final = (Call("PUT", "/todos/client-1", 201, {"title": "x"}, headers=PUT),)
DELETED: Final = (Call("DELETE", "/todos/{todo}", 204, headers=KEY),)
REPLAY: Final = {"id": "1", "method": "PATCH", "url": "/todos/{todo}", "body": {"done": True}}
CALLS: Final = [
    P(Call("PATCH", "/todos/{todo}", 200, {"done": True}, headers=KEY, before=PATCHED), id="patch"),
    P(Call("PATCH", "/todos/{todo}", 409, {"done": False}, headers=KEY, before=PATCHED), id="409"),
    P(Call("PUT", "/todos/client-1", 201, {"title": "x"}, headers=PUT, before=CREATED), id="put"),
    P(Call("DELETE", "/todos/{todo}", 204, headers=KEY, before=DELETED), id="delete"),
    P(
        Call(
            "POST", "/todos/batch", 200, {"requests": [{**REPLAY, "headers": KEY}]}, before=PATCHED
        ),
        id="batch",
    ),
    P(Call("POST", "/todos/batch", 400, {"requests": [REPLAY]}, headers=KEY), id="batch-key"),
    P(Call("GET", "/health", 400, headers={"X-Client-Version": "2.4"}), id="bad-version"),
    P(Call("GET", "/todos", 200, headers={"X-Client-Version": "2.4.1-beta.1"}), id="version"),
]


@pytest.mark.parametrize("call", CALLS)
def test_openapi_retry_answer_conforms(client: Client, names: dict[str, str], call: Call) -> None:
    answer = send(client, call, names)
    if not call.before or call.status >= 300:
        return
    if call.method == "POST":
        assert answer.json_body["responses"][0]["headers"]["Idempotent-Replayed"] == "true"
    else:
        assert answer.headers["Idempotent-Replayed"] == "true"


@pytest.fixture
def minimum(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIN_CLIENT_VERSION", "2.4.0")
    config.reset()
    yield
    config.reset()


OLD: Final = {"X-Client-Version": "2.3.9"}
EVERY_OPERATION: Final = [(m.upper(), _concrete(p)) for p, m, _ in _operations()]


@pytest.mark.parametrize(("method", "url"), EVERY_OPERATION)
def test_openapi_upgrade_required_conforms_on_every_operation(
    client: Client, names: dict[str, str], minimum: None, method: str, url: str
) -> None:
    send(client, Call(method, url, 426, headers=OLD), names)
