"""End to end: `python -m sandbox run` as a subprocess, driven over real HTTP and its CLI."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e import HTTP_TIMEOUT, PASSWORD, Sandbox, User, assert_envelope, call, create_user

pytestmark = pytest.mark.e2e

OWN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def alice(sandbox: Sandbox) -> User:
    return create_user(sandbox, "alice")


@pytest.fixture(scope="module")
def bob(sandbox: Sandbox) -> User:
    return create_user(sandbox, "bob")


@pytest.fixture
def todo(sandbox: Sandbox, alice: User) -> dict[str, Any]:
    response = call(sandbox, "POST", "/todos", alice.token, {"title": "Buy milk"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- start-up -------------------------------------------------------------------------------


def test_sandbox_writes_endpoints_json(sandbox: Sandbox) -> None:
    endpoints = sandbox.endpoints
    assert endpoints["pid"] == sandbox.process.pid
    assert endpoints["api_url"].startswith("http://127.0.0.1:")
    assert endpoints["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert endpoints["site_url"].startswith("http://127.0.0.1:")
    assert endpoints["media_bucket"] == "mytodolist-sandbox-media-123456789012"
    assert endpoints["pump"]["schedule_seconds"] > 0
    assert endpoints["stage"] == "sandbox"
    assert endpoints["todos_table"] == "mytodolist-sandbox-todos"
    assert endpoints["idempotency_table"] == "mytodolist-sandbox-idempotency"
    assert endpoints["user_pool_id"].startswith(f"{endpoints['region']}_")
    assert endpoints["user_pool_client_id"]


def test_sandbox_health_needs_no_token(sandbox: Sandbox) -> None:
    response = call(sandbox, "GET", "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_sandbox_creates_users_whose_sub_is_in_the_token(sandbox: Sandbox, alice: User) -> None:
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    assert (claims["sub"], claims["email"], claims["token_use"]) == (alice.sub, alice.email, "id")


def test_sandbox_user_create_editor_puts_the_user_in_editors(sandbox: Sandbox) -> None:
    email = f"editor-{uuid.uuid4().hex[:8]}@example.com"
    sandbox.cli("user", "create", email, PASSWORD, "--editor")
    claims = jwt.decode(sandbox.cli("token", email, PASSWORD), options={"verify_signature": False})
    assert claims["cognito:groups"] == ["editors"]


# -- todos over HTTP ------------------------------------------------------------------------


def test_create_todo_is_201_with_location_and_etag(sandbox: Sandbox, alice: User) -> None:
    response = call(sandbox, "POST", "/todos", alice.token, {"title": " Call mum ", "tags": ["x"]})
    assert response.status_code == 201
    created = response.json()
    assert created["title"] == "Call mum"
    assert response.headers["Location"] == f"/todos/{created['id']}"
    assert response.headers["ETag"] == '"1"'


def test_get_todo_is_200_with_etag(sandbox: Sandbox, alice: User, todo: dict[str, Any]) -> None:
    response = call(sandbox, "GET", f"/todos/{todo['id']}", alice.token)
    assert response.status_code == 200
    assert response.json() == todo
    assert response.headers["ETag"] == '"1"'


def test_get_todo_with_current_etag_is_304(
    sandbox: Sandbox, alice: User, todo: dict[str, Any]
) -> None:
    response = call(sandbox, "GET", f"/todos/{todo['id']}", alice.token, If_None_Match='"1"')
    assert response.status_code == 304
    assert response.content == b""


def test_patch_todo_is_200_with_the_next_version(
    sandbox: Sandbox, alice: User, todo: dict[str, Any]
) -> None:
    response = call(
        sandbox, "PATCH", f"/todos/{todo['id']}", alice.token, {"done": True}, If_Match='"1"'
    )
    assert response.status_code == 200
    assert (response.json()["done"], response.json()["version"]) == (True, 2)
    assert response.headers["ETag"] == '"2"'


def test_patch_todo_with_stale_if_match_is_412(
    sandbox: Sandbox, alice: User, todo: dict[str, Any]
) -> None:
    path = f"/todos/{todo['id']}"
    assert call(sandbox, "PATCH", path, alice.token, {"done": True}).status_code == 200
    response = call(sandbox, "PATCH", path, alice.token, {"title": "Late"}, If_Match='"1"')
    assert_envelope(response, 412, "PreconditionFailedError")


def test_delete_todo_is_204_then_404(sandbox: Sandbox, alice: User, todo: dict[str, Any]) -> None:
    path = f"/todos/{todo['id']}"
    response = call(sandbox, "DELETE", path, alice.token)
    assert response.status_code == 204
    assert response.content == b""
    assert_envelope(call(sandbox, "GET", path, alice.token), 404, "NotFoundError")


@pytest.mark.parametrize(
    "attempt",
    [("GET", None), ("PATCH", {"title": "Mine now"}), ("DELETE", None)],
    ids=["GET", "PATCH", "DELETE"],
)
def test_another_users_todo_is_404(
    sandbox: Sandbox,
    alice: User,
    bob: User,
    todo: dict[str, Any],
    attempt: tuple[str, dict[str, Any] | None],
) -> None:
    method, body = attempt
    path = f"/todos/{todo['id']}"
    assert_envelope(call(sandbox, method, path, bob.token, body), 404, "NotFoundError")
    assert call(sandbox, "GET", path, alice.token).json() == todo


def test_pagination_walks_every_todo_once(sandbox: Sandbox) -> None:
    user = create_user(sandbox, "pager")
    created = {
        call(sandbox, "POST", "/todos", user.token, {"title": f"todo {i}"}).json()["id"]
        for i in range(45)
    }
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "?limit=10" + (f"&cursor={cursor}" if cursor else "")
        response = call(sandbox, "GET", f"/todos{query}", user.token)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "next_cursor never ran out"
    assert len(seen) == len(set(seen)) == 45
    assert set(seen) == created
    assert pages == 5


# -- authentication -------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _resign(token: str, key: Any, **changes: Any) -> str:
    """The token's claims, changed, signed with another key under the same kid."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def moto_key() -> Any:
    """moto's private signing key: the sandbox's user pool signs with it, so a token re-signed
    with it after a change fails on that change alone (requirements pin moto; a moto that moved
    the key fails here, naming where it was looked for, instead of skipping these checks)."""
    from moto.utilities.utils import load_resource  # noqa: PLC0415

    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


_EXPIRED = {"iat": int(time.time()) - 7200, "auth_time": int(time.time()) - 7200}
_EXPIRED_AT = int(time.time()) - 3600


def _access_token(sandbox: Sandbox, user: User) -> str:
    result = sandbox.client("cognito-idp").initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=sandbox.endpoints["user_pool_client_id"],
        AuthParameters={"USERNAME": user.email, "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"]["AccessToken"])


def _alg_none(token: str) -> str:
    header = {**jwt.get_unverified_header(token), "alg": "none"}
    claims = jwt.decode(token, options={"verify_signature": False})
    return f"{_b64(header)}.{_b64(claims)}."


BAD_AUTH: dict[str, Callable[[Sandbox, User], str | None]] = {
    "missing": lambda s, u: None,
    "garbage": lambda s, u: "x",
    "bearer-garbage": lambda s, u: "Bearer x.y.z",
    "forged": lambda s, u: _resign(u.token, OWN_KEY),
    "alg-none": lambda s, u: _alg_none(u.token),
    "expired-own-key": lambda s, u: _resign(u.token, OWN_KEY, exp=_EXPIRED_AT, **_EXPIRED),
    "access-token": _access_token,
}
BAD_AUTH_MOTO_KEY: dict[str, tuple[dict[str, Any], str]] = {
    "expired": ({"exp": _EXPIRED_AT, **_EXPIRED}, "expired"),
    "wrong-audience": ({"aud": "another-app-client"}, "another app client"),
    "wrong-issuer": ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/x"}, "another user pool"),
    "not-an-id-token": ({"token_use": "access"}, "ID token"),
    "refresh-token-use": ({"token_use": "refresh"}, "ID token"),
}


@pytest.mark.parametrize("case", list(BAD_AUTH))
def test_bad_authorization_is_401_envelope(sandbox: Sandbox, alice: User, case: str) -> None:
    header = BAD_AUTH[case](sandbox, alice)
    response = call(sandbox, "GET", "/todos", header)
    assert_envelope(response, 401, "UnauthorizedError")


@pytest.mark.parametrize("case", list(BAD_AUTH_MOTO_KEY))
def test_genuinely_signed_bad_token_is_401_for_the_right_reason(
    sandbox: Sandbox, alice: User, moto_key: Any, case: str
) -> None:
    changes, reason = BAD_AUTH_MOTO_KEY[case]
    response = call(sandbox, "GET", "/todos", _resign(alice.token, moto_key, **changes))
    assert reason in assert_envelope(response, 401, "UnauthorizedError")


def test_token_resigned_with_moto_key_unchanged_is_accepted(
    sandbox: Sandbox, alice: User, moto_key: Any
) -> None:
    # Proves the cases above fail on the claim they change, not on the signature.
    response = call(sandbox, "GET", "/todos", _resign(alice.token, moto_key))
    assert response.status_code == 200


def test_bearer_id_token_is_accepted(sandbox: Sandbox, alice: User) -> None:
    response = call(sandbox, "GET", "/todos?limit=1", f"Bearer {alice.token}")
    assert response.status_code == 200
    assert set(response.json()) == {"items", "next_cursor"}


# -- CLI reset and lifecycle ----------------------------------------------------------------


def _item_counts(sandbox: Sandbox) -> dict[str, int]:
    dynamodb = sandbox.client("dynamodb")
    return {
        table: int(dynamodb.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"])
        for table in dynamodb.list_tables()["TableNames"]
    }


def _usernames(sandbox: Sandbox) -> list[str]:
    users = sandbox.client("cognito-idp").list_users(UserPoolId=sandbox.endpoints["user_pool_id"])
    return [u["Username"] for u in users["Users"]]


def test_reset_empties_every_table_and_keeps_users(sandbox: Sandbox, alice: User) -> None:
    keyed = call(sandbox, "POST", "/todos", alice.token, {"title": "t"}, Idempotency_Key="k-1")
    assert keyed.status_code == 201
    assert sum(_item_counts(sandbox).values()) >= 2
    sandbox.cli("reset")
    assert set(_item_counts(sandbox).values()) == {0}
    assert call(sandbox, "GET", "/todos", alice.token).json()["items"] == []
    assert sandbox.cli("token", alice.email, PASSWORD)


def test_reset_users_deletes_every_user(fresh_sandbox: Sandbox) -> None:
    create_user(fresh_sandbox, "doomed")
    assert len(_usernames(fresh_sandbox)) == 1
    fresh_sandbox.cli("reset", "--users")
    assert _usernames(fresh_sandbox) == []


def test_sigterm_stops_the_sandbox_and_removes_endpoints(fresh_sandbox: Sandbox) -> None:
    assert fresh_sandbox.stop() == 0
    assert not fresh_sandbox.endpoints_file.exists()
    for url in (fresh_sandbox.api, fresh_sandbox.endpoints["aws_endpoint_url"]):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=2)
    assert "Sandbox stopped." in fresh_sandbox.output()


def test_fire_runs_the_warmer_against_the_running_sandbox(sandbox: Sandbox) -> None:
    report = json.loads(sandbox.cli("fire", "warm_api"))
    # SANDBOX_WARM_CONCURRENCY's default; every call lands in the one sandbox process.
    assert report == {"invoked": 2, "containers": 1, "cold": 1, "failed": 0}


def test_fire_names_the_scheduled_handlers_when_asked_for_another(sandbox: Sandbox) -> None:
    done = sandbox.run_cli("fire", "make_thumbnails")
    assert done.returncode == 1
    assert "warm_api" in done.stderr


def test_cors_preflight_of_a_todo_route_allows_web_clients(sandbox: Sandbox) -> None:
    response = requests.options(
        f"{sandbox.api}/todos",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(","))


# -- logs: the same events as in Lambda, readable, nothing personal -----------------------------


def test_sandbox_log_shows_request_events_and_nothing_personal(
    sandbox: Sandbox, alice: User
) -> None:
    reader = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    assert call(sandbox, "POST", "/todos", alice.token, {"title": "log me"}).status_code == 201
    assert call(sandbox, "GET", "/todos", "Bearer " + alice.token).status_code == 200
    assert call(sandbox, "GET", "/todos", alice.token + "x").status_code == 401
    assert call(sandbox, "POST", "/subscriptions", body={"email": reader}).status_code == 202
    deadline = time.monotonic() + 30
    mails: list[Any] = []
    while not mails and time.monotonic() < deadline:
        # The confirmation mail went through the stream handler, SES and their log lines.
        mails = json.loads(sandbox.cli("mail", "--to", reader, "--json"))
        time.sleep(0.2)
    assert mails, "no confirmation mail within 30 s"
    log = sandbox.output()
    assert "POST /todos 201" in log
    assert "GET /todos 200" in log
    for secret in (alice.email, reader, alice.token):
        assert secret not in log
    # The start-up banner shows example commands (an address, a password); log lines show none.
    events = [line for line in log.splitlines() if re.search(r" (INFO|WARNING|ERROR) ", line)]
    assert events
    assert not [line for line in events if "@" in line or PASSWORD in line]
