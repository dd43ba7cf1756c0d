"""Routes for /todos: thin adapters over TodoService."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.core.errors import ValidationError
from chalicelib.todos import batches, todo_sync, todo_writes, todos
from chalicelib.web.http import (
    BODYLESS,
    cognito,
    domain_errors,
    entity_tags,
    etag,
    if_match,
    json_body,
    not_modified,
    page_limit,
    query,
    user_id,
)

if TYPE_CHECKING:
    from chalicelib.todos.requests import Answer

bp = Blueprint(__name__)

# The write and batch machinery (batch_routes, requests) is imported by the routes that write,
# on their first request: `import app` is every cold start, reads included.


def _todo_response(todo: dict[str, Any], status: int = 200) -> Response:
    return Response(body=todo, status_code=status, headers={"ETag": etag(todo["version"])})


def _answer(answer: Answer) -> Response:
    """A write's answer, or its first answer replayed for a retried Idempotency-Key."""
    from chalicelib.todos.batch_routes import answer_parts  # noqa: PLC0415 - writes only

    status, headers, body = answer_parts(answer)
    return Response(body="" if body is None else body, status_code=status, headers=dict(headers))


def _write(request: Request, method: str, todo_id: str, body: dict[str, Any] | None) -> Response:
    """PUT, PATCH or DELETE of one todo, exactly as the same request inside a batch."""
    from chalicelib.todos.requests import TodoRequest  # noqa: PLC0415 - writes only

    write = TodoRequest(
        method,
        todo_id,
        body,
        if_match=if_match(request),
        if_none_match=entity_tags(request.headers.get("if-none-match")),
        key=request.headers.get("idempotency-key"),
    )
    return _answer(todo_writes().write(user_id(request), write))


@bp.route("/todos", methods=["POST"], authorizer=cognito)
@domain_errors
def create_todo() -> Response:
    from chalicelib.todos.requests import Answer  # noqa: PLC0415 - writes only

    request = bp.current_request
    todo, replayed = todos().create(
        user_id(request), json_body(request), request.headers.get("idempotency-key")
    )
    response = _answer(Answer(todo, created=True, replayed=replayed))
    response.headers["Location"] = f"/todos/{todo['id']}"
    return response


@bp.route("/todos", methods=["GET"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def list_todos() -> dict[str, Any]:
    from chalicelib.core import validation  # noqa: PLC0415 - first request, not `import app`

    request = bp.current_request
    owner = user_id(request)
    limit = page_limit(request)
    cursor = query(request, "cursor")
    since = query(request, "updated_since")
    done = validation.query_bool(query(request, "done"), "done")
    if since is None:
        return todos().list_todos(owner, limit=limit, cursor=cursor, done=done)
    if done is not None:
        raise ValidationError("done cannot be combined with updated_since")
    return todos().changes(
        owner, since=validation.parse_time(since, "updated_since"), limit=limit, cursor=cursor
    )


@bp.route("/todos/sync", methods=["GET"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def sync_todos() -> dict[str, Any]:
    request = bp.current_request
    return todo_sync().sync(
        user_id(request),
        token=query(request, "token"),
        cursor=query(request, "cursor"),
        limit=page_limit(request),
    )


@bp.route("/todos/batch", methods=["POST"], authorizer=cognito)
@domain_errors
def batch_todos() -> dict[str, Any]:
    request = bp.current_request
    if "idempotency-key" in request.headers:
        raise ValidationError(
            "a batch takes no Idempotency-Key of its own: put one in each request's headers"
        )
    from chalicelib.todos.batch_routes import run_batch  # noqa: PLC0415 - this route only

    apply = partial(batches().apply, user_id(request))
    return {"responses": run_batch(json_body(request), apply)}


@bp.route("/todos/{todo_id}", methods=["PUT"], authorizer=cognito)
@domain_errors
def put_todo(todo_id: str) -> Response:
    request = bp.current_request
    return _write(request, "PUT", todo_id, json_body(request))


@bp.route("/todos/{todo_id}", methods=["GET"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def get_todo(todo_id: str) -> Response:
    request = bp.current_request
    todo = todos().get(user_id(request), todo_id)
    if not_modified(request, str(todo["version"])):
        return Response(body="", status_code=304, headers={"ETag": etag(todo["version"])})
    return _todo_response(todo)


@bp.route("/todos/{todo_id}", methods=["PATCH"], authorizer=cognito)
@domain_errors
def update_todo(todo_id: str) -> Response:
    request = bp.current_request
    return _write(request, "PATCH", todo_id, json_body(request))


@bp.route("/todos/{todo_id}", methods=["DELETE"], authorizer=cognito, content_types=BODYLESS)
@domain_errors
def delete_todo(todo_id: str) -> Response:
    return _write(bp.current_request, "DELETE", todo_id, None)
