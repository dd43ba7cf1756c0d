"""The REST contract: openapi.yaml is valid OpenAPI 3.1 and matches the app's routes and answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlsplit

import boto3
import pytest
import yaml
from chalice.app import CognitoUserPoolAuthorizer, RouteEntry
from chalice.test import Client, HTTPResponse
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from app import app
from chalicelib.api import deps
from chalicelib.models import SubscriberModel
from chalicelib.services.photos import upload_key
from sandbox.resources import Media
from tests.conftest import ROOT, headers_for, make_token
from tests.images import jpeg

Json = dict[str, Any]

SPEC: Final[Json] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SPEC_URI: Final = "urn:mytodolist:openapi"
HTTP_METHODS: Final = frozenset(
    {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
)
# Chalice's test client passes on only the headers a view sets; API Gateway and `chalice local`
# answer a response without one as application/json.
DEFAULT_CONTENT_TYPE: Final = "application/json"
ALICE: Final = "alice"
EDITOR: Final = "ed"
# The Cognito group of editors, and the role the spec's security requirements name for them.
EDITORS: Final = "editors"
ANONYMOUS: Final = {"Content-Type": DEFAULT_CONTENT_TYPE}
CORS_HEADER: Final = "Access-Control-Allow-Origin"
MAX_BODY_BYTES: Final = 400 * 1024


# -- reading the spec -----------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str) -> str:
    return "".join(f"/{_escape(token)}" for token in tokens)


def _node(pointer: str) -> Any:
    node: Any = SPEC
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _follow(pointer: str) -> tuple[str, Any]:
    """The object a pointer names, through any $ref, and the pointer where it really is."""
    node = _node(pointer)
    while isinstance(node, dict) and "$ref" in node:
        pointer = str(node["$ref"]).removeprefix("#")
        node = _node(pointer)
    return pointer, node


# Subschemas that describe the same instance as their parent, not a property or an item of it.
IN_PLACE: Final = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "then", "else"})


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
    closed = {key: _closed(value, in_place=key in IN_PLACE) for key, value in node.items()}
    if "properties" in node and not in_place and "additionalProperties" not in node:
        closed["unevaluatedProperties"] = False
    return closed


REGISTRY: Final = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(_closed(SPEC)))


def _errors(schema_pointer: str, instance: Any) -> list[str]:
    validator = Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{schema_pointer}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(instance)]


def _assert_valid(schema_pointer: str, instance: Any, what: str) -> None:
    errors = _errors(schema_pointer, instance)
    assert not errors, f"{what} does not match {schema_pointer}:\n" + "\n".join(errors)


def _operation_pointer(method: str, url: str) -> str:
    """The spec's operation for a request, found as a router would: by path template."""
    segments = urlsplit(url).path.strip("/").split("/")
    for template, item in SPEC["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) == len(segments) and all(
            part == segment or (part.startswith("{") and part.endswith("}") and segment)
            for part, segment in zip(parts, segments, strict=True)
        ):
            assert method.lower() in item, f"the spec has {template} but not {method} on it"
            return _pointer("paths", template, method.lower())
    raise AssertionError(f"the spec documents no path for {url}")


def _json_schema_pointer(pointer: str) -> str:
    """Where the application/json schema of a requestBody or response object is."""
    where, found = _follow(pointer)
    assert DEFAULT_CONTENT_TYPE in found.get("content", {}), f"{where} documents no JSON body"
    return f"{where}/content/{_escape(DEFAULT_CONTENT_TYPE)}/schema"


def _operations() -> Iterator[tuple[str, str, Json]]:
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _security(operation: Json) -> list[Json]:
    """The operation's security requirements: its own, else the document's."""
    requirements: list[Json] = (
        operation["security"] if "security" in operation else SPEC["security"]
    )
    return requirements


def _roles(operation: Json) -> set[str]:
    """The roles the operation's security requirements name (OpenAPI 3.1 allows them)."""
    return {
        role
        for requirement in _security(operation)
        for roles in requirement.values()
        for role in roles
    }


def _parameter_schema_pointer(method: str, url: str, name: str) -> str:
    """Where the schema of a parameter of the operation (or of its path) is."""
    operation = _operation_pointer(method, url)
    for owner in (operation, operation.rsplit("/", 1)[0]):
        for index in range(len(_node(owner).get("parameters", []))):
            where, parameter = _follow(f"{owner}/parameters/{index}")
            if parameter["name"].lower() == name.lower():
                return f"{where}/schema"
    raise AssertionError(f"{method} {url} documents no parameter {name}")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _refs(item)
    elif isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)


def _resolves(ref: str) -> bool:
    if not ref.startswith("#/"):
        return False
    try:
        _node(ref.removeprefix("#"))
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True


def _examples(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """(schema pointer, example) for every example in the spec, wherever it is written."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    if "schema" in node and "example" in node:
        yield f"{pointer}/schema", node["example"]
    if "schema" in node and isinstance(node.get("examples"), dict):
        for name in node["examples"]:
            where, found = _follow(f"{pointer}/examples/{_escape(name)}")
            assert "value" in found, f"{where} has no value"
            yield f"{pointer}/schema", found["value"]
    if isinstance(node.get("examples"), list) and "schema" not in node:
        for example in node["examples"]:
            yield pointer, example
    for key, value in node.items():
        if key not in ("example", "examples"):
            yield from _examples(value, f"{pointer}/{_escape(key)}")


# -- talking to the app ---------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    response: HTTPResponse


def editor_headers(**extra: str) -> dict[str, str]:
    token = make_token(EDITOR, groups=[EDITORS])
    return {"Authorization": token, "Content-Type": DEFAULT_CONTENT_TYPE, **extra}


def caller(method: str, url: str, **extra: str) -> dict[str, str]:
    """The headers of someone the operation lets in: anyone on a public operation, an editor
    where the editors role is required, else Alice."""
    operation = _node(_operation_pointer(method, url))
    if not _security(operation):
        return {**ANONYMOUS, **extra}
    if EDITORS in _roles(operation):
        return editor_headers(**extra)
    return headers_for(ALICE, **extra)


def send(
    client: Client,
    method: str,
    url: str,
    *,
    body: Json | None = None,
    raw: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> Exchange:
    response = client.http.request(
        method,
        url,
        headers=dict(caller(method, url) if headers is None else headers),
        body=raw if body is None else json.dumps(body).encode(),
    )
    return Exchange(method, url, response)


def assert_request_conforms(method: str, url: str, body: Json) -> None:
    request_body = f"{_operation_pointer(method, url)}/requestBody"
    _assert_valid(_json_schema_pointer(request_body), body, f"the {method} {url} request body")


def assert_conforms(exchange: Exchange, status: int) -> None:
    """The answer has the status expected, and headers and body as the spec documents them."""
    method, url, response = exchange.method, exchange.url, exchange.response
    what = f"{method} {url} -> {response.status_code}"
    assert response.status_code == status, f"{what}, not {status}: {response.body!r}"
    operation = _operation_pointer(method, url)
    assert str(status) in _node(operation)["responses"], f"{what} is not documented"
    where, documented = _follow(f"{operation}/responses/{status}")
    headers = {name.lower(): value for name, value in response.headers.items()}
    for name in documented.get("headers", {}):
        header_where, header = _follow(f"{where}/headers/{_escape(name)}")
        value = headers.get(name.lower())
        if value is None:
            assert not header.get("required", False), f"{what} lacks the {name} header"
        else:
            _assert_valid(f"{header_where}/schema", value, f"{what}: header {name}")
    if "content" not in documented:
        assert response.body == b"", f"{what} must have no body: {response.body!r}"
        return
    media_type = headers.get("content-type", DEFAULT_CONTENT_TYPE).split(";")[0].strip()
    assert media_type in documented["content"], f"{what} has undocumented type {media_type}"
    schema = f"{where}/content/{_escape(media_type)}/schema"
    _assert_valid(schema, json.loads(response.body), f"{what}: body")


def _create(client: Client, body: Json, sub: str = ALICE) -> Json:
    response = client.http.post("/todos", headers=headers_for(sub), body=json.dumps(body).encode())
    assert response.status_code == 201, response.body
    created: Json = response.json_body
    return created


@pytest.fixture
def todo(client: Client) -> Json:
    return _create(client, {"title": "Buy milk", "tags": ["shopping"], "due": "2026-11-30"})


@pytest.fixture
def deleted(client: Client, todo: Json) -> Json:
    response = client.http.delete(f"/todos/{todo['id']}", headers=headers_for(ALICE))
    assert response.status_code == 204, response.body
    return todo


# -- the document -------------------------------------------------------------------------------


def test_openapi_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    errors = [str(error) for error in OpenAPIV31SpecValidator(SPEC).iter_errors()]
    assert errors == []


def test_openapi_references_resolve() -> None:
    # The spec validator follows only the references it reads; a dangling header ref slips by.
    assert [ref for ref in _refs(SPEC) if not _resolves(ref)] == []


def test_openapi_validator_checks_formats() -> None:
    # jsonschema checks date-time only when rfc3339-validator is installed, else it says nothing.
    assert {"date", "date-time"} <= set(Draft202012Validator.FORMAT_CHECKER.checkers)


def test_openapi_examples_match_their_schemas() -> None:
    examples = list(_examples(SPEC))
    assert len(examples) > 10
    for schema, example in examples:
        _assert_valid(schema, example, f"the example {example!r}")


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        ({"owner": "alice"}, "an undocumented field"),
        ({"version": 0}, "version below 1"),
        ({"created_at": "yesterday"}, "a created_at that is no date-time"),
        ({"due": "2026-02-30"}, "a due date that does not exist"),
        ({"title": " padded "}, "an untrimmed title"),
        ({"tags": ["a", "a"]}, "repeated tags"),
    ],
)
def test_openapi_todo_schema_rejects_a_broken_todo(change: Json, broken: str) -> None:
    example = SPEC["components"]["schemas"]["Todo"]["examples"][0]
    assert _errors("/components/schemas/Todo", {**example, **change}), broken


# -- the document against the app's routes ----------------------------------------------------


def _routes() -> dict[tuple[str, str], RouteEntry]:
    return {
        (path, method.lower()): entry
        for path, entries in app.routes.items()
        for method, entry in entries.items()
    }


def test_openapi_documents_every_app_route() -> None:
    documented = {(path, method) for path, method, _ in _operations()}
    assert set(_routes()) - documented == set()


def test_openapi_documents_only_app_routes() -> None:
    documented = {(path, method) for path, method, _ in _operations()}
    assert documented - set(_routes()) == set()


def test_openapi_operation_ids_are_handler_names() -> None:
    routes = _routes()
    operation_ids = {
        (path, method): op["operationId"]
        for path, method, op in _operations()
        if (path, method) in routes
    }
    assert operation_ids == {key: routes[key].view_name for key in operation_ids}


def test_openapi_security_matches_route_authorizers() -> None:
    routes = _routes()
    scheme = next(iter(SPEC["components"]["securitySchemes"]))
    security = {
        (path, method): [sorted(requirement) for requirement in _security(op)]
        for path, method, op in _operations()
        if (path, method) in routes
    }
    assert security == {
        key: [[scheme]] if isinstance(routes[key].authorizer, CognitoUserPoolAuthorizer) else []
        for key in security
    }


def test_openapi_roles_are_known() -> None:
    assert set().union(*(_roles(op) for _, _, op in _operations())) == {EDITORS}


def test_openapi_forbidden_is_documented_where_editors_are_required() -> None:
    documented = {(path, method): "403" in op["responses"] for path, method, op in _operations()}
    assert documented == {
        (path, method): EDITORS in _roles(op) for path, method, op in _operations()
    }


def test_openapi_cors_header_is_documented_on_cors_routes() -> None:
    routes = _routes()
    documented = {
        (path, method, status): CORS_HEADER
        in _follow(_pointer("paths", path, method, "responses", status))[1].get("headers", {})
        for path, method, op in _operations()
        for status in op["responses"]
        if status[0] in "23" and (path, method) in routes
    }
    assert documented == {
        (path, method, status): bool(routes[(path, method)].cors)
        for path, method, status in documented
    }


# -- the app's answers: success -------------------------------------------------------------


def test_openapi_health_matches(client: Client) -> None:
    assert_conforms(send(client, "GET", "/health", headers={}), 200)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": "Buy milk"}, id="title-only"),
        pytest.param(
            {
                "title": "  Call the plumber ",
                "notes": "Ask about the tap.",
                "due": "2026-11-30",
                "tags": ["home", "calls"],
                "done": False,
            },
            id="every-field",
        ),
        pytest.param({"title": "Pay rent", "due": "2026-11-30T17:00:00+02:00"}, id="due-time"),
        pytest.param({"title": "Read", "notes": None, "tags": None, "due": None}, id="nulls"),
    ],
)
def test_openapi_create_matches(client: Client, body: Json) -> None:
    assert_request_conforms("POST", "/todos", body)
    exchange = send(client, "POST", "/todos", body=body)
    assert_conforms(exchange, 201)
    assert exchange.response.headers["Location"] == f"/todos/{exchange.response.json_body['id']}"


def test_openapi_create_replay_matches(client: Client) -> None:
    key = "0b8c2f1e-7d2a-4f8e-9a51-3c1d2e4f5a6b"
    _assert_valid(_parameter_schema_pointer("POST", "/todos", "Idempotency-Key"), key, "the key")
    headers = headers_for(ALICE, **{"Idempotency-Key": key})
    body = {"title": "Buy milk"}
    assert_request_conforms("POST", "/todos", body)
    first = send(client, "POST", "/todos", body=body, headers=headers)
    replay = send(client, "POST", "/todos", body=body, headers=headers)
    assert_conforms(replay, 201)
    assert replay.response.json_body == first.response.json_body


@pytest.mark.parametrize("query", ["", "?limit=1", "?done=false", "?done=true&limit=100"])
def test_openapi_list_matches(client: Client, todo: Json, query: str) -> None:
    _create(client, {"title": "Water the plants"})
    assert_conforms(send(client, "GET", f"/todos{query}"), 200)


def test_openapi_list_next_page_matches(client: Client, todo: Json) -> None:
    _create(client, {"title": "Water the plants"})
    first = send(client, "GET", "/todos?limit=1").response.json_body
    assert isinstance(first["next_cursor"], str)
    exchange = send(client, "GET", f"/todos?limit=1&cursor={quote(first['next_cursor'])}")
    assert_conforms(exchange, 200)


def test_openapi_list_changes_with_tombstone_matches(client: Client, deleted: Json) -> None:
    _create(client, {"title": "Water the plants"})
    exchange = send(client, "GET", f"/todos?updated_since={quote(deleted['updated_at'])}")
    assert_conforms(exchange, 200)
    items = exchange.response.json_body["items"]
    assert {"id": deleted["id"], "deleted": True} in [
        {"id": item["id"], "deleted": item.get("deleted")} for item in items
    ]
    assert any("title" in item for item in items)


def test_openapi_get_matches(client: Client, todo: Json) -> None:
    assert_conforms(send(client, "GET", f"/todos/{todo['id']}"), 200)


def test_openapi_get_not_modified_matches(client: Client, todo: Json) -> None:
    headers = headers_for(ALICE, **{"If-None-Match": '"1"'})
    assert_conforms(send(client, "GET", f"/todos/{todo['id']}", headers=headers), 304)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"done": True}, id="done"),
        pytest.param({}, id="nothing"),
        pytest.param(
            {"title": "Buy oat milk", "notes": None, "due": None, "tags": ["a", "b"]}, id="several"
        ),
    ],
)
def test_openapi_update_matches(client: Client, todo: Json, body: Json) -> None:
    url = f"/todos/{todo['id']}"
    assert_request_conforms("PATCH", url, body)
    headers = headers_for(ALICE, **{"If-Match": '"1"'})
    assert_conforms(send(client, "PATCH", url, body=body, headers=headers), 200)


def test_openapi_delete_matches(client: Client, todo: Json) -> None:
    headers = headers_for(ALICE, **{"If-Match": '"1"'})
    assert_conforms(send(client, "DELETE", f"/todos/{todo['id']}", headers=headers), 204)


def test_openapi_bearer_prefix_matches(client: Client) -> None:
    token = headers_for(ALICE)["Authorization"]
    assert_conforms(
        send(client, "GET", "/todos", headers={"Authorization": f"Bearer {token}"}), 200
    )


# -- the request schemas agree with the app on what is valid --------------------------------

LIMIT_BODIES: Final = [
    pytest.param({"title": "t" * 200}, id="title-200"),
    pytest.param({"title": "x", "notes": "n" * 10_000}, id="notes-10000"),
    pytest.param({"title": "x", "tags": [f"tag{i}" for i in range(20)]}, id="tags-20"),
    pytest.param({"title": "x", "tags": ["t" * 32]}, id="tag-32"),
    pytest.param({"title": "x", "due": "2026-02-28"}, id="due-date"),
    pytest.param({"title": "x", "due": "2026-11-30T17:00:00.5Z"}, id="due-fraction"),
]

BAD_BODIES: Final = [
    pytest.param({"title": "x", "colour": "red"}, id="unknown-field"),
    pytest.param({"notes": "no title"}, id="no-title"),
    pytest.param({"title": "   "}, id="blank-title"),
    pytest.param({"title": "t" * 201}, id="title-201"),
    pytest.param({"title": 7}, id="title-number"),
    pytest.param({"title": "x", "notes": "n" * 10_001}, id="notes-10001"),
    pytest.param({"title": "x", "tags": [f"tag{i}" for i in range(21)]}, id="tags-21"),
    pytest.param({"title": "x", "tags": ["t" * 33]}, id="tag-33"),
    pytest.param({"title": "x", "tags": [""]}, id="tag-empty"),
    pytest.param({"title": "x", "tags": ["a", "a"]}, id="tags-repeated"),
    pytest.param({"title": "x", "tags": "a"}, id="tags-string"),
    pytest.param({"title": "x", "due": "2026-02-30"}, id="due-no-such-day"),
    pytest.param({"title": "x", "due": "2026-11-30T17:00:00"}, id="due-no-zone"),
    pytest.param({"title": "x", "due": "tomorrow"}, id="due-words"),
    pytest.param({"title": "x", "done": "yes"}, id="done-string"),
]


@pytest.mark.parametrize("body", LIMIT_BODIES)
def test_openapi_create_accepts_what_the_schema_accepts(client: Client, body: Json) -> None:
    assert_request_conforms("POST", "/todos", body)
    assert_conforms(send(client, "POST", "/todos", body=body), 201)


@pytest.mark.parametrize("body", BAD_BODIES)
def test_openapi_create_rejects_what_the_schema_rejects(client: Client, body: Json) -> None:
    assert _errors(
        _json_schema_pointer(f"{_operation_pointer('POST', '/todos')}/requestBody"), body
    )
    assert_conforms(send(client, "POST", "/todos", body=body), 400)


# -- the app's answers: errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "raw"),
    [
        pytest.param("POST", "/todos", b'{"title": "Buy milk"', id="malformed-json"),
        pytest.param("POST", "/todos", b'["Buy milk"]', id="not-an-object"),
        pytest.param("POST", "/todos", b"", id="no-body"),
        pytest.param("PATCH", "/todos/{id}", b'{"colour": "red"}', id="patch-unknown-field"),
        pytest.param("PATCH", "/todos/{id}", b'{"done": "yes"}', id="patch-wrong-type"),
        pytest.param("GET", "/todos?limit=0", b"", id="limit-0"),
        pytest.param("GET", "/todos?limit=101", b"", id="limit-101"),
        pytest.param("GET", "/todos?done=maybe", b"", id="done-maybe"),
        pytest.param("GET", "/todos?updated_since=yesterday", b"", id="since-words"),
        pytest.param("GET", "/todos?cursor=forged", b"", id="forged-cursor"),
        pytest.param(
            "GET", "/todos?done=true&updated_since=2026-01-01T00:00:00Z", b"", id="done-and-since"
        ),
        pytest.param("GET", "/posts?limit=0", b"", id="posts-limit-0"),
        pytest.param("GET", "/posts?limit=x", b"", id="posts-limit-words"),
        pytest.param("GET", "/posts?cursor=forged", b"", id="posts-forged-cursor"),
        pytest.param("POST", "/posts", b'{"title": "Hello"', id="post-malformed-json"),
        pytest.param("PATCH", "/posts/hello", b'["Hello"]', id="post-patch-not-an-object"),
        pytest.param("POST", "/subscriptions", b"", id="subscribe-no-body"),
        pytest.param("POST", "/subscriptions/unsubscribe", b"{", id="unsubscribe-malformed-json"),
    ],
)
def test_openapi_bad_request_matches(
    client: Client, todo: Json, method: str, url: str, raw: bytes
) -> None:
    exchange = send(client, method, url.replace("{id}", todo["id"]), raw=raw)
    assert_conforms(exchange, 400)


def test_openapi_long_idempotency_key_matches(client: Client) -> None:
    key = "k" * 65
    assert _errors(_parameter_schema_pointer("POST", "/todos", "Idempotency-Key"), key)
    headers = headers_for(ALICE, **{"Idempotency-Key": key})
    assert_conforms(send(client, "POST", "/todos", body={"title": "x"}, headers=headers), 400)


@pytest.mark.parametrize(
    ("method", "url"),
    [(method, path) for path, method, op in _operations() if _security(op)],
)
def test_openapi_unauthorized_matches(client: Client, method: str, url: str) -> None:
    headers = {"Content-Type": "application/json"}
    exchange = send(client, method.upper(), re.sub(r"\{[^}]+\}", "some-id", url), headers=headers)
    assert_conforms(exchange, 401)


def test_openapi_idempotency_conflict_matches(client: Client) -> None:
    headers = headers_for(ALICE, **{"Idempotency-Key": "order-42"})
    send(client, "POST", "/todos", body={"title": "Buy milk"}, headers=headers)
    exchange = send(client, "POST", "/todos", body={"title": "Buy bread"}, headers=headers)
    assert_conforms(exchange, 409)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_openapi_deleted_todo_matches(client: Client, deleted: Json, method: str) -> None:
    body = {"done": True} if method == "PATCH" else None
    assert_conforms(send(client, method, f"/todos/{deleted['id']}", body=body), 404)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_openapi_other_users_todo_matches(client: Client, todo: Json, method: str) -> None:
    body = {"done": True} if method == "PATCH" else None
    exchange = send(client, method, f"/todos/{todo['id']}", body=body, headers=headers_for("bob"))
    assert_conforms(exchange, 404)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_openapi_stale_if_match_matches(client: Client, todo: Json, method: str) -> None:
    headers = headers_for(ALICE, **{"If-Match": '"7"'})
    body = {"done": True} if method == "PATCH" else None
    exchange = send(client, method, f"/todos/{todo['id']}", body=body, headers=headers)
    assert_conforms(exchange, 412)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/todos", {"title": "x", "notes": "n" * MAX_BODY_BYTES}),
        ("PATCH", "/todos/{id}", {"notes": "n" * MAX_BODY_BYTES}),
        (
            "POST",
            "/photos",
            {"content_type": "image/png", "size": 1, "filename": "f" * MAX_BODY_BYTES},
        ),
        ("POST", "/posts", {"title": "x", "body": "b" * MAX_BODY_BYTES}),
        ("PATCH", "/posts/hello", {"body": "b" * MAX_BODY_BYTES}),
        ("POST", "/subscriptions", {"email": "a" * MAX_BODY_BYTES}),
        ("POST", "/subscriptions/unsubscribe", {"token": "t" * MAX_BODY_BYTES}),
    ],
)
def test_openapi_payload_too_large_matches(
    client: Client, todo: Json, method: str, url: str, body: Json
) -> None:
    exchange = send(client, method, url.replace("{id}", todo["id"]), body=body)
    assert_conforms(exchange, 413)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/todos"),
        ("PATCH", "/todos/{id}"),
        ("POST", "/photos"),
        ("POST", "/posts"),
        ("PATCH", "/posts/hello"),
        ("POST", "/subscriptions"),
        ("POST", "/subscriptions/unsubscribe"),
    ],
)
def test_openapi_unsupported_media_type_matches(
    client: Client, todo: Json, method: str, url: str
) -> None:
    headers = caller(method, url, **{"Content-Type": "text/plain"})
    raw = b'{"title": "Buy milk"}'
    exchange = send(client, method, url.replace("{id}", todo["id"]), raw=raw, headers=headers)
    assert_conforms(exchange, 415)


# -- photos -----------------------------------------------------------------------------------

PHOTO_BODIES: Final = [
    pytest.param({"content_type": "image/jpeg", "size": 200_000}, id="minimal"),
    pytest.param({"content_type": "image/png", "size": 1, "filename": "IMG_0042.png"}, id="png"),
    pytest.param({"content_type": "image/webp", "size": 10_485_760}, id="webp-10MiB"),
    pytest.param({"content_type": "image/jpeg", "size": 9, "filename": "f" * 255}, id="name-255"),
    pytest.param({"content_type": "image/jpeg", "size": 9, "filename": None}, id="name-null"),
]

BAD_PHOTO_BODIES: Final = [
    pytest.param({"content_type": "image/gif", "size": 1}, id="gif"),
    pytest.param({"content_type": "image/jpeg"}, id="no-size"),
    pytest.param({"content_type": "image/jpeg", "size": 0}, id="size-0"),
    pytest.param({"content_type": "image/jpeg", "size": 10_485_761}, id="size-over-10MiB"),
    pytest.param({"content_type": "image/jpeg", "size": "1"}, id="size-string"),
    pytest.param({"content_type": "image/jpeg", "size": True}, id="size-boolean"),
    pytest.param({"content_type": "image/jpeg", "size": 1, "filename": ""}, id="name-empty"),
    pytest.param({"content_type": "image/jpeg", "size": 1, "filename": "  "}, id="name-blank"),
    pytest.param({"content_type": "image/jpeg", "size": 1, "filename": "f" * 256}, id="name-256"),
    pytest.param({"content_type": "image/jpeg", "size": 1, "caption": "x"}, id="unknown-field"),
]


@pytest.fixture
def photo_client(client: Client, media: Media) -> Client:
    return client


def _create_photo(client: Client, sub: str = ALICE) -> Json:
    body = json.dumps({"content_type": "image/jpeg", "size": 200_000, "filename": "a.jpg"})
    response = client.http.post("/photos", headers=headers_for(sub), body=body.encode())
    assert response.status_code == 201, response.body
    photo: Json = response.json_body["photo"]
    return photo


@pytest.fixture
def photo(photo_client: Client) -> Json:
    return _create_photo(photo_client)


@pytest.mark.parametrize("body", PHOTO_BODIES)
def test_openapi_create_photo_matches(photo_client: Client, body: Json) -> None:
    assert_request_conforms("POST", "/photos", body)
    exchange = send(photo_client, "POST", "/photos", body=body)
    assert_conforms(exchange, 201)
    photo_id = exchange.response.json_body["photo"]["id"]
    assert exchange.response.headers["Location"] == f"/photos/{photo_id}"


@pytest.mark.parametrize("body", BAD_PHOTO_BODIES)
def test_openapi_create_photo_rejects_what_the_schema_rejects(
    photo_client: Client, body: Json
) -> None:
    assert _errors(
        _json_schema_pointer(f"{_operation_pointer('POST', '/photos')}/requestBody"), body
    )
    assert_conforms(send(photo_client, "POST", "/photos", body=body), 400)


@pytest.mark.parametrize("query", ["", "?limit=1"])
def test_openapi_list_photos_matches(photo_client: Client, photo: Json, query: str) -> None:
    _create_photo(photo_client)
    assert_conforms(send(photo_client, "GET", f"/photos{query}"), 200)


def test_openapi_list_photos_next_page_matches(photo_client: Client, photo: Json) -> None:
    _create_photo(photo_client)
    first = send(photo_client, "GET", "/photos?limit=1").response.json_body
    assert isinstance(first["next_cursor"], str)
    exchange = send(photo_client, "GET", f"/photos?limit=1&cursor={quote(first['next_cursor'])}")
    assert_conforms(exchange, 200)


@pytest.mark.parametrize("url", ["/photos?limit=0", "/photos?cursor=forged"])
def test_openapi_list_photos_bad_request_matches(photo_client: Client, url: str) -> None:
    assert_conforms(send(photo_client, "GET", url), 400)


@pytest.mark.parametrize(
    ("upload", "status"),
    [
        pytest.param(None, "pending", id="pending"),
        pytest.param(jpeg(), "ready", id="ready"),
        pytest.param(b"not an image", "failed", id="failed"),
    ],
)
def test_openapi_get_photo_matches(
    photo_client: Client, media: Media, photo: Json, upload: bytes | None, status: str
) -> None:
    if upload is not None:
        key = upload_key(ALICE, photo["id"])
        boto3.client("s3").put_object(Bucket=media.bucket, Key=key, Body=upload)
        deps.photos().process_upload(media.bucket, key)
    exchange = send(photo_client, "GET", f"/photos/{photo['id']}")
    assert_conforms(exchange, 200)
    assert exchange.response.json_body["status"] == status


def test_openapi_get_photo_not_modified_matches(photo_client: Client, photo: Json) -> None:
    headers = headers_for(ALICE, **{"If-None-Match": f'"{photo["version"]}"'})
    assert_conforms(send(photo_client, "GET", f"/photos/{photo['id']}", headers=headers), 304)


def test_openapi_delete_photo_matches(photo_client: Client, photo: Json) -> None:
    assert_conforms(send(photo_client, "DELETE", f"/photos/{photo['id']}"), 204)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_openapi_other_users_photo_matches(photo_client: Client, photo: Json, method: str) -> None:
    exchange = send(photo_client, method, f"/photos/{photo['id']}", headers=headers_for("bob"))
    assert_conforms(exchange, 404)


# -- blog posts -------------------------------------------------------------------------------

POST_BODIES: Final = [
    pytest.param({"title": "Hello"}, id="title-only"),
    pytest.param(
        {
            "slug": "offline-sync",
            "title": "  Offline sync, explained ",
            "summary": " How the app keeps your todos in step. ",
            "body": "# Sync\n\nOnly **changes** travel. <script>alert(1)</script>",
            "status": "published",
            "cover_photo_id": None,
        },
        id="every-field",
    ),
    pytest.param({"title": "Ünïcode Day"}, id="derived-slug"),
    pytest.param({"title": "Hello", "summary": None, "body": None}, id="nulls"),
]

POST_LIMIT_BODIES: Final = [
    pytest.param({"title": "t" * 200}, id="title-200"),
    pytest.param({"title": "x", "slug": "s" * 80}, id="slug-80"),
    pytest.param({"title": "x", "slug": "2026-in-review"}, id="slug-digits-hyphens"),
    pytest.param({"title": "x", "summary": "s" * 1000}, id="summary-1000"),
    pytest.param({"title": "x", "summary": "line one\nline two"}, id="summary-lines"),
    pytest.param({"title": "x", "body": "b" * 102_400}, id="body-100KiB"),
    pytest.param({"title": "x", "status": "draft"}, id="status-draft"),
]

BAD_POST_BODIES: Final = [
    pytest.param({"title": "x", "colour": "red"}, id="unknown-field"),
    pytest.param({"body": "no title"}, id="no-title"),
    pytest.param({"title": "   "}, id="blank-title"),
    pytest.param({"title": "t" * 201}, id="title-201"),
    pytest.param({"title": "Hello\nworld"}, id="title-two-lines"),
    pytest.param({"title": "Hello\u0007"}, id="title-control"),
    pytest.param({"title": 7}, id="title-number"),
    pytest.param({"title": "x", "slug": ""}, id="slug-empty"),
    pytest.param({"title": "x", "slug": "Hello"}, id="slug-uppercase"),
    pytest.param({"title": "x", "slug": "bad_slug"}, id="slug-underscore"),
    pytest.param({"title": "x", "slug": "a--b"}, id="slug-double-hyphen"),
    pytest.param({"title": "x", "slug": "-a"}, id="slug-leading-hyphen"),
    pytest.param({"title": "x", "slug": "s" * 81}, id="slug-81"),
    pytest.param({"title": "x", "summary": "s" * 1001}, id="summary-1001"),
    pytest.param({"title": "x", "summary": 5}, id="summary-number"),
    pytest.param({"title": "x", "body": "b" * 102_401}, id="body-over-100KiB"),
    pytest.param({"title": "x", "body": ["b"]}, id="body-array"),
    pytest.param({"title": "x", "status": "live"}, id="status-live"),
    pytest.param({"title": "x", "cover_photo_id": ""}, id="cover-empty"),
    pytest.param({"title": "x", "cover_photo_id": "p" * 65}, id="cover-65"),
    pytest.param({"title": "x", "cover_photo_id": 5}, id="cover-number"),
]

BAD_POST_PATCHES: Final = [
    pytest.param({"slug": "bye"}, id="slug"),
    pytest.param({"colour": "red"}, id="unknown-field"),
    pytest.param({"title": ""}, id="empty-title"),
    pytest.param({"title": None}, id="null-title"),
    pytest.param({"status": None}, id="null-status"),
    pytest.param({"status": "live"}, id="status-live"),
]


def _create_post(client: Client, body: Json) -> Json:
    exchange = send(client, "POST", "/posts", body=body)
    assert exchange.response.status_code == 201, exchange.response.body
    created: Json = exchange.response.json_body
    return created


def _etag(client: Client, slug: str) -> str:
    return send(client, "GET", f"/posts/{slug}/preview").response.headers["ETag"]


@pytest.fixture
def draft(client: Client) -> Json:
    return _create_post(client, {"title": "Hello", "body": "*hi*"})


@pytest.fixture
def published(client: Client) -> Json:
    body = {"title": "Offline sync", "body": "Only **changes** travel.", "status": "published"}
    return _create_post(client, body)


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        ({"author": "ed", "owner": "ed"}, "an undocumented field"),
        ({"slug": "Offline-Sync"}, "a slug with capitals"),
        ({"title": " padded "}, "an untrimmed title"),
        ({"title": "two\nlines"}, "a title of two lines"),
        ({"status": "live"}, "an unknown status"),
        ({"published_at": None}, "a published post without published_at"),
        ({"version": 0}, "version below 1"),
    ],
)
def test_openapi_post_schema_rejects_a_broken_post(change: Json, broken: str) -> None:
    example = SPEC["components"]["schemas"]["Post"]["examples"][0]
    assert _errors("/components/schemas/Post", {**example, **change}), broken


@pytest.mark.parametrize(
    "change",
    [pytest.param({"body": "x"}, id="body"), pytest.param({"body_html": "<p>x</p>"}, id="html")],
)
def test_openapi_post_summary_schema_rejects_a_body(change: Json) -> None:
    example = SPEC["components"]["schemas"]["PostSummary"]["examples"][0]
    assert _errors("/components/schemas/PostSummary", {**example, **change})


@pytest.mark.parametrize(
    ("path", "status"),
    [("/posts", "200"), ("/posts", "304"), ("/posts/{slug}", "200"), ("/posts/{slug}", "304")],
)
def test_openapi_public_post_reads_declare_cache_headers(path: str, status: str) -> None:
    headers = _node(_pointer("paths", path, "get", "responses", status))["headers"]
    assert {"Cache-Control", "ETag"} <= set(headers)


@pytest.mark.parametrize("body", POST_BODIES)
def test_openapi_create_post_matches(client: Client, body: Json) -> None:
    assert_request_conforms("POST", "/posts", body)
    exchange = send(client, "POST", "/posts", body=body)
    assert_conforms(exchange, 201)
    assert exchange.response.headers["Location"] == f"/posts/{exchange.response.json_body['slug']}"


def test_openapi_create_post_with_cover_photo_matches(photo_client: Client, media: Media) -> None:
    photo = _create_photo(photo_client, sub=EDITOR)
    key = upload_key(EDITOR, photo["id"])
    boto3.client("s3").put_object(Bucket=media.bucket, Key=key, Body=jpeg())
    deps.photos().process_upload(media.bucket, key)
    body = {"title": "With a cover", "cover_photo_id": photo["id"]}
    assert_request_conforms("POST", "/posts", body)
    assert_conforms(send(photo_client, "POST", "/posts", body=body), 201)


@pytest.mark.parametrize("body", POST_LIMIT_BODIES)
def test_openapi_create_post_accepts_what_the_schema_accepts(client: Client, body: Json) -> None:
    assert_request_conforms("POST", "/posts", body)
    assert_conforms(send(client, "POST", "/posts", body=body), 201)


@pytest.mark.parametrize("body", BAD_POST_BODIES)
def test_openapi_create_post_rejects_what_the_schema_rejects(client: Client, body: Json) -> None:
    assert _errors(
        _json_schema_pointer(f"{_operation_pointer('POST', '/posts')}/requestBody"), body
    )
    assert_conforms(send(client, "POST", "/posts", body=body), 400)


@pytest.mark.parametrize("query", ["", "?limit=1"])
def test_openapi_list_posts_matches(
    client: Client, draft: Json, published: Json, query: str
) -> None:
    _create_post(client, {"title": "Second", "status": "published"})
    exchange = send(client, "GET", f"/posts{query}")
    assert_conforms(exchange, 200)
    assert exchange.response.json_body["items"]


def test_openapi_list_posts_next_page_matches(client: Client, published: Json) -> None:
    _create_post(client, {"title": "Second", "status": "published"})
    first = send(client, "GET", "/posts?limit=1").response.json_body
    assert isinstance(first["next_cursor"], str)
    exchange = send(client, "GET", f"/posts?limit=1&cursor={quote(first['next_cursor'])}")
    assert_conforms(exchange, 200)


def test_openapi_get_post_matches(client: Client, published: Json) -> None:
    assert_conforms(send(client, "GET", f"/posts/{published['slug']}"), 200)


@pytest.mark.parametrize("path", ["/posts", "/posts/{slug}"])
def test_openapi_public_post_read_not_modified_matches(
    client: Client, published: Json, path: str
) -> None:
    url = path.replace("{slug}", published["slug"])
    etag = send(client, "GET", url).response.headers["ETag"]
    exchange = send(client, "GET", url, headers={**ANONYMOUS, "If-None-Match": etag})
    assert_conforms(exchange, 304)


@pytest.mark.parametrize("status", ["draft", "published"])
def test_openapi_preview_post_matches(client: Client, status: str) -> None:
    post = _create_post(client, {"title": "Hello", "body": "*hi*", "status": status})
    assert_conforms(send(client, "GET", f"/posts/{post['slug']}/preview"), 200)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"status": "published"}, id="publish"),
        pytest.param({}, id="nothing"),
        pytest.param(
            {"title": "Hello again", "summary": None, "body": "New *body*", "cover_photo_id": None},
            id="several",
        ),
    ],
)
def test_openapi_update_post_matches(client: Client, draft: Json, body: Json) -> None:
    url = f"/posts/{draft['slug']}"
    assert_request_conforms("PATCH", url, body)
    headers = editor_headers(**{"If-Match": _etag(client, draft["slug"])})
    assert_conforms(send(client, "PATCH", url, body=body, headers=headers), 200)


def test_openapi_update_post_with_version_if_match_matches(client: Client, draft: Json) -> None:
    headers = editor_headers(**{"If-Match": f'"{draft["version"]}"'})
    body = {"summary": "A summary"}
    assert_conforms(
        send(client, "PATCH", f"/posts/{draft['slug']}", body=body, headers=headers), 200
    )


@pytest.mark.parametrize("body", BAD_POST_PATCHES)
def test_openapi_update_post_rejects_what_the_schema_rejects(
    client: Client, draft: Json, body: Json
) -> None:
    url = f"/posts/{draft['slug']}"
    assert _errors(_json_schema_pointer(f"{_operation_pointer('PATCH', url)}/requestBody"), body)
    assert_conforms(send(client, "PATCH", url, body=body), 400)


def test_openapi_delete_post_matches(client: Client, published: Json) -> None:
    headers = editor_headers(**{"If-Match": _etag(client, published["slug"])})
    assert_conforms(send(client, "DELETE", f"/posts/{published['slug']}", headers=headers), 204)


def test_openapi_get_draft_post_matches(client: Client, draft: Json) -> None:
    assert_conforms(send(client, "GET", f"/posts/{draft['slug']}"), 404)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/posts/missing"),
        ("GET", "/posts/Not-A-Slug"),
        ("GET", "/posts/missing/preview"),
        ("PATCH", "/posts/missing"),
        ("DELETE", "/posts/missing"),
    ],
)
def test_openapi_missing_post_matches(client: Client, draft: Json, method: str, url: str) -> None:
    body = {"title": "x"} if method == "PATCH" else None
    assert_conforms(send(client, method, url, body=body), 404)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": "Other", "slug": "hello"}, id="given"),
        pytest.param({"title": "Hello!"}, id="derived"),
    ],
)
def test_openapi_taken_slug_matches(client: Client, draft: Json, body: Json) -> None:
    assert_conforms(send(client, "POST", "/posts", body=body), 409)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_openapi_stale_post_if_match_matches(client: Client, draft: Json, method: str) -> None:
    stale = _etag(client, draft["slug"])
    send(client, "PATCH", f"/posts/{draft['slug']}", body={"summary": "changed"})
    headers = editor_headers(**{"If-Match": stale})
    body = {"summary": "again"} if method == "PATCH" else None
    exchange = send(client, method, f"/posts/{draft['slug']}", body=body, headers=headers)
    assert_conforms(exchange, 412)


@pytest.mark.parametrize("groups", [None, ["readers"]], ids=["no-group", "other-group"])
@pytest.mark.parametrize(
    ("method", "url"),
    [(method, path) for path, method, op in _operations() if EDITORS in _roles(op)],
)
def test_openapi_forbidden_matches(
    client: Client, draft: Json, method: str, url: str, groups: list[str] | None
) -> None:
    headers = {"Authorization": make_token(ALICE, groups=groups), **ANONYMOUS}
    exchange = send(client, method.upper(), url.replace("{slug}", draft["slug"]), headers=headers)
    assert_conforms(exchange, 403)


# -- subscriptions ----------------------------------------------------------------------------

SUBSCRIPTION_BODIES: Final = [
    pytest.param({"email": "ann@example.com"}, id="plain"),
    pytest.param({"email": "  Ann.Lee+blog@Example.COM "}, id="padded-mixed-case"),
    pytest.param({"email": "ann@bücher.example"}, id="idn-domain"),
    pytest.param({"email": "a" * 64 + "@example.com"}, id="local-part-64"),
]

BAD_SUBSCRIPTION_BODIES: Final = [
    pytest.param({}, id="no-email"),
    pytest.param({"email": 5}, id="email-number"),
    pytest.param({"email": ""}, id="email-empty"),
    pytest.param({"email": "not-an-address"}, id="no-at"),
    pytest.param({"email": "ann@"}, id="no-domain"),
    pytest.param({"email": "@example.com"}, id="no-local-part"),
    pytest.param({"email": "ann@example"}, id="one-label"),
    pytest.param({"email": "ann@example.123"}, id="numeric-tld"),
    pytest.param({"email": "a b@example.com"}, id="space"),
    pytest.param({"email": "ann..lee@example.com"}, id="double-dot"),
    pytest.param({"email": "a" * 250 + "@example.com"}, id="over-254"),
    pytest.param({"email": "ann@example.com", "name": "Ann"}, id="unknown-field"),
]

BAD_UNSUBSCRIBE_BODIES: Final = [
    pytest.param({}, id="no-token"),
    pytest.param({"token": None}, id="token-null"),
    pytest.param({"token": ""}, id="token-empty"),
    pytest.param({"token": "t" * 129}, id="token-129"),
    pytest.param({"token": "t", "email": "ann@example.com"}, id="unknown-field"),
]


@pytest.fixture
def unsubscribe_token(client: Client) -> str:
    body = {"email": "ann@example.com"}
    assert send(client, "POST", "/subscriptions", body=body).response.status_code == 202
    token: str = SubscriberModel.get("ann@example.com").token
    return token


@pytest.mark.parametrize("body", SUBSCRIPTION_BODIES)
def test_openapi_subscribe_matches(client: Client, body: Json) -> None:
    assert_request_conforms("POST", "/subscriptions", body)
    assert_conforms(send(client, "POST", "/subscriptions", body=body), 202)


def test_openapi_subscribe_again_matches(client: Client, unsubscribe_token: str) -> None:
    exchange = send(client, "POST", "/subscriptions", body={"email": "ANN@example.com"})
    assert_conforms(exchange, 202)


@pytest.mark.parametrize("body", BAD_SUBSCRIPTION_BODIES)
def test_openapi_subscribe_rejects_what_the_schema_rejects(client: Client, body: Json) -> None:
    assert _errors(
        _json_schema_pointer(f"{_operation_pointer('POST', '/subscriptions')}/requestBody"), body
    )
    assert_conforms(send(client, "POST", "/subscriptions", body=body), 400)


@pytest.mark.parametrize("times", [1, 2], ids=["once", "twice"])
def test_openapi_unsubscribe_matches(client: Client, unsubscribe_token: str, times: int) -> None:
    body = {"token": unsubscribe_token}
    assert_request_conforms("POST", "/subscriptions/unsubscribe", body)
    for _ in range(times - 1):
        send(client, "POST", "/subscriptions/unsubscribe", body=body)
    assert_conforms(send(client, "POST", "/subscriptions/unsubscribe", body=body), 200)


@pytest.mark.parametrize("token", ["A" * 43, "not a token!"], ids=["unknown", "malformed"])
def test_openapi_unsubscribe_unknown_token_matches(
    client: Client, unsubscribe_token: str, token: str
) -> None:
    body = {"token": token}
    assert_request_conforms("POST", "/subscriptions/unsubscribe", body)
    assert_conforms(send(client, "POST", "/subscriptions/unsubscribe", body=body), 404)


@pytest.mark.parametrize("body", BAD_UNSUBSCRIBE_BODIES)
def test_openapi_unsubscribe_rejects_what_the_schema_rejects(client: Client, body: Json) -> None:
    url = "/subscriptions/unsubscribe"
    assert _errors(_json_schema_pointer(f"{_operation_pointer('POST', url)}/requestBody"), body)
    assert_conforms(send(client, "POST", url, body=body), 400)
