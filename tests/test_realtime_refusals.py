"""What a refused WebSocket connect tells the client: the REST API's status and envelope, with a
message that says what to do next."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import realtime
from chalicelib.realtime.connections import ConnectionService
from chalicelib.store.models import ConnectionModel
from chalicelib.web.tokens import TokenVerifier
from tests.conftest import CLIENT_ID, ISSUER, make_token

ENDPOINT = "https://ws.example/test"


def _connect(verifier: TokenVerifier, token: str | None) -> dict[str, Any]:
    """The answer API Gateway gets for a connect, as app.py's open_connection builds it."""
    connections = ConnectionService(lambda: verifier)

    @realtime.refusals
    def open_connection(connection_id: str) -> realtime.Json:
        connections.open(connection_id, token, ENDPOINT)
        return realtime.ACCEPTED

    return open_connection("cid")


@pytest.mark.parametrize("token", [None, ""])
def test_connect_without_a_token_is_401_saying_how_to_send_one(
    aws: None, verifier: TokenVerifier, token: str | None
) -> None:
    answer = _connect(verifier, token)
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"]) == {
        "Code": "UnauthorizedError",
        "Message": "connect with ?token=<Cognito ID token>",
    }
    assert list(ConnectionModel.scan()) == []


def test_connect_when_the_pool_keys_cannot_be_read_is_429_saying_to_connect_again(
    aws: None,
) -> None:
    # Nothing listens on port 9 of loopback: the JWKS fetch fails to connect.
    unreachable = TokenVerifier(
        issuer=ISSUER, client_id=CLIENT_ID, jwks_url="http://127.0.0.1:9/jwks.json", timeout=1
    )
    answer = _connect(unreachable, make_token("alice"))
    assert answer["statusCode"] == 429
    assert json.loads(answer["body"]) == {
        "Code": "TooManyRequestsError",
        "Message": "the user pool's signing keys cannot be read now; connect again in a moment",
    }
    assert list(ConnectionModel.scan()) == []


def test_connect_with_a_valid_token_is_accepted(aws: None, verifier: TokenVerifier) -> None:
    assert _connect(verifier, make_token("alice")) == {"statusCode": 200}
    assert [(c.user_id, c.connection_id) for c in ConnectionModel.scan()] == [("alice", "cid")]
