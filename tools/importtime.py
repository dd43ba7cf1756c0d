"""Who pays for what at `import app`: `python -X importtime` read as a tree, and the heavy modules
each of our own modules pulls in (`python -m tools.importtime` prints them).

Python prints one line per module, the first time it is imported, after its own imports, indented
by nesting depth. A heavy module is blamed on the nearest importer outside the standard library:
when that is one of ours (`app`, `chalicelib`), our code pays for it at every cold start; when it
is a library (`chalice.app` imports `decimal` for its JSON), the library needs it and we cannot
save it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
# Standard-library modules that cost milliseconds each and that the app's import path does not
# need: `dataclasses` brings `inspect` (with `ast`, `dis`, `tokenize`), `email` and `decimal` are
# large, `uuid` brings `platform`. Then the libraries that only some handlers need.
HEAVY_STDLIB: Final = ("dataclasses", "inspect", "decimal", "email", "uuid", "asyncio")
HEAVY_LIBRARIES: Final = (
    "boto3",
    "botocore",
    "pynamodb",
    "PIL",
    "jwt",
    "cryptography",
    "markdown_it",
    "nh3",
    "yaml",
)
HEAVY: Final = HEAVY_STDLIB + HEAVY_LIBRARIES
OURS: Final = ("app", "chalicelib")

_LINE = re.compile(r"^import time:\s*(\d+) \|\s*(\d+) \|( *)(\S+)$")


class Node(NamedTuple):
    name: str
    self_us: int
    cumulative_us: int
    parent: str | None


def parse(text: str) -> dict[str, Node]:
    """Every module of an importtime report with the module whose import brought it in."""
    rows: list[tuple[int, str, int, int]] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            rows.append((len(indent) // 2, name, int(self_us), int(cumulative_us)))
    parents: dict[str, str | None] = {}
    # Children are printed before their parent: each line adopts the deeper lines pending.
    pending: list[tuple[int, str]] = []
    for depth, name, _, _ in rows:
        while pending and pending[-1][0] > depth:
            parents[pending.pop()[1]] = name
        pending.append((depth, name))
    return {
        name: Node(name, self_us, cumulative_us, parents.get(name))
        for _, name, self_us, cumulative_us in rows
    }


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _is_stdlib(name: str) -> bool:
    return _top(name) in sys.stdlib_module_names or _top(name).startswith("_")


def importer(tree: Mapping[str, Node], name: str) -> str | None:
    """The nearest module outside the standard library whose import brought `name` in."""
    parent = tree[name].parent
    while parent is not None and _is_stdlib(parent):
        parent = tree[parent].parent
    return parent


def heavy_imports(
    tree: Mapping[str, Node], ours: Iterable[str] = OURS, heavy: Iterable[str] = HEAVY
) -> dict[str, str]:
    """Heavy module → the module of ours that pulls it in (those a library needs are left out)."""
    mine = tuple(ours)
    blamed: dict[str, str] = {}
    for module in heavy:
        if module not in tree:
            continue
        who = importer(tree, module)
        if who is not None and _top(who) in mine:
            blamed[module] = who
    return blamed


def report(
    statement: str = "import app", cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> str:
    """The importtime report of a fresh interpreter running `statement` in `cwd`."""
    environ = dict(os.environ if env is None else env)
    result = subprocess.run(  # noqa: S603 - this interpreter, our own statement
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.importtime", description=__doc__)
    parser.add_argument("--top", type=int, default=15, help="our modules by cumulative time")
    args = parser.parse_args(argv)
    tree = parse(report())
    for module, who in sorted(heavy_imports(tree).items()):
        print(f"{who} imports {module} ({tree[module].cumulative_us / 1000:.1f} ms)")
    ours = sorted(
        (n for n in tree.values() if _top(n.name) in OURS), key=lambda n: -n.cumulative_us
    )
    for node in ours[: args.top]:
        print(f"{node.cumulative_us / 1000:8.1f} ms  {node.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
