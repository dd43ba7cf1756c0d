"""schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS): what makes a
generated case valid where OpenAPI cannot say so, and a record of every answer.

Each change below is made to positive (schema-valid) cases only, so negative cases still send
the raw values; each says what it leaves unjudged by the fuzzer and which test judges it.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

# Signed values only the server issues (cursors, sync tokens), by query parameter and the paths
# they are signed for (None: every path): the schema cannot describe which strings are valid,
# so a "valid" one generated from it is refused (400, "forged") by design. Positive cases go
# without them. Unjudged here: paging on and syncing from a real cursor or token
# (tests/test_todos_http.py, tests/test_todo_sync.py, tests/test_e2e_offline_sync.py).
SERVER_ISSUED: dict[str, tuple[str, ...] | None] = {"cursor": None, "token": ("/todos/sync",)}
# Body fields that name another resource in a given state (a post's cover: one of the author's
# photos whose thumbnails are ready, else 400): the schema cannot know which ids exist.
# Unjudged here: a post with a cover (tests/test_posts_service.py).
REFERENCES = ("cover_photo_id",)
# Query parameters a request needs with one media type only, which OpenAPI cannot make
# conditional: RFC 8058's one-click unsubscribe posts a fixed form to the link, whose query
# carries the token. A valid case gets a token (an unknown one: 404).
NEEDED_WITH = {
    ("/subscriptions/unsubscribe", "application/x-www-form-urlencoded"): "token",
    ("/subscriptions/unsubscribe", "multipart/form-data"): "token",
}
# Headers that exclude each other (PUT creates with If-None-Match, replaces with If-Match): a
# positive case keeps the first. Unjudged here: PUT with both (tests/test_todos_offline_http.py).
EXCLUSIVE_HEADERS = (("If-Match", "If-None-Match"),)
# Query parameters that exclude each other (a 400 says so), which OpenAPI cannot express: a
# positive case keeps the first. Unjudged here: that 400 (tests/test_todos_http.py).
EXCLUSIVE = (("updated_since", "done"),)
# An Idempotency-Key names one request: schemathesis varies the body around one example key, and
# every variant after the first was a 409 that judged nothing of the body. A positive case's key
# gets the digest of its method, URL and body, so a repeated key and request still replays.
# Unjudged here: a key reused for another request, 409 (tests/test_todos_http.py and
# tests/test_todos_offline_http.py).
IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_KEY = 64
_DIGEST = 12
# Todo ids that are paths of their own: the spec's todo_id refuses them, so schemathesis sends
# them as negative cases of the /todos/{todo_id} operations, but GET /todos/sync is a request of
# sync_todos (API Gateway routes the literal path first), answered as that operation answers.
# Such a case's failures are dropped; unjudged here: nothing that the cases of sync_todos and
# batch_todos do not judge as their own.
ROUTES_UNDER_TODOS = frozenset({"batch", "sync"})
# schemathesis' coverage phase narrows a header's values to letters and digits, which a pattern
# that needs a "." or a '"' cannot meet (X-Client-Version, If-Match), and then sends a value
# that breaks the pattern (X-Client-Version: 0) as a valid case. A positive case's optional
# header that breaks its own schema is dropped: the generator's mistake, not the API's.
# Unjudged here: nothing (the header's valid values come in other cases, its invalid ones in
# negative cases, and tests/test_openapi_retries.py sends a malformed X-Client-Version).
# Where each answer is recorded (one JSON line: operation, generation mode, status), so that the
# test can judge what the checks cannot: that signed-in callers were served, not only refused.
ANSWERS = "FUZZ_ANSWERS"


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    path = os.environ.get(ANSWERS)
    if not path:
        return
    mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
    line = {"operation": case.operation.label, "mode": mode, "status": response.status_code}
    with open(path, "a", encoding="utf-8") as answers:
        answers.write(json.dumps(line) + "\n")


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    return (case.path_parameters or {}).get("todo_id") not in ROUTES_UNDER_TODOS


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every phase sends through here (map_case sees only generated cases)."""
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.POSITIVE:
        _valid_body(case)
        _valid_query_and_headers(case)
        _headers_within_schema(case)
        _key_per_body(case)


def _valid_body(case: Any) -> None:
    if not isinstance(case.body, dict):
        return
    for name in REFERENCES:
        if case.body.get(name) is not None:
            case.body[name] = None
    requests = case.body.get("requests")
    if isinstance(requests, list):
        # A batch's request ids must differ, which JSON Schema cannot say of a property.
        for number, request in enumerate(requests):
            if isinstance(request, dict):
                request["id"] = str(number)


def _valid_query_and_headers(case: Any) -> None:
    if case.headers:
        for kept, dropped in EXCLUSIVE_HEADERS:
            if kept in case.headers:
                case.headers.pop(dropped, None)
    needed = NEEDED_WITH.get((case.operation.path, case.media_type))
    if needed and needed not in (case.query or {}):
        case.query = {**(case.query or {}), needed: "unknown-token"}
    if case.query:
        for name, paths in SERVER_ISSUED.items():
            if paths is None or case.operation.path in paths:
                case.query.pop(name, None)
        for kept, dropped in EXCLUSIVE:
            if kept in case.query:
                case.query.pop(dropped, None)


def _headers_within_schema(case: Any) -> None:
    if not case.headers:
        return
    for parameter in case.operation.headers:
        value = case.headers.get(parameter.name)
        if value is not None and not parameter.is_required and not parameter.is_valid(value):
            del case.headers[parameter.name]


def _key_per_body(case: Any) -> None:
    key = (case.headers or {}).get(IDEMPOTENCY_KEY)
    if not isinstance(key, str):
        return
    sent = json.dumps(
        [case.operation.label, case.path_parameters, case.body], sort_keys=True, default=str
    )
    digest = hashlib.sha256(sent.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST]
    case.headers[IDEMPOTENCY_KEY] = f"{key[: MAX_KEY - _DIGEST - 1]}.{digest}"
