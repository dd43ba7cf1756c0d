"""PUT /todos/{id} with client ids, POST /todos/batch and GET /todos/sync over HTTP: statuses,
envelopes (with Current on 412), and batch requests that mean what they mean alone."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import headers_for
from tests.helpers import assert_error

ALICE = headers_for("alice")
BOB = headers_for("bob")
CREATE = {"If-None-Match": "*"}


def _put(client: Client, todo_id: str, body: Any, headers: dict[str, str], who: Any = None) -> Any:
    return client.http.put(
        f"/todos/{todo_id}", headers={**(who or ALICE), **headers}, body=json.dumps(body)
    )


def _batch(client: Client, requests: Any, who: Any = None) -> Any:
    return client.http.post(
        "/todos/batch", headers=who or ALICE, body=json.dumps({"requests": requests})
    )


def _create_request(n: int, todo_id: str, title: str = "t") -> dict[str, Any]:
    return {
        "id": str(n),
        "method": "PUT",
        "url": f"/todos/{todo_id}",
        "headers": CREATE,
        "body": {"title": title},
    }


# -- PUT ---------------------------------------------------------------------------------------


def test_put_if_none_match_creates_with_the_client_id(client: Client) -> None:
    todo_id = str(uuid.uuid4())
    response = _put(client, todo_id, {"title": "offline", "tags": ["a"]}, CREATE)
    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert (response.json_body["id"], response.json_body["version"]) == (todo_id, 1)
    assert client.http.get(f"/todos/{todo_id}", headers=ALICE).json_body == response.json_body


def test_put_create_retry_is_412_with_what_it_created(client: Client) -> None:
    first = _put(client, "abc", {"title": "t"}, CREATE).json_body
    body = assert_error(_put(client, "abc", {"title": "t"}, CREATE), 412, "PreconditionFailedError")
    assert body["Current"] == first


def test_put_create_over_a_tombstone_is_412_with_the_tombstone(client: Client) -> None:
    _put(client, "abc", {"title": "t"}, CREATE)
    client.http.delete("/todos/abc", headers=ALICE)
    body = assert_error(_put(client, "abc", {"title": "t"}, CREATE), 412, "PreconditionFailedError")
    assert body["Current"] == {
        "id": "abc",
        "deleted": True,
        "updated_at": body["Current"]["updated_at"],
        "version": 2,
    }


def test_put_if_match_replaces_the_whole_todo(client: Client) -> None:
    _put(client, "abc", {"title": "t", "notes": "n", "tags": ["x"]}, CREATE)
    response = _put(client, "abc", {"title": "u", "done": True}, {"If-Match": '"1"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    todo = response.json_body
    assert (todo["title"], todo["notes"], todo["tags"], todo["done"]) == ("u", "", [], True)


def test_put_stale_if_match_is_412_with_current(client: Client) -> None:
    _put(client, "abc", {"title": "t"}, CREATE)
    _put(client, "abc", {"title": "theirs"}, {"If-Match": '"1"'})
    response = _put(client, "abc", {"title": "mine"}, {"If-Match": '"1"'})
    body = assert_error(response, 412, "PreconditionFailedError", "current version (2)")
    assert (body["Current"]["title"], body["Current"]["version"]) == ("theirs", 2)


def test_patch_with_if_match_on_a_deleted_todo_is_412_with_the_tombstone(client: Client) -> None:
    _put(client, "abc", {"title": "t"}, CREATE)
    client.http.delete("/todos/abc", headers=ALICE)
    response = client.http.patch(
        "/todos/abc", headers={**ALICE, "If-Match": '"1"'}, body='{"done": true}'
    )
    body = assert_error(response, 412, "PreconditionFailedError")
    assert body["Current"]["deleted"] is True


@pytest.mark.parametrize(
    ("method", "body"), [("patch", {"done": True}), ("put", {"title": "u"}), ("delete", None)]
)
def test_if_match_naming_the_tombstones_own_version_is_412_with_the_tombstone(
    client: Client, method: str, body: Any
) -> None:
    # A deleted todo has no version a write may match, not even its tombstone's (2 here).
    _put(client, "abc", {"title": "t"}, CREATE)
    client.http.delete("/todos/abc", headers=ALICE)
    response = getattr(client.http, method)(
        "/todos/abc",
        headers={**ALICE, "If-Match": '"2"'},
        body=None if body is None else json.dumps(body),
    )
    envelope = assert_error(response, 412, "PreconditionFailedError")
    assert envelope["Current"] == {
        "id": "abc",
        "deleted": True,
        "updated_at": envelope["Current"]["updated_at"],
        "version": 2,
    }


def test_put_without_precondition_is_428(client: Client) -> None:
    response = _put(client, "abc", {"title": "t"}, {})
    assert_error(response, 428, "PreconditionRequiredError", "If-None-Match: *")


@pytest.mark.parametrize("todo_id", ["a" * 65, "has.dot", "sp%20ace"])
def test_put_with_a_bad_client_id_is_400(client: Client, todo_id: str) -> None:
    assert_error(_put(client, todo_id, {"title": "t"}, CREATE), 400, "BadRequestError", "id")


@pytest.mark.parametrize(
    ("headers", "text"),
    [({"If-None-Match": '"1"'}, "If-None-Match: *")],
)
def test_put_with_a_tag_in_if_none_match_is_400(
    client: Client, headers: dict[str, str], text: str
) -> None:
    assert_error(_put(client, "abc", {"title": "t"}, headers), 400, "BadRequestError", text)


@pytest.mark.parametrize("if_match", ['"1"', "*", '"7", "1"'])
def test_put_with_both_preconditions_is_412_whatever_the_todo(
    client: Client, if_match: str
) -> None:
    # DESIGN: 412 whenever both are sent; it was a 404 while the todo did not exist.
    both = {**CREATE, "If-Match": if_match}
    body = assert_error(_put(client, "abc", {"title": "t"}, both), 412, "PreconditionFailedError")
    assert body["Current"] is None
    _put(client, "abc", {"title": "t"}, CREATE)
    body = assert_error(_put(client, "abc", {"title": "u"}, both), 412, "PreconditionFailedError")
    assert body["Current"]["title"] == "t"
    client.http.delete("/todos/abc", headers=ALICE)
    body = assert_error(_put(client, "abc", {"title": "u"}, both), 412, "PreconditionFailedError")
    assert body["Current"]["deleted"] is True
    # Another user's todo of that id is none of this user's: null, as for a missing one.
    body = assert_error(
        _put(client, "abc", {"title": "u"}, both, BOB), 412, "PreconditionFailedError"
    )
    assert body["Current"] is None


def test_batch_put_with_both_preconditions_is_412_as_alone(client: Client) -> None:
    request = {**_create_request(1, "abc"), "headers": {**CREATE, "If-Match": '"1"'}}
    (answer,) = _batch(client, [request]).json_body["responses"]
    assert answer["status"] == 412
    assert answer["body"]["Code"] == "PreconditionFailedError"
    assert answer["body"]["Current"] is None


def test_batch_if_match_compares_strongly_as_alone(client: Client) -> None:
    _put(client, "abc", {"title": "t"}, CREATE)
    weak = {"id": "1", "method": "PATCH", "url": "/todos/abc", "headers": {"If-Match": 'W/"1"'}}
    answers = _batch(client, [{**weak, "body": {"done": True}}]).json_body["responses"]
    assert [(r["status"], r["body"]["Code"]) for r in answers] == [(412, "PreconditionFailedError")]


def test_batch_repeated_request_id_fails_alone(client: Client) -> None:
    answers = _batch(client, [_create_request(1, "a"), _create_request(1, "b")]).json_body
    assert [r["status"] for r in answers["responses"]] == [201, 400]
    assert "used twice" in answers["responses"][1]["body"]["Message"]


def test_put_another_users_id_is_404_to_replace_and_separate_to_create(client: Client) -> None:
    _put(client, "abc", {"title": "alice's"}, CREATE)
    assert_error(_put(client, "abc", {"title": "t"}, {"If-Match": "*"}, BOB), 404, "NotFoundError")
    assert _put(client, "abc", {"title": "bob's"}, CREATE, BOB).status_code == 201
    assert client.http.get("/todos/abc", headers=ALICE).json_body["title"] == "alice's"


# -- batch -------------------------------------------------------------------------------------


def test_batch_applies_each_request_in_order(client: Client) -> None:
    requests = [
        _create_request(1, "a"),
        _create_request(2, "b"),
        {"id": "3", "method": "PATCH", "url": "/todos/a", "body": {"done": True}},
        {"id": "4", "method": "DELETE", "url": "/todos/b", "headers": {"If-Match": '"1"'}},
    ]
    response = _batch(client, requests)
    assert response.status_code == 200
    answers = response.json_body["responses"]
    assert [(r["id"], r["status"]) for r in answers] == [
        ("1", 201),
        ("2", 201),
        ("3", 200),
        ("4", 204),
    ]
    assert answers[0]["headers"] == {"ETag": '"1"'}
    assert answers[2]["body"]["done"] is True
    assert answers[2]["headers"] == {"ETag": '"2"'}
    assert answers[3]["body"] is None
    assert client.http.get("/todos/a", headers=ALICE).json_body == answers[2]["body"]
    assert_error(client.http.get("/todos/b", headers=ALICE), 404, "NotFoundError")


def test_batch_retry_after_a_lost_response_changes_nothing(client: Client) -> None:
    requests = [
        _create_request(1, "a"),
        _create_request(2, "b"),
        {
            "id": "3",
            "method": "PUT",
            "url": "/todos/a",
            "headers": {"If-Match": '"1"'},
            "body": {"title": "v2"},
        },
    ]
    first = _batch(client, requests).json_body["responses"]
    again = _batch(client, requests).json_body["responses"]
    assert [r["status"] for r in first] == [201, 201, 200]
    assert [r["status"] for r in again] == [412, 412, 412]
    assert again[0]["body"]["Current"] == first[2]["body"]
    assert again[1]["body"]["Current"] == first[1]["body"]
    assert client.http.get("/todos/a", headers=ALICE).json_body["version"] == 2


def test_batch_bad_request_fails_alone(client: Client) -> None:
    requests = [
        _create_request(1, "a"),
        {**_create_request(2, "b"), "body": {"title": ""}},
        {"id": "3", "method": "GET", "url": "/todos/a"},
        {"id": "4", "method": "PATCH", "url": "/photos/x", "body": {}},
        {"id": "5", "method": "PUT", "url": "/todos/c", "body": {"title": "t"}},
        _create_request(6, "d"),
        _create_request(7, "sync"),
    ]
    answers = _batch(client, requests).json_body["responses"]
    assert [r["status"] for r in answers] == [201, 400, 400, 400, 428, 201, 400]
    assert "reserved" in answers[6]["body"]["Message"]
    for answer, text in zip(answers[1:5], ["title", "method", "url", "If-None-Match"], strict=True):
        assert set(answer["body"]) == {"Code", "Message"}
        assert text in answer["body"]["Message"]
    assert client.http.get("/todos/d", headers=ALICE).status_code == 200


def test_batch_create_of_an_existing_id_fails_alone_in_a_run(client: Client) -> None:
    _put(client, "b", {"title": "first"}, CREATE)
    answers = _batch(client, [_create_request(n, i) for n, i in enumerate("abc")]).json_body
    assert [r["status"] for r in answers["responses"]] == [201, 412, 201]
    assert answers["responses"][1]["body"]["Current"]["title"] == "first"


def test_batch_touches_another_users_ids_as_404(client: Client) -> None:
    _put(client, "a", {"title": "alice's"}, CREATE)
    requests = [
        {"id": "1", "method": "PATCH", "url": "/todos/a", "body": {"done": True}},
        {"id": "2", "method": "DELETE", "url": "/todos/a"},
    ]
    answers = _batch(client, requests, BOB).json_body["responses"]
    assert [(r["status"], r["body"]["Code"]) for r in answers] == [(404, "NotFoundError")] * 2
    assert client.http.get("/todos/a", headers=ALICE).json_body["version"] == 1


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"requests": [_create_request(n, f"t{n}") for n in range(26)]}, "1 to 25"),
        ({"requests": []}, "1 to 25"),
        ({"requests": "x"}, "1 to 25"),
        ({"requests": [1]}, "requests[0] must be an object"),
        ({"requests": [{"method": "DELETE", "url": "/todos/a"}]}, "requests[0].id"),
        ({"requests": [], "extra": 1}, "unknown field"),
    ],
)
def test_batch_malformed_as_a_whole_is_400(client: Client, body: Any, text: str) -> None:
    response = client.http.post("/todos/batch", headers=ALICE, body=json.dumps(body))
    assert_error(response, 400, "BadRequestError", text)


def test_batch_needs_a_token(client: Client) -> None:
    response = client.http.post("/todos/batch", body=json.dumps({"requests": []}))
    assert_error(response, 401, "UnauthorizedError")


# -- sync --------------------------------------------------------------------------------------


def test_sync_over_http_snapshot_then_changes(client: Client) -> None:
    _put(client, "a", {"title": "t"}, CREATE)
    page = client.http.get("/todos/sync", headers=ALICE).json_body
    assert [i["id"] for i in page["items"]] == ["a"]
    assert page["next_cursor"] is None
    token = page["sync_token"]
    client.http.delete("/todos/a", headers=ALICE)
    changes = client.http.get(f"/todos/sync?token={token}", headers=ALICE).json_body
    assert changes["items"][-1] == {
        "id": "a",
        "deleted": True,
        "updated_at": changes["items"][-1]["updated_at"],
        "version": 2,
    }


def test_sync_only_the_last_page_has_a_token(client: Client) -> None:
    for todo_id in "abc":
        _put(client, todo_id, {"title": "t"}, CREATE)
    first = client.http.get("/todos/sync?limit=2", headers=ALICE).json_body
    assert (len(first["items"]), first["sync_token"]) == (2, None)
    last = client.http.get(f"/todos/sync?limit=2&cursor={first['next_cursor']}", headers=ALICE)
    assert last.json_body["next_cursor"] is None
    assert last.json_body["sync_token"]


def test_sync_foreign_token_is_400(client: Client) -> None:
    token = client.http.get("/todos/sync", headers=ALICE).json_body["sync_token"]
    response = client.http.get(f"/todos/sync?token={token}", headers=BOB)
    assert_error(response, 400, "BadRequestError", "another listing or another user")


def test_sync_forged_token_is_400(client: Client) -> None:
    response = client.http.get("/todos/sync?token=forged.token", headers=ALICE)
    assert_error(response, 400, "BadRequestError", "sync token is invalid")
