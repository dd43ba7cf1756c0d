"""Real time in the app: the WebSocket handlers (connect's token check, ping, disconnect) and the
todos stream's pokes, against moto (DynamoDB, and the @connections API, which keeps each frame)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from chalicelib import realtime
from chalicelib.core import config
from chalicelib.realtime import gateway
from chalicelib.realtime.connections import CONNECTION_TTL, ConnectionService
from chalicelib.realtime.pokes import GONE_GRACE, PokeService, changes
from chalicelib.store.models import ConnectionModel
from sandbox.cognito import TokenVerifier
from tests.conftest import ACCOUNT, CLIENT_ID, ISSUER, JWKS, OTHER_KEY, headers_for, make_token
from tests.events import stream_batch

API_ID = "abc123"
ENDPOINT = f"https://{API_ID}.execute-api.us-east-1.amazonaws.com/api"


@pytest.fixture
def ws(client: Client, monkeypatch: pytest.MonkeyPatch) -> Client:
    """The test client, with the connect path checking tokens against the test pool's keys."""
    verifier = TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS)
    monkeypatch.setattr(realtime, "verifier", lambda: verifier)
    return client


def _event(route: str, cid: str, **extra: Any) -> dict[str, Any]:
    kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    context = {
        "routeKey": route,
        "eventType": kind,
        "connectionId": cid,
        "domainName": f"{API_ID}.execute-api.us-east-1.amazonaws.com",
        "stage": "api",
        "apiId": API_ID,
        "requestId": uuid.uuid4().hex,
    }
    return {"requestContext": context, "isBase64Encoded": False, **extra}


def _connect(client: Client, token: str | None, cid: str | None = None) -> Any:
    query = {"token": token} if token is not None else None
    event = _event("$connect", cid or uuid.uuid4().hex[:16], queryStringParameters=query)
    return client.lambda_.invoke("open_connection", event).payload


def _stored(user: str) -> list[str]:
    return [c.connection_id for c in ConnectionModel.query(user, consistent_read=True)]


def _frames(cid: str) -> list[dict[str, Any]]:
    """What the @connections API received for a connection (moto keeps the bytes, joined)."""
    backend = apigatewaymanagementapi_backends[ACCOUNT]["us-east-1"]
    data = backend.connections[cid].data if cid in backend.connections else b""
    return [json.loads(part) for part in data.decode().replace("}{", "}\n{").splitlines()]


def test_connect_with_a_valid_token_stores_the_connection(ws: Client) -> None:
    answer = _connect(ws, make_token("alice"), "conn-alice-1")
    assert answer == {"statusCode": 200}
    (stored,) = ConnectionModel.query("alice", consistent_read=True)
    assert stored.connection_id == "conn-alice-1"
    assert stored.endpoint == ENDPOINT
    remaining = stored.expires_at - datetime.now(UTC)
    # Past API Gateway's 2-hour limit, not forever.
    assert timedelta(hours=2) < remaining <= CONNECTION_TTL


@pytest.mark.parametrize(
    ("token", "text"),
    [
        (None, "?token="),
        ("", "?token="),
        ("not-a-jwt", "well-formed"),
        (make_token("mallory", key=OTHER_KEY), "not valid"),
        (make_token("alice", expires_in=-60), "expired"),
        (make_token("alice", audience="other-client"), "another app client"),
        (make_token("alice", issuer=ISSUER + "x"), "another user pool"),
        (make_token("alice", token_use="access"), "ID token"),
    ],
    ids=[
        "missing",
        "empty",
        "malformed",
        "forged",
        "expired",
        "other-client",
        "other-pool",
        "access",
    ],
)
def test_connect_with_a_bad_token_is_refused_and_stores_nothing(
    ws: Client, token: str | None, text: str
) -> None:
    answer = _connect(ws, token)
    assert answer["statusCode"] == 401
    body = json.loads(answer["body"])
    assert body["Code"] == "UnauthorizedError"
    assert text in body["Message"]
    assert _stored("alice") == []
    assert _stored("mallory") == []


@pytest.fixture
def minimum(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("MIN_CLIENT_VERSION", "2.4.0")
    config.reset()
    yield "2.4.0"
    config.reset()


@pytest.mark.parametrize(
    ("where", "version", "status"),
    [
        ("headers", "2.3.9", 426),
        ("query", "2.4.0-beta.1", 426),
        ("headers", "latest", 400),
        ("headers", "2.4.0", 200),
        ("query", "3.0.0", 200),
        ("query", None, 200),
    ],
)
def test_connect_checks_the_client_version_after_the_token(
    ws: Client, minimum: str, where: str, version: str | None, status: int
) -> None:
    query = {"token": make_token("alice")}
    extra: dict[str, Any] = {}
    if version is not None and where == "headers":
        extra["headers"] = {"X-Client-Version": version}
    elif version is not None:
        query["client_version"] = version
    event = _event("$connect", "conn-1", queryStringParameters=query, **extra)

    answer = ws.lambda_.invoke("open_connection", event).payload

    assert answer["statusCode"] == status
    if status == 426:
        body = json.loads(answer["body"])
        assert (body["Code"], minimum in body["Message"]) == ("UpgradeRequired", True)
    assert _stored("alice") == (["conn-1"] if status == 200 else [])


def test_connect_when_the_pool_keys_cannot_be_read_is_429_not_a_crash(
    ws: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9 of loopback: the JWKS fetch fails to connect.
    unreachable = TokenVerifier(
        issuer=ISSUER, client_id=CLIENT_ID, jwks_url="http://127.0.0.1:9/jwks.json", timeout=1
    )
    monkeypatch.setattr(realtime, "verifier", lambda: unreachable)
    answer = _connect(ws, make_token("alice"))
    assert answer["statusCode"] == 429
    assert json.loads(answer["body"])["Code"] == "TooManyRequestsError"
    assert _stored("alice") == []


def test_verifier_for_pool_derives_issuer_and_jwks_from_the_arn() -> None:
    arn = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC"
    verifier = TokenVerifier.for_pool(arn, "client")
    assert verifier._issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"  # noqa: SLF001
    client = verifier._client  # noqa: SLF001
    assert client is not None
    assert client.uri.endswith("/eu-west-1_AbC/.well-known/jwks.json")
    with pytest.raises(ValueError, match="app client"):
        TokenVerifier.for_pool(arn, "")


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ('{"action": "ping"}', {"type": "pong"}),
        ('{"action": "subscribe"}', {"type": "error"}),
        ("not json", {"type": "error"}),
        ('["ping"]', {"type": "error"}),
    ],
)
def test_message_ping_is_ponged_anything_else_is_an_error(
    ws: Client, body: str, answer: dict[str, str]
) -> None:
    cid = uuid.uuid4().hex[:16]
    result = ws.lambda_.invoke("answer_message", _event("$default", cid, body=body)).payload
    assert result["statusCode"] == 200
    (frame,) = _frames(cid)
    assert {k: frame[k] for k in answer} == answer
    if answer["type"] == "error":
        assert "ping" in frame["message"]


def test_disconnect_deletes_that_connection_only(ws: Client) -> None:
    _connect(ws, make_token("alice"), "one")
    _connect(ws, make_token("alice"), "two")
    ws.lambda_.invoke("close_connection", _event("$disconnect", "one"))
    assert _stored("alice") == ["two"]
    # A second disconnect (or one for a connection never stored) is no error.
    result = ws.lambda_.invoke("close_connection", _event("$disconnect", "one")).payload
    assert result["statusCode"] == 200


def _create(client: Client, user: str, title: str) -> dict[str, Any]:
    response = client.http.post(
        "/todos", headers=headers_for(user), body=json.dumps({"title": title})
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json_body
    return body


def test_poke_reaches_every_connection_of_the_changed_user_only(ws: Client) -> None:
    for user, cid in [("alice", "a-phone"), ("alice", "a-tablet"), ("bob", "b-phone")]:
        _connect(ws, make_token(user), cid)
    todo = _create(ws, "alice", "milk")
    result = ws.lambda_.invoke("poke_devices", stream_batch("TodosTable")).payload
    assert result == {"batchItemFailures": []}
    for cid in ("a-phone", "a-tablet"):
        assert _frames(cid) == [{"type": "todos.changed", "at": todo["updated_at"]}]
    assert _frames("b-phone") == []


def test_poke_of_many_changes_in_one_batch_is_one_frame_with_the_newest_time(ws: Client) -> None:
    _connect(ws, make_token("alice"), "a-phone")
    todos = [_create(ws, "alice", f"todo {i}") for i in range(20)]
    batch = stream_batch("TodosTable")
    assert len(batch["Records"]) == 20
    ws.lambda_.invoke("poke_devices", batch)
    newest = max(t["updated_at"] for t in todos)
    assert _frames("a-phone") == [{"type": "todos.changed", "at": newest}]


class FakeGateway:
    """The @connections API as a test wants it: some connections gone, some failing."""

    def __init__(self, gone: set[str] = frozenset(), failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.gone, self.failing = gone, failing
        self.sent: list[tuple[str, Mapping[str, Any]]] = []

    def __call__(self, endpoint: str, cid: str, message: Mapping[str, Any]) -> None:
        if cid in self.gone:
            raise gateway.ConnectionGone(cid)
        if cid in self.failing:
            raise RuntimeError("LimitExceededException")
        self.sent.append((cid, message))


def _store(user: str, cid: str, age: timedelta) -> None:
    then = datetime.now(UTC) - age
    ConnectionModel(
        user,
        cid,
        endpoint=ENDPOINT,
        connected_at=int(then.timestamp()),
        expires_at=then + CONNECTION_TTL,
    ).save()


def _record(user: str, number: str, updated: str | None, **extra: Any) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Keys": {"user_id": {"S": user}, "todo_id": {"S": number}},
        "SequenceNumber": number,
        "ApproximateCreationDateTime": 1_790_000_000,
    }
    if updated is not None:
        change["NewImage"] = {"user_id": {"S": user}, "updated_at": {"S": updated}}
    return {"eventName": "MODIFY", "dynamodb": change, **extra}


def _pokes(fake: FakeGateway) -> PokeService:
    return PokeService(ConnectionService(lambda: None, send=fake), send=fake)  # type: ignore[arg-type, return-value]


def test_poke_deletes_a_gone_connection_but_keeps_one_still_connecting(aws: None) -> None:
    _store("alice", "stale", timedelta(minutes=30))
    _store("alice", "fresh", timedelta(seconds=1))
    _store("alice", "live", timedelta(minutes=5))
    fake = FakeGateway(gone={"stale", "fresh"})
    result = _pokes(fake).poke_devices([_record("alice", "1", "2026-01-01T00:00:00.000000Z")])
    assert result == {"batchItemFailures": []}
    assert [cid for cid, _ in fake.sent] == ["live"]
    # Younger than GONE_GRACE: API Gateway may still be finishing its handshake.
    assert sorted(_stored("alice")) == ["fresh", "live"]
    assert timedelta(minutes=1) > GONE_GRACE


def test_poke_failure_reports_the_users_first_record_and_still_pokes_the_rest(aws: None) -> None:
    _store("alice", "a-broken", timedelta(minutes=5))
    _store("alice", "a-ok", timedelta(minutes=5))
    _store("bob", "b-ok", timedelta(minutes=5))
    fake = FakeGateway(failing={"a-broken"})
    records = [
        _record("bob", "100", "2026-01-01T00:00:01.000000Z"),
        _record("alice", "101", "2026-01-01T00:00:02.000000Z"),
        _record("alice", "102", "2026-01-01T00:00:03.000000Z"),
    ]
    result = _pokes(fake).poke_devices(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert sorted(cid for cid, _ in fake.sent) == ["a-ok", "b-ok"]


def test_poke_skips_expired_connections(aws: None) -> None:
    _store("alice", "expired", CONNECTION_TTL + timedelta(minutes=1))
    fake = FakeGateway()
    _pokes(fake).poke_devices([_record("alice", "1", "2026-01-01T00:00:00.000000Z")])
    assert fake.sent == []


def test_changes_skip_ttl_removals_and_records_without_keys() -> None:
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    records = [
        _record("alice", "1", None, eventName="REMOVE", userIdentity=ttl),
        {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "2"}},
        "garbage",
        _record("bob", "3", None),
    ]
    found = changes(records)
    assert list(found) == ["bob"]
    # No image (a REMOVE): the record's own time stands in for updated_at.
    assert found["bob"].first == "3"
    assert found["bob"].at == "2026-09-21T14:13:20.000000Z"


def test_gateway_endpoint_follows_chalices_rule_unless_the_stage_sets_one(
    monkeypatch: pytest.MonkeyPatch, aws: None
) -> None:
    assert gateway.endpoint(API_ID, "api") == ENDPOINT
    monkeypatch.setenv("WEBSOCKET_MANAGEMENT_URL", "http://127.0.0.1:5000/_sandbox/websocket/")
    from chalicelib.core import config  # noqa: PLC0415

    config.reset()
    assert gateway.endpoint(API_ID, "api") == "http://127.0.0.1:5000/_sandbox/websocket"
    config.reset()
