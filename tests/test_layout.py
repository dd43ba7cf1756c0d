"""The layout of chalicelib/ stays readable: no import cycle, no crowded folder, no long module,
no grade-C function, no accessor shadowed by a submodule (the layering itself is import-linter's
contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from radon.complexity import cc_rank, cc_visit
from radon.visitors import Function

from tests.conftest import ROOT

PACKAGE = ROOT / "chalicelib"
MAX_ENTRIES = 12
MAX_LINES = 300


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """One shortest cycle through each direct import that is part of one."""
    modules = {m for m in graph.modules if m == package or m.startswith(f"{package}.")}
    found: dict[frozenset[str], list[str]] = {}
    for importer in sorted(modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & modules):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycle = [importer, *back]
                found.setdefault(frozenset(cycle), cycle)
    return list(found.values())


def crowded(root: Path) -> dict[str, int]:
    """Folders holding more than MAX_ENTRIES modules or packages (`__init__.py` not counted)."""
    counts = {}
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        if folder.name == "__pycache__":
            continue
        entries = [
            p
            for p in folder.iterdir()
            if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
        ]
        counts[str(folder.relative_to(root.parent))] = len(entries)
    return {name: n for name, n in counts.items() if n > MAX_ENTRIES}


def accessors(package: Path) -> set[str]:
    """The functions a package's `__init__` declares under `@service` (its accessors)."""
    tree = ast.parse((package / "__init__.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "service" for d in node.decorator_list)
    }


def long_modules(root: Path) -> dict[str, int]:
    lengths = {
        str(p.relative_to(root.parent)): len(p.read_text().splitlines()) for p in root.rglob("*.py")
    }
    return {name: n for name, n in lengths.items() if n > MAX_LINES}


def graded_c_or_worse(root: Path) -> list[str]:
    """Every function, method and closure whose cyclomatic complexity grades C or worse."""
    found = []
    for path in sorted(root.rglob("*.py")):
        blocks = list(cc_visit(path.read_text()))
        while blocks:
            block = blocks.pop()
            blocks += getattr(block, "methods", [])
            if isinstance(block, Function):
                blocks += block.closures
                if cc_rank(block.complexity) not in ("A", "B"):
                    where = f"{path.relative_to(root.parent)}:{block.lineno} {block.fullname}"
                    found.append(f"{where} ({cc_rank(block.complexity)}, {block.complexity})")
    return found


def test_layout_chalicelib_has_no_import_cycle() -> None:
    graph = grimp.build_graph("chalicelib", cache_dir=None)
    assert [" -> ".join(c) for c in cycles(graph, "chalicelib")] == []


def test_layout_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_layout_no_folder_in_chalicelib_holds_more_than_a_dozen() -> None:
    assert crowded(PACKAGE) == {}


def test_layout_no_module_in_chalicelib_is_over_300_lines() -> None:
    assert long_modules(PACKAGE) == {}


def test_layout_no_module_in_sandbox_is_over_300_lines() -> None:
    assert long_modules(ROOT / "sandbox") == {}


def test_layout_no_function_in_chalicelib_grades_c_or_worse() -> None:
    assert graded_c_or_worse(PACKAGE) == []


def test_layout_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert [sorted(c) for c in cycles(graph, "pkg")] == [["pkg.a", "pkg.a", "pkg.b", "pkg.c"]]
    package = tmp_path / "pkg"
    package.mkdir()
    for n in range(MAX_ENTRIES + 1):
        (package / f"m{n}.py").write_text("x = 1\n" * (MAX_LINES + n))
    (package / "__init__.py").write_text("")
    branches = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(11))
    (package / "m0.py").write_text(f"def f(x):\n{branches}    return -1\n")
    assert set(crowded(package)) == {"pkg"}
    assert len(long_modules(package)) == MAX_ENTRIES
    assert graded_c_or_worse(package) == ["pkg/m0.py:1 f (C, 12)"]


@pytest.mark.parametrize("domain", ["todos", "photos", "blog", "realtime"])
def test_layout_no_accessor_is_shadowed_by_a_submodule(domain: str) -> None:
    # The accessors live in each domain's __init__ (one module fewer at import app). Importing a
    # submodule sets an attribute of that name on its package: an accessor of the same name
    # would become the module (`realtime.pokes()` calling a module) once anything imported it.
    names = accessors(PACKAGE / domain)
    package = importlib.import_module(f"chalicelib.{domain}")
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert names, f"chalicelib.{domain} declares no accessor"
    assert not names & submodules
    for module in pkgutil.walk_packages(package.__path__, f"chalicelib.{domain}."):
        importlib.import_module(module.name)
    for name in names:
        assert hasattr(getattr(package, name), "cache_clear"), f"chalicelib.{domain}.{name}"
