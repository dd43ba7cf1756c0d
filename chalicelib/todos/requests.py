"""One write of a todo batch as the API parsed it (light: the API imports it at cold start)."""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.core.preconditions import ANY_VERSION, IfMatch


# A NamedTuple, not a dataclass: `dataclasses` brings `inspect` into every cold start.
class TodoRequest(NamedTuple):
    """One write of a batch, as the API parsed it: PUT, PATCH or DELETE of /todos/{todo_id}."""

    method: str
    todo_id: str
    body: dict[str, Any] | None = None
    if_match: IfMatch = None
    if_none_match: IfMatch = None

    @property
    def creates(self) -> bool:
        return self.method == "PUT" and self.if_none_match == ANY_VERSION and self.if_match is None
