"""Real time: the WebSocket connections of signed-in devices, and the pokes that tell a user's
devices that their todos changed. Uses the core, the store and the web layer, never another
domain: the todos table reaches it through its stream, as plain records.

This module holds the adapters of API Gateway's WebSocket events in and out, which app.py's
`on_ws_*` handlers use: the plain values a handler passes on, and a domain error as the answer
that makes API Gateway refuse the handshake with its status (here, not in a module of their own:
every function imports them at `import app`), and the accessors that import and build each
service on first use: `verifier` (token checks), `connection_service` (connections: connect,
messages, disconnect), `poke_service` (pokes: the todos stream); gateway posts the frames
(PostToConnection). No accessor may share its name with a submodule (tests/test_layout.py
checks): importing `chalicelib.realtime.pokes` sets `pokes` here.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.core import errors, service
from chalicelib.web.http import error_envelope

if TYPE_CHECKING:
    from chalicelib.realtime.connections import ConnectionService
    from chalicelib.realtime.pokes import PokeService
    from chalicelib.web.tokens import TokenVerifier

log = logging.getLogger(__name__)

Json = dict[str, Any]

ACCEPTED: Json = {"statusCode": 200}


def refusals[E](handler: Callable[[E], Json]) -> Callable[[E], Json]:
    """Under `@app.on_ws_connect()`: a domain error refuses the connection with the REST API's
    status and envelope (401 for a bad token) instead of failing the function."""

    @functools.wraps(handler)
    def answer(event: E) -> Json:
        try:
            return handler(event)
        except errors.DomainError as e:
            status, body = error_envelope(e)
            log.info("connection refused: %d %s", status, body["Code"])
            return {"statusCode": status, "body": json.dumps(body)}

    return answer


def token(event: Any) -> str | None:
    """The `token` query parameter: browsers cannot set headers on a WebSocket."""
    query = event.to_dict().get("queryStringParameters") or {}
    value = query.get("token")
    return value if isinstance(value, str) else None


def client_version(event: Any) -> str | None:
    """The client's version: the X-Client-Version header as on REST, or the `client_version`
    query parameter (a browser cannot set headers on a WebSocket)."""
    raw = event.to_dict()
    headers = {str(k).lower(): v for k, v in (raw.get("headers") or {}).items()}
    query = raw.get("queryStringParameters") or {}
    value = (
        headers["x-client-version"]
        if "x-client-version" in headers
        else query.get("client_version")
    )
    return value if isinstance(value, str) else None


def endpoint(event: Any) -> str:
    """Where frames to this event's connection are posted."""
    from chalicelib.realtime import gateway  # noqa: PLC0415 - botocore, only when needed

    context = event.to_dict()["requestContext"]
    return gateway.endpoint(str(context["apiId"]), str(context["stage"]))


@service
def verifier() -> TokenVerifier:
    """The pool's token checks; PyJWT is imported here, on the connect path only."""
    from chalicelib.core.config import call_budget, settings  # noqa: PLC0415
    from chalicelib.web.tokens import TokenVerifier  # noqa: PLC0415 - keeps cold start lean

    config = settings()
    return TokenVerifier.for_pool(
        config.user_pool_arn,
        config.user_pool_client_id,
        jwks_url=config.user_pool_jwks_url,
        timeout=call_budget().read_timeout,
    )


@service
def connection_service() -> ConnectionService:
    from chalicelib.realtime.connections import ConnectionService  # noqa: PLC0415

    # Looked up on each connect, so that a test may replace the verifier.
    return ConnectionService(verifier)


@service
def poke_service() -> PokeService:
    from chalicelib.realtime.pokes import PokeService  # noqa: PLC0415 - keeps cold start lean

    return PokeService(connection_service())
