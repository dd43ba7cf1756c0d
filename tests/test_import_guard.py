"""Importing app (what every Lambda does at cold start) loads no heavy or test-only library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tools import importtime

# markdown_it and nh3 render posts: only a write loads them.
FORBIDDEN = (
    "boto3",
    "botocore",
    "pynamodb",
    "PIL",
    "moto",
    "pytest",
    "jwt",
    "yaml",
    "markdown_it",
    "nh3",
)

# Modules of ours that only some requests need, loaded on their first use: each module costs
# every cold start about 0.2 ms however small it is (benchmarks/README.md, Cold start).
ON_FIRST_USE = (
    "chalicelib.core.validation",
    "chalicelib.core.characters",
    "chalicelib.core.patterns",
    "chalicelib.core.preconditions",
    "chalicelib.core.versions",
    "chalicelib.blog.subscribers.forms",
    "chalicelib.local_stage",
)


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


def test_import_app_loads_no_heavy_modules() -> None:
    code = (
        "import json, sys; import app; "
        f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_import_app_leaves_what_some_requests_need_to_their_first_use() -> None:
    code = (
        "import json, sys; import app; "
        f"print(json.dumps(sorted(m for m in {ON_FIRST_USE!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == []


def test_import_app_does_no_io_or_config_reads() -> None:
    # Without any stage variables the import must still succeed: settings are read on first use.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TABLE_NAME")}
    env.pop("CURSOR_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-c", "import app; print(len(app.app.routes))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(result.stdout) >= 3


def test_import_app_pulls_in_no_heavy_module_through_our_code() -> None:
    # Whatever a library itself needs (chalice imports decimal) is not ours to save.
    tree = importtime.parse(importtime.report("import app", ROOT, _environment()))
    blamed = importtime.heavy_imports(tree)
    assert blamed == {}, "; ".join(
        f"{who} imports {module} at `import app`: import it where it is used"
        for module, who in sorted(blamed.items())
    )


def test_importtime_names_the_module_of_ours_that_pulls_a_heavy_one(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import chalice\nfrom chalicelib import rows, ws\n")
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "__init__.py").write_text("")
    # A WebSocket module that verifies tokens at import, and a dataclass at module level.
    (tmp_path / "chalicelib" / "ws.py").write_text("import json\nimport jwt\n")
    (tmp_path / "chalicelib" / "rows.py").write_text("from dataclasses import dataclass\n")
    tree = importtime.parse(importtime.report("import app", tmp_path, _environment()))
    blamed = importtime.heavy_imports(tree)
    assert blamed["jwt"] == "chalicelib.ws"
    assert blamed["dataclasses"] == blamed["inspect"] == "chalicelib.rows"
    assert "decimal" in tree
    assert "decimal" not in blamed  # chalice's own need
