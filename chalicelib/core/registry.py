"""Accessors built on first use and cached, and the one reset that forgets them all (tests swap
the environment underneath them)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functools import _lru_cache_wrapper

_ACCESSORS: list[_lru_cache_wrapper[Any]] = []


def service[T](build: Callable[..., T]) -> _lru_cache_wrapper[T]:
    """`functools.cache` that also registers the accessor, so `reset()` forgets what it built."""
    cached = cache(build)
    _ACCESSORS.append(cached)
    return cached


def reset() -> None:
    """Forget every built service and client."""
    for accessor in _ACCESSORS:
        accessor.cache_clear()
