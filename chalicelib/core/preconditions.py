"""If-Match preconditions: the one type a client's If-Match becomes, and the one check of it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from chalicelib.core.errors import PreconditionFailed

# If-Match "*": any current version will do (the item must exist).
ANY_VERSION: Final = "*"
# What an If-Match header asks for: None (no header), ANY_VERSION, or the entity tags it names
# (without quotes).
IfMatch = frozenset[str] | str | None


def check_if_match(
    if_match: IfMatch,
    tags: Iterable[str],
    *,
    what: str,
    version: int,
    current: Callable[[], dict[str, Any]],
) -> None:
    """412 (with the current representation) unless If-Match names one of the item's `tags`."""
    if not isinstance(if_match, frozenset) or not if_match.isdisjoint(tags):
        return
    raise PreconditionFailed(
        f"If-Match does not match the current version ({version}); "
        f"the current {what} is in Current: merge and retry",
        current(),
    )
