"""HTTP behaviour of /todos and /health through chalice.test.Client: every status and envelope."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from chalice.test import Client
from pynamodb.exceptions import GetError

from chalicelib.store.models import TodoModel
from tests.conftest import OTHER_KEY, headers_for, make_token
from tests.helpers import assert_error

ALICE = headers_for("alice")
BOB = headers_for("bob")


def _post(client: Client, body: Any, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.http.post("/todos", headers=headers or ALICE, body=raw)


def _create(client: Client, title: str = "t", headers: dict[str, str] | None = None) -> Any:
    response = _post(client, {"title": title}, headers)
    assert response.status_code == 201
    return response.json_body


def test_health_needs_no_token(client: Client) -> None:
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body["status"] == "ok"
    assert response.json_body["version"]


def test_create_todo_returns_201_location_and_etag(client: Client) -> None:
    response = _post(client, {"title": "Buy milk"})
    assert response.status_code == 201
    todo = response.json_body
    assert response.headers["Location"] == f"/todos/{todo['id']}"
    assert response.headers["ETag"] == '"1"'
    assert set(todo) == {
        "id",
        "title",
        "notes",
        "done",
        "due",
        "tags",
        "created_at",
        "updated_at",
        "version",
    }


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("{not json", "not valid JSON"),
        ("", "request body is required"),
        ("[1, 2]", "must be a JSON object, not an array"),
        ('"title"', "must be a JSON object, not a string"),
        (b"\xff\xfe", "UTF-8"),
        ({"title": "t", "colour": "red"}, "unknown field(s): colour"),
        ({"title": 42}, "title must be a string"),
        ({"title": "  "}, "title must not be blank"),
        ({"title": "x" * 201}, "limit is 200"),
        ({"title": "t", "tags": ["t"] * 21}, "tags has 21 items"),
        ({"title": "t", "due": "next week"}, "due"),
        ({"title": "t", "done": 1}, "done must be true or false"),
        # Characters XML 1.0 forbids or discourages, in every text field (the body's boundary).
        ({"title": "Nonchar \uffff end"}, "title contains a character that text cannot hold"),
        ({"title": "t", "notes": "a\ufdd0b"}, "notes contains a character that text cannot"),
        ({"title": "t", "tags": ["ok", "\U0001fffe"]}, "an item of tags contains a character"),
        ({"title": "t", "\x08": 1}, "a field name in the body contains a character"),
    ],
)
def test_create_todo_bad_input_is_400(client: Client, body: Any, text: str) -> None:
    assert_error(_post(client, body), 400, "BadRequestError", text)


def test_create_todo_body_over_400kb_is_413(client: Client) -> None:
    body = json.dumps({"title": "t", "notes": "n" * (400 * 1024)})
    assert_error(_post(client, body), 413, "PayloadTooLargeError", "limit")


def test_create_todo_wrong_content_type_is_415(client: Client) -> None:
    headers = {**ALICE, "Content-Type": "text/plain"}
    assert_error(_post(client, "title=t", headers), 415, "UnsupportedMediaType", "text/plain")


def test_create_todo_idempotent_replay_returns_first_response(client: Client) -> None:
    headers = {**ALICE, "Idempotency-Key": "retry-1"}
    first = _post(client, {"title": "once"}, headers)
    second = _post(client, {"title": "once"}, headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json_body == first.json_body
    assert second.headers["Location"] == first.headers["Location"]
    listed = client.http.get("/todos", headers=ALICE).json_body["items"]
    assert len(listed) == 1


def test_create_todo_idempotency_key_with_other_body_is_409(client: Client) -> None:
    headers = {**ALICE, "Idempotency-Key": "retry-1"}
    _post(client, {"title": "once"}, headers)
    assert_error(
        _post(client, {"title": "twice"}, headers), 409, "ConflictError", "Idempotency-Key"
    )


def test_create_todo_idempotency_key_over_64_is_400(client: Client) -> None:
    headers = {**ALICE, "Idempotency-Key": "k" * 65}
    assert_error(_post(client, {"title": "t"}, headers), 400, "BadRequestError", "64")


def test_get_todo_sends_etag_and_304_on_match(client: Client) -> None:
    todo = _create(client)
    response = client.http.get(f"/todos/{todo['id']}", headers=ALICE)
    assert response.status_code == 200
    assert response.json_body == todo
    etag = response.headers["ETag"]
    cached = client.http.get(f"/todos/{todo['id']}", headers={**ALICE, "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.body == b""
    assert cached.headers["ETag"] == etag


def test_get_todo_with_the_weak_tag_of_its_version_is_304(client: Client) -> None:
    # If-None-Match compares weakly (RFC 9110, 13.1.2): W/"1" names version 1.
    todo = _create(client)
    headers = {**ALICE, "If-None-Match": 'W/"1"'}
    assert client.http.get(f"/todos/{todo['id']}", headers=headers).status_code == 304


@pytest.mark.parametrize(
    ("method", "body"), [("patch", '{"done": true}'), ("put", '{"title": "u"}'), ("delete", None)]
)
def test_write_with_the_weak_tag_of_the_current_version_is_412(
    client: Client, method: str, body: str | None
) -> None:
    # If-Match compares strongly (RFC 9110, 13.1.1): a weak tag never matches, so W/"1" does
    # not license a write of version 1.
    todo = _create(client)
    response = getattr(client.http, method)(
        f"/todos/{todo['id']}", headers={**ALICE, "If-Match": 'W/"1"'}, body=body
    )
    envelope = assert_error(response, 412, "PreconditionFailedError")
    assert envelope["Current"] == todo


def test_get_todo_with_old_etag_is_200(client: Client) -> None:
    todo = _create(client)
    client.http.patch(f"/todos/{todo['id']}", headers=ALICE, body='{"done": true}')
    response = client.http.get(f"/todos/{todo['id']}", headers={**ALICE, "If-None-Match": '"1"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


def test_get_missing_todo_is_404(client: Client) -> None:
    assert_error(client.http.get("/todos/nope", headers=ALICE), 404, "NotFoundError", "nope")


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_another_users_todo_is_404_for_every_method(client: Client, method: str) -> None:
    todo = _create(client)
    call = getattr(client.http, method)
    kwargs: dict[str, Any] = {"headers": BOB}
    if method in ("put", "patch"):
        # PUT replaces only with If-Match (with If-None-Match: * it creates Bob's own todo).
        kwargs = {"headers": {**BOB, "If-Match": '"1"'}, "body": '{"title": "mine"}'}
    assert_error(call(f"/todos/{todo['id']}", **kwargs), 404, "NotFoundError")
    assert client.http.get(f"/todos/{todo['id']}", headers=ALICE).json_body == todo


def test_patch_todo_returns_200_and_new_etag(client: Client) -> None:
    todo = _create(client)
    response = client.http.patch(
        f"/todos/{todo['id']}", headers={**ALICE, "If-Match": '"1"'}, body='{"done": true}'
    )
    assert response.status_code == 200
    assert response.json_body["done"] is True
    assert response.headers["ETag"] == '"2"'


def test_patch_todo_stale_if_match_is_412(client: Client) -> None:
    todo = _create(client)
    client.http.patch(f"/todos/{todo['id']}", headers=ALICE, body='{"done": true}')
    response = client.http.patch(
        f"/todos/{todo['id']}", headers={**ALICE, "If-Match": '"1"'}, body='{"title": "x"}'
    )
    body = assert_error(response, 412, "PreconditionFailedError", "current version (2)")
    assert body["Current"] == client.http.get(f"/todos/{todo['id']}", headers=ALICE).json_body


def test_patch_todo_bad_input_is_400(client: Client) -> None:
    todo = _create(client)
    response = client.http.patch(f"/todos/{todo['id']}", headers=ALICE, body='{"title": ""}')
    assert_error(response, 400, "BadRequestError", "title")


def test_patch_todo_malformed_json_is_400(client: Client) -> None:
    todo = _create(client)
    response = client.http.patch(f"/todos/{todo['id']}", headers=ALICE, body="{")
    assert_error(response, 400, "BadRequestError", "not valid JSON")


def test_delete_todo_is_204_then_404(client: Client) -> None:
    todo = _create(client)
    response = client.http.delete(f"/todos/{todo['id']}", headers=ALICE)
    assert response.status_code == 204
    assert response.body == b""
    assert_error(client.http.get(f"/todos/{todo['id']}", headers=ALICE), 404, "NotFoundError")


def test_delete_todo_stale_if_match_is_412(client: Client) -> None:
    todo = _create(client)
    client.http.patch(f"/todos/{todo['id']}", headers=ALICE, body='{"done": true}')
    response = client.http.delete(f"/todos/{todo['id']}", headers={**ALICE, "If-Match": '"1"'})
    current = assert_error(response, 412, "PreconditionFailedError")["Current"]
    assert (current["version"], current["done"]) == (2, True)


def test_list_todos_pages_with_cursor(client: Client) -> None:
    for i in range(5):
        _create(client, f"t{i}")
    first = client.http.get("/todos?limit=2", headers=ALICE).json_body
    assert len(first["items"]) == 2
    second = client.http.get(f"/todos?limit=2&cursor={first['next_cursor']}", headers=ALICE)
    assert second.status_code == 200
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second.json_body["items"]}


def test_list_todos_default_limit_is_20(client: Client) -> None:
    for i in range(21):
        _create(client, f"t{i}")
    page = client.http.get("/todos", headers=ALICE).json_body
    assert len(page["items"]) == 20
    assert page["next_cursor"]


def test_list_todos_filters_done(client: Client) -> None:
    _create(client, "open")
    done = _post(client, {"title": "closed", "done": True}).json_body
    page = client.http.get("/todos?done=true", headers=ALICE).json_body
    assert [t["id"] for t in page["items"]] == [done["id"]]


def test_list_todos_delta_sync_includes_deletions(client: Client) -> None:
    kept = _create(client, "kept")
    gone = _create(client, "gone")
    client.http.delete(f"/todos/{gone['id']}", headers=ALICE)
    since = kept["created_at"]
    page = client.http.get(f"/todos?updated_since={since}", headers=ALICE).json_body
    stamp = page["items"][0]["updated_at"]
    assert page["items"] == [{"id": gone["id"], "deleted": True, "updated_at": stamp, "version": 2}]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("limit=01", "without leading zeros"),
        ("limit=0001", "without leading zeros"),
        ("done=maybe", "done"),
        ("cursor=forged", "cursor"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-11-23", "updated_since"),
        ("updated_since=2026-11-23T10:00:00Z&done=true", "cannot be combined"),
    ],
)
def test_list_todos_bad_query_is_400(client: Client, query: str, text: str) -> None:
    assert_error(client.http.get(f"/todos?{query}", headers=ALICE), 400, "BadRequestError", text)


def test_list_todos_foreign_cursor_is_400(client: Client) -> None:
    for i in range(3):
        _create(client, f"t{i}")
    cursor = client.http.get("/todos?limit=1", headers=ALICE).json_body["next_cursor"]
    response = client.http.get(f"/todos?limit=1&cursor={cursor}", headers=BOB)
    assert_error(response, 400, "BadRequestError", "another")


def _unsigned(claims: dict[str, Any]) -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": "test-key"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(claims).encode())
    return f"{header.decode()}.{body.decode()}."


def _alg_none() -> str:
    now = int(time.time())
    return _unsigned(
        {
            "sub": "alice",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
            "aud": "test-app-client",
            "token_use": "id",
            "iat": now,
            "exp": now + 3600,
        }
    )


@pytest.mark.parametrize(
    ("authorization", "text"),
    [
        (None, "missing Authorization"),
        ("", "missing Authorization"),
        ("x", "well-formed"),
        ("Bearer", "well-formed"),
        ("a.b.c", "well-formed"),
        (_alg_none(), ""),
        (make_token("alice", key=OTHER_KEY), "not valid"),
        (make_token("alice", expires_in=-60), "expired"),
        (make_token("alice", audience="another-client"), "another app client"),
        (make_token("alice", issuer="https://cognito-idp.example/other"), "another user pool"),
        (make_token("alice", token_use="access"), "ID token"),
        # Any token_use but "id" is refused, not only "access" (Cognito's refresh tokens are
        # opaque, but a JWT that says "refresh" must not pass as an ID token either).
        (make_token("alice", token_use="refresh"), "ID token"),
        (make_token("alice", token_use="ID"), "ID token"),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "bearer-only",
        "three-parts",
        "alg-none",
        "forged",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "access-token",
        "refresh-token-use",
        "uppercase-token-use",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/todos"), ("post", "/todos"), ("get", "/todos/x"), ("delete", "/todos/x")],
)
def test_bad_token_is_401_in_envelope(
    client: Client, authorization: str | None, text: str, method: str, path: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = getattr(client.http, method)(path, headers=headers, body='{"title": "t"}')
    assert_error(response, 401, "UnauthorizedError", text)


def test_bearer_prefix_is_accepted(client: Client) -> None:
    headers = {"Authorization": f"Bearer {make_token('alice')}"}
    assert client.http.get("/todos", headers=headers).status_code == 200


def test_throttled_storage_is_429_with_retry_after(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    todo = _create(client)

    def throttled(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        cause = ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "GetItem",
        )
        raise GetError("Failed to get item", cause)

    monkeypatch.setattr(TodoModel, "get", throttled)
    response = client.http.get(f"/todos/{todo['id']}", headers=ALICE)
    assert_error(response, 429, "TooManyRequestsError", "retry")
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize("path", ["/health", "/todos", "/photos"])
def test_bodyless_request_with_any_content_type_is_served(client: Client, path: str) -> None:
    headers = {**ALICE, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.http.get(path, headers=headers).status_code == 200
