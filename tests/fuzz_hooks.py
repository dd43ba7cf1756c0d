"""schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

# Signed values only the server issues (cursors, sync tokens), by query parameter and the paths
# they are signed for (None: every path): the schema cannot describe which strings are valid,
# so a "valid" one generated from it is refused (400, "forged") by design. Positive cases go
# without them; negative cases keep them, so garbage there is still fuzzed. (An unsubscribe
# token is not signed: an unknown one is a 404, which a valid request may get.)
SERVER_ISSUED: dict[str, tuple[str, ...] | None] = {"cursor": None, "token": ("/todos/sync",)}
# Body fields that name another resource in a given state (a post's cover: one of the author's
# photos whose thumbnails are ready, else 400): the schema cannot know which ids exist.
REFERENCES = ("cover_photo_id",)
# Query parameters a request needs with one media type only, which OpenAPI cannot make
# conditional: RFC 8058's one-click unsubscribe posts a fixed form to the link, whose query
# carries the token. A valid case gets a token (an unknown one: 404).
NEEDED_WITH = {
    ("/subscriptions/unsubscribe", "application/x-www-form-urlencoded"): "token",
    ("/subscriptions/unsubscribe", "multipart/form-data"): "token",
}
# Headers that exclude each other (PUT creates with If-None-Match, replaces with If-Match): a
# positive case keeps the first.
EXCLUSIVE_HEADERS = (("If-Match", "If-None-Match"),)
# Query parameters that exclude each other (a 400 says so), which OpenAPI cannot express: a
# positive case keeps the first.
EXCLUSIVE = (("updated_since", "done"),)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every phase sends through here (map_case sees only generated cases)."""
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.POSITIVE:
        _valid_body(case)
        _valid_query_and_headers(case)


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
