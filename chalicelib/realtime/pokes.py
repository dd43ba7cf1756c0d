"""Pokes: every open connection of each user whose todos changed in a stream batch hears it once.

A poke carries no data (`{"type": "todos.changed", "at": ...}`): the device then pulls
`GET /todos/sync`. So a poke may come twice (a retried batch) but must reach every device.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from chalicelib.core import telemetry
from chalicelib.core.defaults import Clock, utcnow
from chalicelib.core.validation import format_time
from chalicelib.realtime import gateway
from chalicelib.realtime.connections import ConnectionService, Sender
from chalicelib.store.models import ConnectionModel
from chalicelib.store.storage import conditional
from chalicelib.store.streams import sequence_number

log = logging.getLogger(__name__)

Json = dict[str, Any]

# API Gateway answers GoneException for a connection still in its $connect (its record is stored
# before the handshake ends): such a young record is kept; a stale one is deleted.
GONE_GRACE = timedelta(seconds=10)


class Change(NamedTuple):
    """What a batch says about one user: where their first record is (to retry from) and when
    their newest change was made."""

    first: str | None
    at: str


def changes(records: Iterable[Any]) -> dict[str, Change]:
    """The users whose todos changed in these stream records, in order of first appearance."""
    out: dict[str, Change] = {}
    for record in records:
        user, at = _user_and_time(record)
        if user is None:
            continue
        seen = out.get(user)
        if seen is None:
            out[user] = Change(sequence_number(record), at)
        elif at > seen.at:
            out[user] = seen._replace(at=at)
    return out


def _user_and_time(record: Any) -> tuple[str | None, str]:
    try:
        change = record["dynamodb"]
        user = change["Keys"]["user_id"]["S"]
    except (TypeError, KeyError):
        log.warning("stream record %s names no user; skipped", sequence_number(record))
        return None, ""
    if (record.get("userIdentity") or {}).get("principalId") == "dynamodb.amazonaws.com":
        # TTL removed an old tombstone: no device sees a change.
        return None, ""
    updated = ((change.get("NewImage") or {}).get("updated_at") or {}).get("S")
    if isinstance(updated, str):
        return str(user), updated
    created = change.get("ApproximateCreationDateTime")
    moment = datetime.fromtimestamp(created, UTC) if isinstance(created, int | float) else utcnow()
    return str(user), format_time(moment)


class PokeService:
    def __init__(
        self,
        connections: ConnectionService,
        *,
        clock: Clock = utcnow,
        send: Sender = gateway.send,
    ) -> None:
        self._connections = connections
        self._clock = clock
        self._send = send

    def poke_devices(self, records: list[Json]) -> Json:
        """One poke per connection of each changed user; a user whose poke failed is retried
        from their first record (Lambda retries the batch from the lowest reported one)."""
        failures = []
        for user, change in changes(records).items():
            try:
                self.poke_user(user, change.at)
            except Exception:
                log.exception("poking the devices of a user failed; the batch will be retried")
                if change.first is not None:
                    failures.append({"itemIdentifier": change.first})
        return {"batchItemFailures": failures}

    def poke_user(self, user_id: str, at: str) -> int:
        """Poke every live connection of one user; how many heard it. Sends to all before
        raising the first failure, so one bad connection does not silence the others."""
        message = {"type": "todos.changed", "at": at}
        sent, failed = 0, None
        for connection in self._connections.of_user(user_id):
            try:
                self._send(connection.endpoint, connection.connection_id, message)
                sent += 1
            except gateway.ConnectionGone:
                self._forget(connection)
            except Exception as e:
                failed = failed or e
        telemetry.count("Pokes", sent)
        if failed is not None:
            raise failed
        return sent

    def _forget(self, connection: ConnectionModel) -> None:
        cutoff = int((self._clock() - GONE_GRACE).timestamp())
        with conditional() as write:
            connection.delete(condition=ConnectionModel.connected_at < cutoff)
        if write.failed:
            return
        log.info("connection %s had gone; deleted", connection.connection_id)
        telemetry.count("GoneConnections")
