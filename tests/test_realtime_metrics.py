"""The pokes' metrics, which the dashboards and alarms read by name: Pokes and GoneConnections."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core import telemetry
from chalicelib.realtime import gateway
from chalicelib.realtime.connections import CONNECTION_TTL, ConnectionService
from chalicelib.realtime.pokes import PokeService
from chalicelib.store.models import ConnectionModel

ENDPOINT = "https://ws.example/test"


def _store(cid: str, age: timedelta) -> None:
    then = datetime.now(UTC) - age
    ConnectionModel(
        "alice",
        cid,
        endpoint=ENDPOINT,
        connected_at=int(then.timestamp()),
        expires_at=then + CONNECTION_TTL,
    ).save()


def test_poke_counts_the_frames_sent_and_the_gone_connections_deleted(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[tuple[str, float]] = []
    monkeypatch.setattr(
        telemetry, "count", lambda name, value=1, **_: counted.append((name, value))
    )

    def send(endpoint: str, cid: str, message: Mapping[str, Any]) -> None:
        if cid == "gone":
            raise gateway.ConnectionGone(cid)

    _store("here", timedelta(minutes=5))
    _store("gone", timedelta(minutes=5))
    connections = ConnectionService(lambda: pytest.fail("no token is checked"), send=send)
    assert PokeService(connections, send=send).poke_user("alice", "2026-12-06T05:00:00Z") == 1
    assert sorted(counted) == [("GoneConnections", 1), ("Pokes", 1)]
    assert [c.connection_id for c in ConnectionModel.query("alice")] == ["here"]
