"""The Makefile's choice of Python: a 3.12, checked, and a .venv made by another one rebuilt."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import unavailable

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")


@pytest.fixture(autouse=True)
def make() -> None:
    if MAKE is None:
        unavailable(
            "make is not installed",
            safe_because="without make nobody here runs the Makefile these tests check",
        )


def _fake_python(path: Path, version: str) -> Path:
    """An interpreter that says it is `version` and fails the Makefile's 3.12 check."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\n[ "$1" = -V ] && {{ echo "Python {version}"; exit 0; }}\nexit 1\n')
    path.chmod(0o755)
    return path


def _make(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    shutil.copy2(ROOT / "Makefile", project / "Makefile")
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "--no-print-directory", "venv", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python312_that_is_not_a_312_is_refused(tmp_path: Path) -> None:
    python = _fake_python(tmp_path / "bin" / "python3", "3.11.2")
    done = _make(tmp_path, f"PYTHON312={python}")
    assert done.returncode != 0
    assert f"PYTHON312={python} is Python 3.11.2, not Python 3.12" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_venv_made_by_another_python_is_deleted_to_be_rebuilt(tmp_path: Path) -> None:
    _fake_python(tmp_path / ".venv" / "bin" / "python", "3.11.2")
    (tmp_path / ".venv" / "marker").write_text("old")
    # The rebuild itself is refused here (no 3.12 given), after the old venv is gone.
    done = _make(tmp_path, f"PYTHON312={_fake_python(tmp_path / 'py', '3.13.0')}")
    assert ".venv was made by Python 3.11.2, not Python 3.12: rebuilding it" in done.stdout
    assert not (tmp_path / ".venv" / "marker").exists()


def test_no_python312_at_all_says_what_to_install(tmp_path: Path) -> None:
    # A PATH with a shell and coreutils, but no python3.12 and no pyenv.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "grep", "sort", "head", "rm", "find", "touch", "env"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    done = _make(tmp_path, env={"PATH": str(bin_dir), "HOME": str(tmp_path)})
    assert done.returncode != 0
    assert "Python 3.12 is required" in done.stderr
    assert "pyenv install 3.12" in done.stderr
