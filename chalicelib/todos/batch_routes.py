"""POST /todos/batch: the JSON-batching envelope in and out; each request means what it would
mean alone (same validation, same errors, same ETags)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.core import validation
from chalicelib.core.errors import DomainError, ValidationError
from chalicelib.todos.requests import Answer, TodoRequest
from chalicelib.web.http import entity_tags, error_envelope, etag

Json = dict[str, Any]

MAX_REQUESTS = 25
MAX_REQUEST_ID = 64
METHODS = ("PUT", "PATCH", "DELETE")
REQUEST_FIELDS = ("id", "method", "url", "headers", "body")
_URL = r"/todos/([^/?#]+)"  # compiled by `re` on first use, not at `import app`
# Marks the first answer to an Idempotency-Key, sent again for a retry.
REPLAYED = "Idempotent-Replayed"

Parsed = tuple[str, TodoRequest | DomainError]
Apply = Callable[[Sequence[TodoRequest]], Sequence[Answer | DomainError]]


def run_batch(data: Json, apply: Apply) -> list[Json]:
    """The `responses`: one per request, same order; malformed requests fail alone."""
    parsed = parse_batch(data)
    outcomes = iter(apply([r for _, r in parsed if isinstance(r, TodoRequest)]))
    return [
        respond(request_id, request if isinstance(request, DomainError) else next(outcomes))
        for request_id, request in parsed
    ]


def parse_batch(data: Json) -> list[Parsed]:
    """Each request's id and what it asks for (or why it is malformed, which fails it alone).

    A batch that is not a list of 1..25 objects with ids fails as a whole (400); a request
    whose id an earlier one has fails alone.
    """
    validation.reject_unknown(data, ("requests",))
    requests = data.get("requests")
    if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_REQUESTS:
        raise ValidationError(f"requests must be an array of 1 to {MAX_REQUESTS} requests")
    parsed: list[Parsed] = []
    for number, request in enumerate(requests):
        if not isinstance(request, dict):
            raise ValidationError(f"requests[{number}] must be an object")
        request_id = request.get("id")
        if not isinstance(request_id, str) or not 1 <= len(request_id) <= MAX_REQUEST_ID:
            raise ValidationError(
                f"requests[{number}].id must be a string of 1 to {MAX_REQUEST_ID} characters"
            )
        if any(request_id == seen for seen, _ in parsed):
            # Answered in its place: responses are in the order of the requests.
            repeated = ValidationError(f"requests[{number}].id {request_id!r} is used twice")
            parsed.append((request_id, repeated))
            continue
        parsed.append((request_id, _request(request)))
    return parsed


def _request(request: Json) -> TodoRequest | DomainError:
    try:
        validation.reject_unknown(request, REQUEST_FIELDS)
        method = request.get("method")
        if method not in METHODS:
            raise ValidationError(f"method must be one of {', '.join(METHODS)}")
        url = request.get("url")
        match = re.fullmatch(_URL, url) if isinstance(url, str) else None
        if match is None:
            raise ValidationError("url must be /todos/{id}")
        headers = _headers(request.get("headers"))
        body = request.get("body")
        if method == "DELETE" and body is not None:
            raise ValidationError("a DELETE has no body")
        if method != "DELETE" and not isinstance(body, dict):
            raise ValidationError(f"a {method} needs a body: a JSON object")
        return TodoRequest(
            method,
            match.group(1),
            body,
            if_match=entity_tags(headers.get("if-match")),
            if_none_match=entity_tags(headers.get("if-none-match")),
            key=headers.get("idempotency-key"),
        )
    except DomainError as e:
        return e


def _headers(value: object) -> dict[str, str]:
    """Header names are case-insensitive; headers other than the conditional ones and
    Idempotency-Key are ignored."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValidationError("headers must be an object of strings")
    return {str(name).lower(): text for name, text in value.items()}


def respond(request_id: str, outcome: Answer | DomainError) -> Json:
    """One entry of `responses`: what the request would have answered alone."""
    if isinstance(outcome, DomainError):
        status, envelope = error_envelope(outcome)
        return {"id": request_id, "status": status, "headers": {}, "body": envelope}
    status, headers, body = answer_parts(outcome)
    return {"id": request_id, "status": status, "headers": headers, "body": body}


def answer_parts(answer: Answer) -> tuple[int, dict[str, str], Json | None]:
    """A todo write's status, headers and body, the same alone, in a batch, and replayed."""
    if answer.todo is None:
        status, headers = 204, {}
    else:
        status, headers = (201 if answer.created else 200), {"ETag": etag(answer.todo["version"])}
    if answer.replayed:
        headers[REPLAYED] = "true"
    return status, headers, answer.todo
