"""What moto's server does for every request that needs doing once: two answers cached.

For each request moto's dispatcher lists its own package directory on disk to see whether the
Host header names a service (`moto.backends.list_of_moto_modules`), and each response handler
lists its class's methods with `inspect.getmembers` (`method_names_from_class`). Neither answer
changes while the server runs: a few percent of a busy sandbox's CPU, computed once instead.
"""

from __future__ import annotations

import functools

_installed = False


def cache_moto_dispatch() -> None:
    """Install the cached answers (once per process, before the server serves)."""
    global _installed  # noqa: PLW0603 - a process-wide patch, applied once
    if _installed:
        return
    from moto import backends  # noqa: PLC0415 - slow import
    from moto.core import responses  # noqa: PLC0415

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    names = functools.cache(responses.method_names_from_class)  # type: ignore[attr-defined]
    responses.method_names_from_class = names  # type: ignore[attr-defined]
    _installed = True
