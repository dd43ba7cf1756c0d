"""One todo write as the API parsed it, and what it answered (light: the API imports it at cold
start)."""

from typing import Any, NamedTuple

from chalicelib.core.preconditions import ANY_VERSION, IfMatch


# A NamedTuple, not a dataclass: `dataclasses` brings `inspect` into every cold start.
class TodoRequest(NamedTuple):
    """A PUT, PATCH or DELETE of /todos/{todo_id}, alone or in a batch, with its conditional
    headers and its Idempotency-Key (`key`)."""

    method: str
    todo_id: str
    body: dict[str, Any] | None = None
    if_match: IfMatch = None
    if_none_match: IfMatch = None
    key: str | None = None

    @property
    def creates(self) -> bool:
        return self.method == "PUT" and self.if_none_match == ANY_VERSION and self.if_match is None

    @property
    def path(self) -> str:
        return f"/todos/{self.todo_id}"


class Answer(NamedTuple):
    """What a todo write answered: the todo (None after a delete), whether the write created
    it, and whether this is the first answer again, replayed for a retried Idempotency-Key."""

    todo: dict[str, Any] | None
    created: bool = False
    replayed: bool = False
