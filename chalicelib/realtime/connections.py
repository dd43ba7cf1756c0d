"""Open WebSocket connections: opened with a checked token, closed, answered, listed per user."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core import errors, versions
from chalicelib.core.config import settings
from chalicelib.core.defaults import Clock, utcnow
from chalicelib.realtime import gateway
from chalicelib.store.models import ConnectionModel

if TYPE_CHECKING:
    from chalicelib.web.tokens import TokenVerifier

log = logging.getLogger(__name__)

# API Gateway closes every WebSocket connection after 2 hours; a record whose $disconnect never
# came expires (DynamoDB's TTL) a little after that.
CONNECTION_TTL = timedelta(hours=2, minutes=15)

Sender = Callable[[str, str, Mapping[str, Any]], None]

PONG = {"type": "pong"}


class ConnectionService:
    def __init__(
        self,
        verifier: Callable[[], TokenVerifier],
        *,
        clock: Clock = utcnow,
        send: Sender = gateway.send,
    ) -> None:
        # A factory: the verifier imports PyJWT, which only the connect path may pay for.
        self._verifier = verifier
        self._clock = clock
        self._send = send

    def open(
        self,
        connection_id: str,
        token: str | None,
        endpoint: str,
        client_version: str | None = None,
    ) -> str:
        """Check the token and the client's version (426 below the stage's minimum, as on
        REST), then remember the connection; the user id. A refused connect stores nothing."""
        user_id = self._user_of(token)
        versions.require(client_version, settings().min_client_version)
        now = self._clock()
        ConnectionModel(
            user_id,
            connection_id,
            endpoint=endpoint,
            connected_at=int(now.timestamp()),
            expires_at=now + CONNECTION_TTL,
        ).save()
        return user_id

    def _user_of(self, token: str | None) -> str:
        from chalicelib.web.tokens import InvalidToken, KeysUnavailable  # noqa: PLC0415

        if not token:
            raise errors.Unauthorized("connect with ?token=<Cognito ID token>")
        try:
            claims = self._verifier().verify(token)
        except InvalidToken as e:
            raise errors.Unauthorized(str(e)) from e
        except KeysUnavailable as e:
            raise errors.Throttled(f"{e}; connect again in a moment") from e
        return str(claims["sub"])

    def close(self, connection_id: str) -> None:
        """Forget a connection API Gateway closed; one already gone is no error."""
        for key in ConnectionModel.by_connection.query(connection_id):
            ConnectionModel(key.user_id, key.connection_id).delete()

    def answer(self, connection_id: str, endpoint: str, body: str | None) -> None:
        """A client's message: a ping gets a pong, anything else an error (the socket stays)."""
        reply = PONG if _is_ping(body) else _error(body)
        try:
            self._send(endpoint, connection_id, reply)
        except gateway.ConnectionGone:
            log.info("connection %s closed before its answer was sent", connection_id)

    def of_user(self, user_id: str) -> Iterator[ConnectionModel]:
        """The user's live connections, strongly consistent: one opened a moment ago is there."""
        return ConnectionModel.query(
            user_id,
            filter_condition=ConnectionModel.expires_at > self._clock(),
            consistent_read=True,
        )


def _parse(body: str | None) -> Any:
    try:
        return json.loads(body or "")
    except ValueError:
        return None


def _is_ping(body: str | None) -> bool:
    message = _parse(body)
    return isinstance(message, dict) and message.get("action") == "ping"


def _error(body: str | None) -> dict[str, str]:
    message = _parse(body)
    if not isinstance(message, dict):
        text = 'send a JSON object, such as {"action": "ping"}'
    else:
        text = f'unknown action {message.get("action")!r}: the only one is "ping"'
    return {"type": "error", "message": text}
