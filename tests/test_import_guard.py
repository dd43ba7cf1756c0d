"""Importing app (what every Lambda does at cold start) loads no heavy or test-only library."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

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
