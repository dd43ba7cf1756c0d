"""The sandbox's fault control routes (what `python -m sandbox faults` calls), in-process: the
rules and seed they show, a SPEC set or refused, the rules cleared with what they injected."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import pytest
from werkzeug.test import Client

from sandbox.aws_faults import fault_actions
from sandbox.control import SandboxAwsApp
from sandbox.faults import Faults


def _unreached(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    raise AssertionError("a control route reached moto")


def _routes(faults: Faults) -> Client:
    app = SandboxAwsApp(_unreached, {})
    app.actions = fault_actions(faults)
    return Client(app)


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status
    assert response.content_type == "application/json"
    return json.loads(response.data)


def test_fault_routes_show_the_seed_and_each_rule_with_its_counts() -> None:
    faults = Faults.start("s3:*:throttle:1,sqs:*:error:0", seed="42")
    faults.aws_call("s3", "GetObject")
    assert _json(_routes(faults).get("/_sandbox/faults")) == {
        "seed": "42",
        "rules": [
            {"rule": "s3:*:throttle:1", "calls": 1, "injected": 1},
            {"rule": "sqs:*:error:0", "calls": 0, "injected": 0},
        ],
    }


def test_fault_routes_set_replaces_the_rules(caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults.start("s3:*:throttle:1", seed="7")
    faults.aws_call("s3", "GetObject")
    caplog.set_level(logging.WARNING, "sandbox.faults")
    answer = _json(
        _routes(faults).post("/_sandbox/faults", data="ses:*:error:0.5, sqs:*:throttle:1")
    )
    assert answer == {
        "seed": "7",
        "rules": [
            {"rule": "ses:*:error:0.5", "calls": 0, "injected": 0},
            {"rule": "sqs:*:throttle:1", "calls": 0, "injected": 0},
        ],
    }
    assert faults.spec == "ses:*:error:0.5,sqs:*:throttle:1"
    # The sandbox's console says what is in force now.
    assert caplog.messages == ["fault rules set: ses:*:error:0.5,sqs:*:throttle:1"]


def test_fault_routes_set_blank_removes_every_rule(caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults.start("s3:*:throttle:1", seed="7")
    caplog.set_level(logging.WARNING, "sandbox.faults")
    assert _json(_routes(faults).post("/_sandbox/faults", data="")) == {"seed": "7", "rules": []}
    assert not faults.active
    assert caplog.messages == ["fault rules set: none"]


def test_fault_routes_refuse_a_bad_spec_and_change_nothing() -> None:
    faults = Faults.start("s3:*:throttle:1", seed="7")
    answer = _json(_routes(faults).post("/_sandbox/faults", data="s3:*:slow:1"), 400)
    assert answer == {
        "error": "bad fault rule 's3:*:slow:1': s3 faults are throttle, error or latency<N>ms, "
        "not 'slow'"
    }
    assert faults.spec == "s3:*:throttle:1"


def test_fault_routes_read_a_spec_that_is_not_utf8_as_a_bad_rule() -> None:
    faults = Faults.start("", seed="7")
    answer = _json(_routes(faults).post("/_sandbox/faults", data=b"s3:*:error:\xff"), 400)
    assert answer == {
        "error": "bad fault rule 's3:*:error:\ufffd': RATE '\ufffd' is not a number from 0 to 1"
    }


def test_fault_routes_clear_reports_what_the_rules_injected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = Faults.start("ses:*:throttle:1", seed="3")
    faults.aws_call("ses", "SendRawEmail")
    caplog.set_level(logging.WARNING, "sandbox.faults")
    answer = _json(_routes(faults).post("/_sandbox/faults/clear"))
    assert answer == {
        "seed": "3",
        "rules": [{"rule": "ses:*:throttle:1", "calls": 1, "injected": 1}],
    }
    assert not faults.active
    assert caplog.messages == ["fault rules cleared"]


def test_fault_routes_are_these_three() -> None:
    assert set(fault_actions(Faults())) == {
        ("GET", "faults"),
        ("POST", "faults"),
        ("POST", "faults/clear"),
    }
