"""Idempotency-Key on every todo write over HTTP: a retry gets the first answer with
`Idempotent-Replayed: true` even after the todo changed again, and applies nothing; the same key
on another request is a 409; a failed write keeps no key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.models import IdempotencyModel
from tests.conftest import headers_for
from tests.helpers import assert_error

ALICE = headers_for("alice")
BOB = headers_for("bob")
REPLAYED = "Idempotent-Replayed"


def _send(
    client: Client, method: str, url: str, body: Any = None, who: Any = None, **headers: str
) -> Any:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    raw = b"" if body is None else json.dumps(body).encode()
    return client.http.request(method, url, headers={**(who or ALICE), **named}, body=raw)


def _create(client: Client, todo_id: str = "t1", title: str = "Buy milk") -> dict[str, Any]:
    answer = _send(client, "PUT", f"/todos/{todo_id}", {"title": title}, If_None_Match="*")
    assert answer.status_code == 201
    body: dict[str, Any] = answer.json_body
    return body


def _current(client: Client, todo_id: str = "t1") -> dict[str, Any]:
    """The todo as the server holds it, or its tombstone (delta sync lists both)."""
    since = "/todos?updated_since=2000-01-01T00:00:00Z&limit=100"
    items = _send(client, "GET", since).json_body["items"]
    return next(item for item in items if item["id"] == todo_id)


def _batch(client: Client, *requests: dict[str, Any], **headers: str) -> Any:
    return _send(client, "POST", "/todos/batch", {"requests": list(requests)}, **headers)


# -- replays after the todo changed again --------------------------------------------------------


@pytest.mark.parametrize("if_match", [{"If_Match": '"1"'}, {}], ids=["if-match", "unconditional"])
def test_patch_retry_after_another_change_replays_the_first_answer(
    client: Client, if_match: dict[str, str]
) -> None:
    _create(client)
    first = _send(client, "PATCH", "/todos/t1", {"done": True}, Idempotency_Key="p1", **if_match)
    assert (first.status_code, first.headers["ETag"]) == (200, '"2"')
    assert REPLAYED not in first.headers
    _send(client, "PATCH", "/todos/t1", {"done": False, "title": "Other device"})

    again = _send(client, "PATCH", "/todos/t1", {"done": True}, Idempotency_Key="p1", **if_match)

    assert again.status_code == 200
    assert again.headers[REPLAYED] == "true"
    assert again.headers["ETag"] == '"2"'
    assert again.json_body == first.json_body
    now = _current(client)
    assert (now["version"], now["done"], now["title"]) == (3, False, "Other device")


def test_put_replace_retry_after_another_change_replays_the_first_answer(client: Client) -> None:
    _create(client)
    body = {"title": "Replaced", "tags": ["x"]}
    first = _send(client, "PUT", "/todos/t1", body, If_Match='"1"', Idempotency_Key="r1")
    assert first.status_code == 200
    _send(client, "PATCH", "/todos/t1", {"tags": []})

    again = _send(client, "PUT", "/todos/t1", body, If_Match='"1"', Idempotency_Key="r1")

    assert (again.status_code, again.headers[REPLAYED], again.headers["ETag"]) == (
        200,
        "true",
        '"2"',
    )
    assert again.json_body == first.json_body
    assert (_current(client)["version"], _current(client)["tags"]) == (3, [])


def test_put_create_retry_replays_201_instead_of_412(client: Client) -> None:
    create = {"If_None_Match": "*", "Idempotency_Key": "c"}
    first = _send(client, "PUT", "/todos/n1", {"title": "t"}, **create)
    _send(client, "PATCH", "/todos/n1", {"title": "changed"})

    again = _send(client, "PUT", "/todos/n1", {"title": "t"}, **create)

    assert (again.status_code, again.headers[REPLAYED], again.headers["ETag"]) == (
        201,
        "true",
        '"1"',
    )
    assert again.json_body == first.json_body
    assert _current(client, "n1")["version"] == 2


def test_delete_retry_replays_204_instead_of_404(client: Client) -> None:
    _create(client)
    first = _send(client, "DELETE", "/todos/t1", If_Match='"1"', Idempotency_Key="d1")
    assert (first.status_code, first.body) == (204, b"")

    again = _send(client, "DELETE", "/todos/t1", If_Match='"1"', Idempotency_Key="d1")

    assert (again.status_code, again.body, again.headers[REPLAYED]) == (204, b"", "true")
    assert _current(client)["version"] == 2  # the tombstone was not written again


def test_post_retry_replays_201_with_location_and_etag(client: Client) -> None:
    first = _send(client, "POST", "/todos", {"title": "t"}, Idempotency_Key="k")
    _send(client, "PATCH", f"/todos/{first.json_body['id']}", {"done": True})

    again = _send(client, "POST", "/todos", {"title": "t"}, Idempotency_Key="k")

    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == '"1"'
    assert again.json_body == first.json_body
    assert len(_send(client, "GET", "/todos").json_body["items"]) == 1


def test_batch_request_retry_replays_each_first_answer(client: Client) -> None:
    _create(client)
    requests = (
        {"id": "1", "method": "PUT", "url": "/todos/n1", "body": {"title": "new"},
         "headers": {"If-None-Match": "*", "Idempotency-Key": "b-create-1"}},
        {"id": "2", "method": "PUT", "url": "/todos/n2", "body": {"title": "new"},
         "headers": {"If-None-Match": "*", "idempotency-key": "b-create-2"}},
        {"id": "3", "method": "PATCH", "url": "/todos/t1", "body": {"done": True},
         "headers": {"If-Match": '"1"', "Idempotency-Key": "b-patch"}},
        {"id": "4", "method": "DELETE", "url": "/todos/n2",
         "headers": {"Idempotency-Key": "b-del"}},
    )  # fmt: skip
    first = _batch(client, *requests).json_body["responses"]
    assert [r["status"] for r in first] == [201, 201, 200, 204]
    assert all(REPLAYED not in r["headers"] for r in first)
    _send(client, "PATCH", "/todos/t1", {"title": "Other device"})
    _send(client, "PATCH", "/todos/n1", {"title": "Other device"})

    again = _batch(client, *requests).json_body["responses"]

    assert [r["status"] for r in again] == [201, 201, 200, 204]
    assert [r["headers"] for r in again] == [{**r["headers"], REPLAYED: "true"} for r in first]
    assert [r["body"] for r in again] == [r["body"] for r in first]
    assert (_current(client)["version"], _current(client)["done"]) == (3, True)
    assert (_current(client, "n1")["version"], _current(client, "n2")["version"]) == (2, 2)


def test_single_request_retried_inside_a_batch_replays(client: Client) -> None:
    """A batch request means what it means alone: the key and its request are the same."""
    _create(client)
    first = _send(client, "PATCH", "/todos/t1", {"done": True}, Idempotency_Key="same")
    request = {"id": "1", "method": "PATCH", "url": "/todos/t1", "body": {"done": True},
               "headers": {"Idempotency-Key": "same"}}  # fmt: skip

    (again,) = _batch(client, request).json_body["responses"]

    assert (again["status"], again["headers"][REPLAYED], again["body"]) == (
        200,
        "true",
        first.json_body,
    )
    assert _current(client)["version"] == 2


# -- the same key on another request ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body", "headers"),
    [
        ("PATCH", "/todos/t1", {"done": False}, {}),
        ("PATCH", "/todos/t2", {"done": True}, {}),
        ("PUT", "/todos/t1", {"title": "t", "done": True}, {"If_Match": '"2"'}),
        ("DELETE", "/todos/t1", None, {}),
        ("PATCH", "/todos/t1", {"done": True}, {"If_Match": '"2"'}),
        ("POST", "/todos", {"title": "t"}, {}),
    ],
    ids=["other-body", "other-url", "other-method", "delete", "other-if-match", "post"],
)
def test_key_reused_on_another_request_is_409_and_applies_nothing(
    client: Client, method: str, url: str, body: Any, headers: dict[str, str]
) -> None:
    _create(client, "t1")
    _create(client, "t2")
    _send(client, "PATCH", "/todos/t1", {"done": True}, Idempotency_Key="k1")

    reused = _send(client, method, url, body, Idempotency_Key="k1", **headers)

    assert_error(reused, 409, "ConflictError", "Idempotency-Key")
    assert (_current(client, "t1")["version"], _current(client, "t2")["version"]) == (2, 1)
    assert len(_send(client, "GET", "/todos").json_body["items"]) == 2


def test_key_reused_in_a_batch_fails_that_request_alone(client: Client) -> None:
    _create(client)
    _send(client, "PATCH", "/todos/t1", {"done": True}, Idempotency_Key="k1")
    reused = {"id": "1", "method": "PATCH", "url": "/todos/t1", "body": {"done": False},
              "headers": {"Idempotency-Key": "k1"}}  # fmt: skip
    fresh = {"id": "2", "method": "PUT", "url": "/todos/n1", "body": {"title": "t"},
             "headers": {"If-None-Match": "*", "Idempotency-Key": "k2"}}  # fmt: skip

    answers = _batch(client, reused, fresh).json_body["responses"]

    assert [(r["status"], r["body"].get("Code")) for r in answers] == [
        (409, "ConflictError"),
        (201, None),
    ]
    assert _current(client)["done"] is True


def test_two_creates_of_one_batch_with_one_key_create_one(client: Client) -> None:
    """Two requests of one batch cannot share a transaction item: the second is judged alone."""
    one = {"id": "1", "method": "PUT", "url": "/todos/n1", "body": {"title": "t"},
           "headers": {"If-None-Match": "*", "Idempotency-Key": "k"}}  # fmt: skip
    two = {**one, "id": "2", "url": "/todos/n2"}

    answers = _batch(client, one, two).json_body["responses"]

    assert [r["status"] for r in answers] == [201, 409]
    assert [t["id"] for t in _send(client, "GET", "/todos").json_body["items"]] == ["n1"]


def test_keys_belong_to_their_caller(client: Client) -> None:
    _create(client)
    _send(client, "PATCH", "/todos/t1", {"done": True}, Idempotency_Key="k1")
    _send(client, "PUT", "/todos/t1", {"title": "bob's"}, who=BOB, If_None_Match="*")

    theirs = _send(client, "PATCH", "/todos/t1", {"done": True}, who=BOB, Idempotency_Key="k1")

    assert theirs.status_code == 200
    assert REPLAYED not in theirs.headers
    assert theirs.json_body["title"] == "bob's"


# -- failures keep no key -----------------------------------------------------------------------


def test_a_failed_write_keeps_no_key_and_its_retry_is_judged_afresh(client: Client) -> None:
    """A 404 (or 412) has no transaction to carry the key: the retry runs as a new request."""
    missing = _send(client, "PATCH", "/todos/later", {"done": True}, Idempotency_Key="k1")
    assert_error(missing, 404, "NotFoundError")
    _create(client, "later")

    retried = _send(client, "PATCH", "/todos/later", {"done": True}, Idempotency_Key="k1")

    assert retried.status_code == 200
    assert REPLAYED not in retried.headers
    assert retried.json_body["done"] is True


def test_a_stale_if_match_keeps_no_key(client: Client) -> None:
    _create(client)
    stale = _send(client, "PATCH", "/todos/t1", {"done": True}, If_Match='"9"', Idempotency_Key="k")
    assert_error(stale, 412, "PreconditionFailedError")
    assert IdempotencyModel.count() == 0


# -- bad keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "PUT"])
def test_malformed_key_is_400_and_applies_nothing(client: Client, method: str) -> None:
    _create(client)
    body = None if method == "DELETE" else {"title": "t"}
    headers = {"If_Match": '"1"'} if method == "PUT" else {}

    answer = _send(client, method, "/todos/t1", body, Idempotency_Key="with space", **headers)

    assert_error(answer, 400, "BadRequestError", "Idempotency-Key")
    assert _current(client)["version"] == 1


def test_malformed_key_in_a_batch_fails_that_request_alone(client: Client) -> None:
    bad = {"id": "1", "method": "PUT", "url": "/todos/n1", "body": {"title": "t"},
           "headers": {"If-None-Match": "*", "Idempotency-Key": "k" * 65}}  # fmt: skip
    good = {**bad, "id": "2", "url": "/todos/n2", "headers": {"If-None-Match": "*"}}

    answers = _batch(client, bad, good).json_body["responses"]

    assert [(r["status"], r["body"].get("Code")) for r in answers] == [
        (400, "BadRequestError"),
        (201, None),
    ]
    assert "Idempotency-Key" in answers[0]["body"]["Message"]


def test_key_on_the_batch_itself_is_400(client: Client) -> None:
    request = {"id": "1", "method": "PUT", "url": "/todos/n1", "body": {"title": "t"},
               "headers": {"If-None-Match": "*"}}  # fmt: skip

    answer = _batch(client, request, Idempotency_Key="k")

    assert_error(answer, 400, "BadRequestError", "each request's headers")
    assert _send(client, "GET", "/todos").json_body["items"] == []
