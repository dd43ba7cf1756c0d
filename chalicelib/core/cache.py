"""A small in-process TTL cache for read-mostly data: bounded, thread-safe, injectable clock."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class TTLCache[K: Hashable, V]:
    """Keeps up to `max_entries` values for `ttl` seconds each, evicting the least recently used.

    `clear()` drops everything and also makes loads that started before it unable to store
    their (possibly stale) result, so a read racing a write cannot undo the invalidation.
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: K) -> tuple[bool, V | None]:
        """(True, value) while a fresh value is cached, else (False, None)."""
        entry = self._fresh(key)
        return (False, None) if entry is None else (True, entry[0])

    def _fresh(self, key: K) -> tuple[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                expires, value = entry
                if self._clock() < expires:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return (value,)
                del self._entries[key]
            self.misses += 1
            return None

    def put(self, key: K, value: V, *, generation: int | None = None) -> None:
        """Store a value; with `generation`, only if no clear() happened since it was read."""
        if self._ttl <= 0:
            return
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._entries[key] = (self._clock() + self._ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or `load()`'s result, cached. Exceptions are not cached."""
        entry = self._fresh(key)
        if entry is not None:
            return entry[0]
        with self._lock:
            generation = self._generation
        # Loaded outside the lock: two concurrent misses may both load, which is harmless.
        loaded = load()
        self.put(key, loaded, generation=generation)
        return loaded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1
