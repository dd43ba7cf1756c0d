"""Real time over real sockets against the sandbox: pokes reach every device of the writer's user
and nobody else, a batch of writes is a few pokes, bad tokens fail the handshake, a connection
that went without a disconnect is deleted on the next poke."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e import Sandbox, User, call, create_user
from tests.test_asyncapi import payload_schema

pytestmark = pytest.mark.e2e

POKE_WAIT = 5.0


def device(sandbox: Sandbox, token: str) -> ClientConnection:
    return connect(f"{sandbox.endpoints['ws_url']}/?token={token}", open_timeout=10)


def frames(socket: ClientConnection, quiet: float) -> list[dict[str, Any]]:
    """Every frame until none came for `quiet` seconds."""
    out = []
    while True:
        try:
            out.append(json.loads(socket.recv(timeout=quiet)))
        except TimeoutError:
            return out


def wait_for(check: Callable[[], bool], timeout: float = POKE_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_write_pokes_every_device_of_that_user_and_nobody_else(sandbox: Sandbox) -> None:
    alice, bob = create_user(sandbox, "alice"), create_user(sandbox, "bob")
    with (
        device(sandbox, alice.token) as phone,
        device(sandbox, alice.token) as tablet,
        device(sandbox, bob.token) as other,
    ):
        created = call(sandbox, "POST", "/todos", alice.token, {"title": "milk"})
        assert created.status_code == 201
        poke = {"type": "todos.changed", "at": created.json()["updated_at"]}
        received = json.loads(tablet.recv(timeout=POKE_WAIT))
        assert received == poke
        payload_schema("todosChanged").validate(received)
        # The writing device's own connection hears it too.
        assert json.loads(phone.recv(timeout=POKE_WAIT)) == poke
        assert frames(other, quiet=1.0) == []


def test_twenty_writes_in_one_batch_are_a_few_pokes(sandbox: Sandbox) -> None:
    alice = create_user(sandbox, "batcher")
    with device(sandbox, alice.token) as phone:
        requests = [
            {
                "id": str(n),
                "method": "PUT",
                "url": f"/todos/{uuid.uuid4()}",
                "headers": {"If-None-Match": "*"},
                "body": {"title": f"todo {n}"},
            }
            for n in range(20)
        ]
        answer = call(sandbox, "POST", "/todos/batch", alice.token, {"requests": requests})
        assert answer.status_code == 200
        assert {r["status"] for r in answer.json()["responses"]} == {201}
        pokes = frames(phone, quiet=2.0)
        assert 1 <= len(pokes) <= 3, pokes
        newest = max(r["body"]["updated_at"] for r in answer.json()["responses"])
        assert pokes[-1] == {"type": "todos.changed", "at": newest}


def _token_of_another_pool(sandbox: Sandbox, user: User) -> str:
    """A real ID token of a second user pool in the same moto, for a user of the same name."""
    cognito = sandbox.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"other-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username=user.email, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool, Username=user.email, Password="Passw0rd!!", Permanent=True
    )
    auth = cognito.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user.email, "PASSWORD": "Passw0rd!!"},
    )
    return str(auth["AuthenticationResult"]["IdToken"])


def _forged(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[::-1]}"


@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "foreign-pool"])
def test_a_bad_token_fails_the_handshake(sandbox: Sandbox, kind: str) -> None:
    user = create_user(sandbox, "refused")
    expired = (
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ."
        "eyJzdWIiOiJ4IiwiZXhwIjoxfQ.c2ln"  # exp=1970, an unknown kid: refused either way
    )
    token = {
        "missing": "",
        "forged": _forged(user.token),
        "expired": expired,
        "foreign-pool": _token_of_another_pool(sandbox, user) if kind == "foreign-pool" else "",
    }[kind]
    with pytest.raises(InvalidStatus) as refused:
        device(sandbox, token)
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["Code"] == "UnauthorizedError"


def test_ping_is_answered_and_other_frames_get_an_error(sandbox: Sandbox) -> None:
    user = create_user(sandbox, "pinger")
    with device(sandbox, user.token) as phone:
        phone.send(json.dumps({"action": "ping"}))
        assert json.loads(phone.recv(timeout=POKE_WAIT)) == {"type": "pong"}
        phone.send("hello")
        answer = json.loads(phone.recv(timeout=POKE_WAIT))
        assert answer["type"] == "error"
        assert "ping" in answer["message"]
        phone.send(json.dumps({"action": "ping"}))
        assert json.loads(phone.recv(timeout=POKE_WAIT)) == {"type": "pong"}


def test_a_connection_gone_without_a_disconnect_is_deleted_on_the_next_poke(
    sandbox: Sandbox,
) -> None:
    user = create_user(sandbox, "dropper")
    dynamodb = sandbox.client("dynamodb")
    table = sandbox.endpoints["tables"]["ConnectionsTable"]
    environment = sandbox.endpoints["app_environment"]
    # What API Gateway leaves when a $disconnect never reaches the app: a record, no socket.
    stale = {
        "user_id": {"S": user.sub},
        "connection_id": {"S": "gone-without-a-word"},
        "endpoint": {"S": environment["WEBSOCKET_MANAGEMENT_URL"]},
        "connected_at": {"N": str(int(time.time()) - 600)},
        "expires_at": {"N": str(int(time.time()) + 3600)},
    }
    dynamodb.put_item(TableName=table, Item=stale)
    with device(sandbox, user.token) as phone:
        assert call(sandbox, "POST", "/todos", user.token, {"title": "x"}).status_code == 201
        assert json.loads(phone.recv(timeout=POKE_WAIT))["type"] == "todos.changed"

    def stale_is_gone() -> bool:
        key = {"user_id": {"S": user.sub}, "connection_id": {"S": "gone-without-a-word"}}
        return "Item" not in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)

    wait_for(stale_is_gone)
