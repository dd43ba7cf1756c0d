"""The REST contract: openapi.yaml is valid OpenAPI 3.1, names exactly the app's routes, and the
app's answers conform to it as schemathesis' response checks judge them. Which inputs are refused
is asserted per resource in test_*_http.py (status and envelope), not again here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
import requests
import schemathesis
import yaml
from chalice.app import CognitoUserPoolAuthorizer, RouteEntry
from chalice.test import Client, HTTPResponse
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response as CheckedResponse
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import app
from chalicelib import photos
from chalicelib.photos.service import upload_key
from chalicelib.store.models import SubscriberModel
from sandbox.resources import Media
from tests.conftest import ROOT, headers_for, make_token
from tests.images import jpeg

Json = dict[str, Any]

SPEC: Final[Json] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch"})
# Chalice's test client passes on only the headers a view sets; API Gateway and `chalice local`
# answer a response without one as application/json.
JSON: Final = "application/json"
ALICE: Final = "alice"
EDITOR: Final = "ed"
EDITORS: Final = "editors"  # the Cognito group, and the role security requirements name
CORS_HEADER: Final = "Access-Control-Allow-Origin"
MAX_BODY_BYTES: Final = 400 * 1024
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _closed(node: Any, *, in_place: bool = False) -> Any:
    """A copy where object schemas refuse undocumented properties.

    The published contract leaves response objects open so that v1 can grow fields; the app's
    answers must still carry nothing the spec does not document. unevaluatedProperties sees
    through allOf and if/then, so only the outermost schema of each object is closed.
    """
    if isinstance(node, list):
        return [_closed(item, in_place=in_place) for item in node]
    if not isinstance(node, dict):
        return node
    in_place_keys = {"allOf", "anyOf", "oneOf", "not", "if", "then", "else"}
    closed = {key: _closed(value, in_place=key in in_place_keys) for key, value in node.items()}
    if "properties" in node and not in_place and "additionalProperties" not in node:
        closed["unevaluatedProperties"] = False
    return closed


SCHEMA: Final = schemathesis.openapi.from_dict(_closed(SPEC))


def _operations() -> Iterator[tuple[str, str, Json]]:
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _roles(op: Json) -> set[str]:
    requirements: list[Json] = op["security"] if "security" in op else SPEC["security"]
    return {role for r in requirements for roles in r.values() for role in roles}


def _secured(operation: Json) -> bool:
    return bool(operation.get("security", SPEC["security"]))


def caller(method: str, path: str) -> dict[str, str]:
    """Headers of someone the operation lets in: anyone, an editor, or Alice."""
    found = SCHEMA.find_operation_by_path(method, path)
    assert found is not None, f"the spec documents no {method} {path}"
    operation = SPEC["paths"][found.path][found.method]
    if not _secured(operation):
        return {"Content-Type": JSON}
    if EDITORS in _roles(operation):
        return {"Authorization": make_token(EDITOR, groups=[EDITORS]), "Content-Type": JSON}
    return headers_for(ALICE)


def assert_conforms(method: str, url: str, headers: dict[str, str], answer: HTTPResponse) -> None:
    """Raises schemathesis' FailureGroup when the answer breaks the spec."""
    parts = urlsplit(url)
    operation = SCHEMA.find_operation_by_path(method, parts.path)
    assert operation is not None, f"the spec documents no {method} {parts.path}"
    wire_headers = {name.lower(): [value] for name, value in answer.headers.items()}
    if answer.body:
        wire_headers.setdefault("content-type", [JSON])
    elif "content-type" in wire_headers and answer.status_code in (204, 304):
        del wire_headers["content-type"]
    request = requests.Request(method, f"http://localhost{url}", headers=headers).prepare()
    segments = zip(operation.path.split("/"), parts.path.split("/"), strict=True)
    in_path = {name[1:-1]: value for name, value in segments if name.startswith("{")}
    query = dict(parse_qsl(parts.query))
    case = operation.Case(path_parameters=in_path, query=query, headers=headers)
    checked = CheckedResponse(answer.status_code, wire_headers, answer.body, request, 0.0, True)
    case.validate_response(checked, checks=CHECKS)
    if answer.status_code in (204, 304):
        assert answer.body == b"", f"{method} {url} -> {answer.status_code} has a body"


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    status: int
    body: Json | None = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    before: tuple[Call, ...] = ()


def _fill(text: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        text = text.replace(f"{{{name}}}", value)
    return text


def send(client: Client, call: Call, names: dict[str, str]) -> HTTPResponse:
    """Makes the call (after its `before` calls) as the caller its operation lets in."""
    for earlier in call.before:
        send(client, earlier, names)
    url = _fill(call.url, names)
    headers = {**caller(call.method, urlsplit(url).path), **call.headers}
    headers = {name: _fill(value, names) for name, value in headers.items()}
    body = _fill(json.dumps(call.body), names).encode() if call.body is not None else call.raw
    answer = client.http.request(call.method, url, headers=headers, body=body or b"")
    assert answer.status_code == call.status, f"{call.method} {url}: {answer.body!r}"
    assert_conforms(call.method, url, headers, answer)
    return answer


@pytest.fixture
def names(client: Client, media: Media) -> dict[str, str]:
    """A small world (todos, a tombstone, a photo, posts, a subscriber) and names for its parts."""
    todo = client.http.post("/todos", headers=headers_for(ALICE), body=b'{"title": "Buy milk"}')
    gone = client.http.post("/todos", headers=headers_for(ALICE), body=b'{"title": "Gone"}')
    client.http.delete(f"/todos/{gone.json_body['id']}", headers=headers_for(ALICE))
    photo_body = b'{"content_type": "image/jpeg", "size": 2000}'
    photo = client.http.post("/photos", headers=headers_for(ALICE), body=photo_body)
    editor = caller("POST", "/posts")
    for body in ({"title": "Draft"}, {"title": "Live", "body": "*hi*", "status": "published"}):
        client.http.post("/posts", headers=editor, body=json.dumps(body).encode())
    ann = b'{"email": "ann@example.com"}'
    client.http.post("/subscriptions", headers=caller("POST", "/subscriptions"), body=ann)
    return {
        "todo": todo.json_body["id"],
        "gone": gone.json_body["id"],
        "photo": photo.json_body["photo"]["id"],
        "token": SubscriberModel.get("ann@example.com").token,
    }


BOB: Final = {"Authorization": make_token("bob")}
STALE: Final = {"If-Match": '"7"'}
KEY: Final = {"Idempotency-Key": "k1"}
FIRST: Final = (Call("POST", "/todos", 201, {"title": "x"}, headers=KEY),)
TODO: Final = {"title": "x", "notes": "n", "due": "2026-11-30T17:00:00+02:00", "tags": ["a"]}
POST: Final = {"slug": "sync", "title": " Sync ", "summary": "How.", "body": "<script>"}
PHOTO: Final = {"content_type": "image/png", "size": 1, "filename": "a.png"}
LIVE: Final = "/posts/live"
B1: Final = {"id": "1", "method": "PUT", "url": "/todos/b1", "body": {"title": "x"}}
BATCH: Final = {
    "requests": [
        {**B1, "headers": {"If-None-Match": "*"}},
        {"id": "2", "method": "PATCH", "url": "/todos/{todo}", "headers": STALE, "body": {}},
        {"id": "3", "method": "DELETE", "url": "/todos/b1"},
        {**B1, "id": "4", "headers": {}},
    ]
}
P = pytest.param
CALLS: Final = [
    P(Call("GET", "/health", 200), id="health"),
    P(Call("POST", "/todos", 201, {**TODO, "done": False}), id="create"),
    P(Call("POST", "/todos", 201, {"title": "x"}, headers=KEY, before=FIRST), id="create-again"),
    P(Call("POST", "/todos", 409, {"title": "y"}, headers=KEY, before=FIRST), id="key-conflict"),
    P(Call("POST", "/todos", 400, raw=b'{"title": '), id="create-malformed"),
    P(Call("GET", "/todos?done=false&limit=100", 200), id="list"),
    P(Call("GET", "/todos?updated_since=2000-01-01T00:00:00Z", 200), id="list-changes"),
    P(Call("GET", "/todos?limit=0", 400), id="list-bad-limit"),
    P(Call("GET", "/todos/{todo}", 200), id="get"),
    P(Call("GET", "/todos/{todo}", 304, headers={"If-None-Match": '"1"'}), id="get-not-modified"),
    P(Call("GET", "/todos/{gone}", 404), id="get-deleted"),
    P(Call("GET", "/todos/{todo}", 404, headers=BOB), id="get-others"),
    P(Call("PATCH", "/todos/{todo}", 200, {"done": True}, headers={"If-Match": '"1"'}), id="patch"),
    P(Call("PATCH", "/todos/{todo}", 412, {"done": True}, headers=STALE), id="patch-stale"),
    P(Call("PATCH", "/todos/{todo}", 400, {"colour": "red"}), id="patch-unknown-field"),
    P(Call("DELETE", "/todos/{todo}", 204), id="delete"),
    P(Call("DELETE", "/todos/{todo}", 412, headers=STALE), id="delete-stale"),
    P(Call("PUT", "/todos/client-1", 201, TODO, headers={"If-None-Match": "*"}), id="put-create"),
    P(Call("PUT", "/todos/{todo}", 412, TODO, headers={"If-None-Match": "*"}), id="put-exists"),
    P(Call("PUT", "/todos/{todo}", 200, TODO, headers={"If-Match": '"1"'}), id="put-replace"),
    P(Call("PUT", "/todos/{gone}", 412, TODO, headers=STALE), id="put-deleted"),
    P(Call("PUT", "/todos/{todo}", 428, TODO), id="put-no-precondition"),
    P(Call("POST", "/todos/batch", 200, BATCH), id="batch"),
    P(Call("POST", "/todos/batch", 400, {"requests": []}), id="batch-empty"),
    P(Call("GET", "/todos/sync?limit=1", 200), id="sync-snapshot"),
    P(Call("GET", "/todos/sync?token=forged", 400), id="sync-forged"),
    P(Call("POST", "/photos", 201, PHOTO), id="create-photo"),
    P(Call("POST", "/photos", 400, {"content_type": "image/gif", "size": 1}), id="photo-gif"),
    P(Call("GET", "/photos", 200), id="list-photos"),
    P(Call("GET", "/photos/{photo}", 304, headers={"If-None-Match": '"1"'}), id="photo-304"),
    P(Call("DELETE", "/photos/{photo}", 204), id="delete-photo"),
    P(Call("DELETE", "/photos/{photo}", 404, headers=BOB), id="delete-others-photo"),
    P(Call("POST", "/posts", 201, {**POST, "status": "published"}), id="create-post"),
    P(Call("POST", "/posts", 409, {"title": "Draft!"}), id="create-post-taken"),
    P(Call("POST", "/posts", 400, {"title": "x", "slug": "Bad_Slug"}), id="create-post-bad"),
    P(Call("GET", "/posts?limit=100", 200), id="list-posts"),
    P(Call("GET", "/posts?cursor=forged", 400), id="list-posts-forged-cursor"),
    P(Call("GET", LIVE, 200), id="get-post"),
    P(Call("GET", "/posts/draft", 404), id="get-draft"),
    P(Call("GET", "/posts/draft/preview", 200), id="preview-post"),
    P(Call("GET", "/posts/missing/preview", 404), id="preview-missing"),
    P(Call("PATCH", LIVE, 200, {"summary": None}, headers={"If-Match": '"1"'}), id="patch-post"),
    P(Call("PATCH", LIVE, 412, {"summary": "s"}, headers=STALE), id="patch-post-stale"),
    P(Call("PATCH", LIVE, 400, {"slug": "other"}), id="patch-post-slug"),
    P(Call("DELETE", LIVE, 204, headers={"If-Match": '"1"'}), id="delete-post"),
    P(Call("DELETE", "/posts/missing", 404), id="delete-missing-post"),
    P(Call("POST", "/subscriptions", 202, {"email": " Ann@Example.COM "}), id="subscribe-again"),
    P(Call("POST", "/subscriptions", 400, {"email": "ann@"}), id="subscribe-bad"),
    P(Call("POST", "/subscriptions/unsubscribe", 200, {"token": "{token}"}), id="unsubscribe"),
    P(Call("POST", "/subscriptions/unsubscribe", 404, {"token": "A" * 43}), id="unsubscribe-404"),
    P(Call("POST", "/subscriptions/unsubscribe", 400, {"token": ""}), id="unsubscribe-bad"),
]


@pytest.mark.parametrize("upload", [jpeg(), b"not an image"], ids=["ready", "failed"])
def test_openapi_processed_photo_conforms(
    client: Client, media: Media, names: dict[str, str], upload: bytes
) -> None:
    key = upload_key(ALICE, names["photo"])
    boto3.client("s3").put_object(Bucket=media.bucket, Key=key, Body=upload)
    photos.thumbnail_service().process_upload(media.bucket, key)
    send(client, Call("GET", "/photos/{photo}", 200), names)


@pytest.mark.parametrize(
    ("path", "another"),
    [
        ("/todos", {"title": "More"}),
        ("/photos", {"content_type": "image/png", "size": 1}),
        ("/posts", {"title": "More", "status": "published"}),
    ],
)
def test_openapi_next_page_conforms(
    client: Client, names: dict[str, str], path: str, another: Json
) -> None:
    send(client, Call("POST", path, 201, another), names)
    first = send(client, Call("GET", f"{path}?limit=1", 200), names).json_body
    assert isinstance(first["next_cursor"], str)
    send(client, Call("GET", f"{path}?limit=1&cursor={quote(first['next_cursor'])}", 200), names)


def _concrete(path: str) -> str:
    return _fill(path, {"todo_id": "{todo}", "photo_id": "{photo}", "slug": "draft"})


SECURED: Final = [(m.upper(), _concrete(p)) for p, m, op in _operations() if _secured(op)]
EDITORS_ONLY: Final = [
    (m.upper(), _concrete(p)) for p, m, op in _operations() if EDITORS in _roles(op)
]
WITH_BODY: Final = [(m.upper(), _concrete(p)) for p, m, op in _operations() if "requestBody" in op]


TOO_LARGE: Final = b'{"title": "' + b"x" * MAX_BODY_BYTES + b'"}'
REFUSED: Final = [
    *[Call(*call, 401, headers={"Authorization": ""}) for call in SECURED],
    *[Call(*call, 403, headers={"Authorization": make_token(ALICE)}) for call in EDITORS_ONLY],
    *[Call(*call, 413, raw=TOO_LARGE) for call in WITH_BODY],
    *[Call(*call, 415, raw=b"{}", headers={"Content-Type": "text/plain"}) for call in WITH_BODY],
]


@pytest.mark.parametrize("call", [*CALLS, *REFUSED], ids=lambda c: f"{c.method}-{c.url}-{c.status}")
def test_openapi_answer_conforms(client: Client, names: dict[str, str], call: Call) -> None:
    send(client, call, names)


# -- the checks fail on a broken answer ---------------------------------------------------------


BROKEN: Final = [
    P(200, {}, lambda todo: {"title": todo["title"]}, id="missing-fields"),
    P(200, {}, lambda todo: "todo", id="not-an-object"),
    P(200, {}, lambda todo: {**todo, "owner": ALICE}, id="undocumented-field"),
    P(200, {}, lambda todo: {**todo, "created_at": "yesterday"}, id="bad-date-time"),
    P(200, {"ETag": "1"}, None, id="unquoted-etag"),
    P(200, {"Content-Type": "text/html"}, None, id="undocumented-type"),
    P(418, {}, lambda todo: {"Code": "Teapot", "Message": "stout"}, id="undocumented-status"),
    P(404, {}, lambda todo: {"Code": "NotFoundError"}, id="envelope-without-message"),
    P(500, {}, lambda todo: {"Code": "InternalServerError", "Message": "x"}, id="server-error"),
]


@pytest.mark.parametrize(("status", "headers", "change"), BROKEN)
def test_openapi_checks_catch_a_broken_answer(
    client: Client, names: dict[str, str], status: int, headers: Any, change: Any
) -> None:
    url = f"/todos/{names['todo']}"
    good = client.http.get(url, headers=headers_for(ALICE))
    assert_conforms("GET", url, headers_for(ALICE), good)
    body = good.body if change is None else json.dumps(change(good.json_body)).encode()
    broken = HTTPResponse(body=body, headers={**good.headers, **headers}, status_code=status)
    with pytest.raises(FailureGroup):
        assert_conforms("GET", url, headers_for(ALICE), broken)


# -- the document ---------------------------------------------------------------------------------


def test_openapi_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    assert [str(error) for error in OpenAPIV31SpecValidator(SPEC).iter_errors()] == []


def test_openapi_component_examples_match_their_schemas() -> None:
    examples = [
        (name, example)
        for name, schema in SPEC["components"]["schemas"].items()
        for example in schema.get("examples", [])
    ]
    assert len(examples) > 5
    for name, example in examples:
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        assert [error.message for error in validator.iter_errors(example)] == [], name


def _routes() -> dict[tuple[str, str], RouteEntry]:
    routes = app.routes.items()
    return {(p, m.lower()): entry for p, entries in routes for m, entry in entries.items()}


def test_openapi_documents_exactly_the_app_routes() -> None:
    assert {(path, method) for path, method, _ in _operations()} == set(_routes())


def test_openapi_operation_ids_are_handler_names() -> None:
    routes = _routes()
    ids = {(path, method): op["operationId"] for path, method, op in _operations()}
    assert ids == {key: routes[key].view_name for key in ids}


def test_openapi_security_matches_route_authorizers() -> None:
    routes = _routes()
    secured = {(path, method): _secured(op) for path, method, op in _operations()}
    assert secured == {
        key: isinstance(routes[key].authorizer, CognitoUserPoolAuthorizer) for key in secured
    }


def test_openapi_roles_are_known_and_forbidden_is_documented_for_them() -> None:
    assert set().union(*(_roles(op) for _, _, op in _operations())) == {EDITORS}
    documented = {(path, method): "403" in op["responses"] for path, method, op in _operations()}
    assert documented == {(p, m): EDITORS in _roles(op) for p, m, op in _operations()}


def test_openapi_cors_header_is_documented_on_cors_routes() -> None:
    routes = _routes()
    documented = {
        (path, method, status): CORS_HEADER in dict(answer.headers.items())
        for path, method, _ in _operations()
        for status, answer in SCHEMA[path][method].responses.items()
        if status[0] in "23"
    }
    assert documented == {(p, m, s): bool(routes[(p, m)].cors) for p, m, s in documented}
