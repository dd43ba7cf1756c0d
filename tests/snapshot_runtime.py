"""A stand-in for `snapshot_restore_py`, the module Lambda's Python runtime provides to SnapStart
functions (it exists nowhere else): the tests and benchmarks/cold_start.py install it under that
name, then play Lambda's part with `snapshot()` and `restore()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

before: list[Hook] = []
after: list[Hook] = []


def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    before.append((func, args, kwargs))
    return func


def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    after.append((func, args, kwargs))
    return func


def snapshot() -> None:
    """What Lambda does once per published version, after the init: the before-snapshot hooks,
    in reverse order of registration."""
    for func, args, kwargs in reversed(before):
        func(*args, **kwargs)


def restore() -> None:
    """What Lambda does in each new container, before its first invocation: the after-restore
    hooks, in order of registration."""
    for func, args, kwargs in after:
        func(*args, **kwargs)


def clear() -> None:
    before.clear()
    after.clear()
