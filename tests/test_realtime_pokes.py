"""Pokes from the todos stream: every device connected a moment ago is found and poked, each frame
is counted, and a change whose record carries no time is poked with the time it is read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import botocore.client
import pytest

from chalicelib.core import telemetry
from chalicelib.core.validation import format_time
from chalicelib.realtime.connections import ConnectionService
from chalicelib.realtime.pokes import PokeService, changes
from chalicelib.web.tokens import TokenVerifier
from tests.conftest import make_token

ENDPOINT = "https://ws.example/test"
AT = "2026-12-06T05:00:00.000000Z"
# A stream record's ApproximateCreationDateTime, and that moment as a poke carries it.
CREATED, CREATED_AT = 1_790_000_000, "2026-09-21T14:13:20.000000Z"


class Sockets:
    """The @connections API: keeps the frames sent to each connection."""

    def __init__(self) -> None:
        self.frames: dict[str, list[Mapping[str, Any]]] = {}

    def __call__(self, endpoint: str, connection_id: str, message: Mapping[str, Any]) -> None:
        assert endpoint == ENDPOINT
        self.frames.setdefault(connection_id, []).append(message)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """The metrics counted, by name and value."""
    seen: list[tuple[str, float]] = []
    monkeypatch.setattr(telemetry, "count", lambda name, value=1, **_: seen.append((name, value)))
    return seen


def _connected(verifier: TokenVerifier, sockets: Sockets, *devices: str) -> ConnectionService:
    connections = ConnectionService(lambda: verifier, send=sockets)
    for device in devices:
        connections.open(device, make_token("alice"), ENDPOINT)
    return connections


@pytest.mark.parametrize("devices", [(), ("phone",), ("phone", "tablet", "laptop")])
def test_poke_user_reaches_and_counts_every_connected_device(
    aws: None, verifier: TokenVerifier, counted: list[tuple[str, float]], devices: tuple[str, ...]
) -> None:
    sockets = Sockets()
    pokes = PokeService(_connected(verifier, sockets, *devices), send=sockets)
    assert pokes.poke_user("alice", AT) == len(devices)
    assert sockets.frames == {d: [{"type": "todos.changed", "at": AT}] for d in devices}
    assert counted == [("Pokes", len(devices))]


def test_poke_reads_the_users_connections_consistently(
    aws: None, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device that connected a moment ago must hear the poke: an eventually consistent read
    could miss its record, which moto never shows, so the read itself is checked."""
    queries: list[dict[str, Any]] = []
    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # noqa: SLF001

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Query":
            queries.append(params)
        return make_api_call(client, operation, params)

    sockets = Sockets()
    pokes = PokeService(_connected(verifier, sockets, "phone"), send=sockets)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    pokes.poke_devices([_removal("alice", "1", ApproximateCreationDateTime=CREATED)])
    assert sockets.frames == {"phone": [{"type": "todos.changed", "at": CREATED_AT}]}
    assert [q.get("ConsistentRead") for q in queries] == [True]


def _removal(user: str, number: str, **change: Any) -> dict[str, Any]:
    """A stream record without a new image: a deletion, whose time is the record's own."""
    keys = {"user_id": {"S": user}, "todo_id": {"S": number}}
    return {"eventName": "REMOVE", "dynamodb": {"Keys": keys, "SequenceNumber": number, **change}}


@pytest.mark.parametrize("created", [CREATED, float(CREATED)])
def test_changes_without_an_image_take_the_records_creation_time(created: float) -> None:
    found = changes([_removal("alice", "7", ApproximateCreationDateTime=created)])
    assert found["alice"].at == CREATED_AT


def test_changes_without_an_image_or_a_creation_time_take_the_time_they_are_read() -> None:
    before = format_time(datetime.now(UTC))
    found = changes([_removal("alice", "7")])
    after = format_time(datetime.now(UTC))
    assert list(found) == ["alice"]
    assert found["alice"].first == "7"
    assert before <= found["alice"].at <= after
