"""schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

# Values only the server issues (signed cursors, sync tokens): the schema cannot describe which
# strings are valid, so a "valid" one generated from it is refused (400) by design. Positive
# cases go without them; negative cases keep them, so garbage there is still fuzzed.
SERVER_ISSUED = ("cursor", "token")
# Body fields that name another resource in a given state (a post's cover: one of the author's
# photos whose thumbnails are ready, else 400): the schema cannot know which ids exist.
REFERENCES = ("cover_photo_id",)
# Query parameters that exclude each other (a 400 says so), which OpenAPI cannot express: a
# positive case keeps the first.
EXCLUSIVE = (("updated_since", "done"),)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every phase sends through here (map_case sees only generated cases)."""
    meta = case.meta
    positive = meta is not None and meta.generation.mode == GenerationMode.POSITIVE
    if positive and isinstance(case.body, dict):
        for name in REFERENCES:
            if case.body.get(name) is not None:
                case.body[name] = None
    if positive and case.query:
        for name in SERVER_ISSUED:
            case.query.pop(name, None)
        for kept, dropped in EXCLUSIVE:
            if kept in case.query:
                case.query.pop(dropped, None)
