"""Faults on purpose in a running sandbox: SANDBOX_FAULTS, `python -m sandbox faults`, the pump."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e import ROOT, Sandbox, User, assert_envelope, call, create_user, running_sandbox

START_RULES = "ses:SendRawEmail:throttle:0"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    rules = {"SANDBOX_FAULTS": START_RULES, "SANDBOX_FAULT_SEED": "5"}
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), env=rules) as running:
        yield running


@pytest.fixture(scope="module")
def alice(sandbox: Sandbox) -> User:
    return create_user(sandbox, "alice")


@pytest.fixture
def rules(sandbox: Sandbox) -> Iterator[Callable[[str], str]]:
    """Set rules for one test; the start rules come back after it."""
    yield lambda spec: sandbox.cli("faults", "set", spec)
    sandbox.cli("faults", "set", START_RULES)


def _faults(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return sandbox.run_cli("faults", *args)


def _counts(sandbox: Sandbox) -> dict[str, tuple[int, int]]:
    """Rule → (calls, injected), from `python -m sandbox faults`."""
    lines = sandbox.cli("faults").splitlines()[1:-1]
    return {rule: (int(calls), int(hit)) for rule, calls, hit in (line.split() for line in lines)}


def test_sandbox_faults_start_from_the_environment(sandbox: Sandbox) -> None:
    assert f"faults      {START_RULES} (seed 5;" in sandbox.output()
    shown = sandbox.cli("faults")
    assert START_RULES in shown
    assert "SANDBOX_FAULT_SEED=5" in shown
    assert sandbox.endpoints["faults"] == {"rules": START_RULES, "seed": "5"}


def test_sandbox_faults_set_refuses_a_bad_spec_and_changes_nothing(sandbox: Sandbox) -> None:
    refused = _faults(
        sandbox, "set", "s3:*:throttle:0.5,dynamodb:PutItems:error:1,lambda:x:crash:1"
    )
    assert refused.returncode == 1
    assert "bad fault rule 'dynamodb:PutItems:error:1'" in refused.stderr
    assert "did you mean PutItem?" in refused.stderr
    assert "bad fault rule 'lambda:x:crash:1': the app has no handler 'x'" in refused.stderr
    assert "make_thumbnails" in refused.stderr
    assert "'s3:*:throttle:0.5'" not in refused.stderr
    assert list(_counts(sandbox)) == [START_RULES]


def test_sandbox_faults_throttle_the_apis_dynamodb_into_a_429(
    sandbox: Sandbox, alice: User, rules: Callable[[str], str]
) -> None:
    rules("dynamodb:PutItem:throttle:1")
    response = call(sandbox, "POST", "/todos", alice.token, {"title": "Throttled"})
    assert_envelope(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "1"
    calls, injected = _counts(sandbox)["dynamodb:PutItem:throttle:1"]
    # botocore saw DynamoDB's own throttling error and retried it (LOCAL_CALL_BUDGET: 3 attempts).
    assert (calls, injected) == (3, 3)


def test_sandbox_faults_clear_shows_what_was_injected(
    sandbox: Sandbox, alice: User, rules: Callable[[str], str]
) -> None:
    rules("dynamodb:PutItem:throttle:1")
    call(sandbox, "POST", "/todos", alice.token, {"title": "Throttled"})
    cleared = sandbox.cli("faults", "clear")
    assert cleared.startswith("fault rules cleared; they had injected:")
    assert "dynamodb:PutItem:throttle:1" in cleared
    assert "no fault rules" in sandbox.cli("faults")
    created = call(sandbox, "POST", "/todos", alice.token, {"title": "Fine again"})
    assert created.status_code == 201, created.text


def test_sandbox_faults_spare_the_sandboxs_own_tools(
    sandbox: Sandbox, rules: Callable[[str], str]
) -> None:
    rules("cognito-idp:*:error:1")
    create_user(sandbox, "tooling")
    assert _counts(sandbox)["cognito-idp:*:error:1"] == (0, 0)


def test_sandbox_faults_crash_a_handler_and_the_pump_delivers_again(
    sandbox: Sandbox, rules: Callable[[str], str]
) -> None:
    rules("lambda:send_welcome_mails:crash:1")
    response = call(sandbox, "POST", "/subscriptions", body={"email": "crash@example.com"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 30
    while _counts(sandbox)["lambda:send_welcome_mails:crash:1"][1] < 2:
        assert time.monotonic() < deadline, sandbox.output()[-3000:]
        time.sleep(0.5)
    assert "send_welcome_mails: fault: send_welcome_mails crashed after it ran" in sandbox.output()


def test_sandbox_refuses_to_start_with_a_bad_fault_spec(tmp_path: Path) -> None:
    env = {**os.environ, "SANDBOX_DIR": str(tmp_path), "SANDBOX_FAULTS": "dynamodb:*:slow:1"}
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "SANDBOX_FAULTS: bad fault rule 'dynamodb:*:slow:1'" in done.stderr
    assert not (tmp_path / "endpoints.json").exists()
