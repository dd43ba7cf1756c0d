"""schemathesis against the running sandbox: every operation in openapi.yaml, generated from the
spec as it is when the test runs, as a user, as an editor and without auth, with every check.

`make test` runs a short, seeded, time-bounded pass; `make fuzz` sets FUZZ_SECONDS for a long one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e import PASSWORD, Sandbox

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("FUZZ_SECONDS", "30"))
# The short run in `make test` also leaves out positive_data_acceptance (a schema-valid request
# answered 400). The spec cannot state every input rule (a title must hold an ASCII letter or
# digit to make a slug; a trimmed token may not start with a line break; no number in any JSON
# body over 18 digits), so how many such cases a time-bounded run meets depends on the
# machine's speed. Those answers are 400s in the envelope: neither a server error nor an answer
# that breaks the schema, the two things this run must never see. `make fuzz` keeps the check.
SHORT_RUN_SKIPS = "" if "FUZZ_SECONDS" in os.environ else ",positive_data_acceptance"
SEED = os.environ.get("FUZZ_SEED", "20261201")


def _token(sandbox: Sandbox, name: str, *flags: str) -> str:
    email = f"{name}@example.com"
    sandbox.cli("user", "create", email, PASSWORD, *flags)
    return sandbox.cli("token", email, PASSWORD)


# A batch answers 200 with each malformed request's own 400 inside it (DESIGN: each request means
# exactly what it means alone), so a batch whose items break the item schema is not one the API
# must reject: POST /todos/batch runs apart, without negative_data_rejection (a malformed batch
# as a whole is still a 400, which the other checks see). Per-operation check settings in
# fuzz.toml did not reach that check, so the split is made with CLI filters.
BATCH_PATH = "/todos/batch"
PASSES: tuple[tuple[list[str], str, int], ...] = (
    (["--exclude-path", BATCH_PATH], "unsupported_method", SECONDS),
    (["--include-path", BATCH_PATH], "unsupported_method,negative_data_rejection", SECONDS // 3),
)


def fuzz(
    sandbox: Sandbox, report: Path, headers: list[str], run: tuple[list[str], str, int]
) -> tuple[int, str]:
    """One schemathesis run (operations, checks left out, seconds); its status and output."""
    scope, skip, seconds = run
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(ROOT / "tests/fuzz.toml")),
        *("run", str(ROOT / "openapi.yaml"), "--url", sandbox.api, "--checks", "all"),
        # Left out everywhere: unsupported_method expects 405 for a method a path does not
        # declare, but API Gateway (REST) answers any unrouted method with its
        # MISSING_AUTHENTICATION_TOKEN response, which infra/functions.yaml makes a 404
        # NotFoundError; the sandbox answers the same (tests/test_sandbox_server.py).
        *("--exclude-checks", skip + SHORT_RUN_SKIPS, *scope),
        *("--seed", SEED, "--max-time", str(max(seconds, 5)), "--workers", "1", "--no-color"),
        *("--report-dir", str(report), "--request-timeout", "10"),
        *headers,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds * 4 + 120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_fuzz_finds_no_failure(sandbox: Sandbox, tmp_path: Path) -> None:
    # One test, one sandbox: under xdist, one test per caller could start a sandbox per worker.
    failed = []
    for who in ("user", "editor", "anonymous"):
        flags = ["--editor"] if who == "editor" else []
        token = None if who == "anonymous" else _token(sandbox, f"fuzz-{who}", *flags)
        headers = [] if token is None else ["--header", f"Authorization: {token}"]
        for number, run in enumerate(PASSES):
            started = time.monotonic()
            status, output = fuzz(sandbox, tmp_path / f"{who}-{number}", headers, run)
            scope = run[0]
            counts = re.search(r"Test cases:\s*\n\s*(.+)", output)
            took = time.monotonic() - started
            # The case counts and time, for the record (pytest -s, or the failure message).
            print(f"fuzz as {who} {scope}: {counts.group(1) if counts else '?'}; {took:.0f} s")
            if status != 0:
                failed.append(f"as {who} {scope}:\n{output[-15000:]}")
    assert not failed, "\n".join(failed)
