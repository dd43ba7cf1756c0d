"""The shared core: config, errors, validation, cursors, preconditions, cache, telemetry,
defaults (clock, ids), and here the accessor registry (`service`, `reset_services`: in this
`__init__`, not a module of its own, because every function loads it at `import app`).

Standard library only (no chalice, botocore or PynamoDB), and nothing else from chalicelib:
every other package may use it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functools import _lru_cache_wrapper

_ACCESSORS: list[_lru_cache_wrapper[Any]] = []


def service[T](build: Callable[..., T]) -> _lru_cache_wrapper[T]:
    """Accessors built on first use and cached: `functools.cache` that also registers the
    accessor, so `reset_services()` forgets what it built."""
    # functools.cache by its full name: importing chalicelib.core.cache sets `cache` here.
    cached = functools.cache(build)
    _ACCESSORS.append(cached)
    return cached


def reset_services() -> None:
    """Forget every built service and client (tests swap the environment underneath them)."""
    for accessor in _ACCESSORS:
        accessor.cache_clear()
