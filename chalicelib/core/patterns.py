"""Regular expressions compiled on first use: every module `import app` reaches builds its
patterns with `lazy(...)`, so that no cold start compiles one a request may never need (a
character class over all of Unicode costs milliseconds)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator


class Lazy:
    """`re.compile(pattern, flags)` on the first match, search or substitution, then reused."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def match(self, string: str) -> re.Match[str] | None:
        return self.compiled.match(string)

    def search(self, string: str) -> re.Match[str] | None:
        return self.compiled.search(string)

    def fullmatch(self, string: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(string)

    def finditer(self, string: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], string: str) -> str:
        return self.compiled.sub(replacement, string)


def lazy(pattern: str, flags: int = 0) -> Lazy:
    return Lazy(pattern, flags)
