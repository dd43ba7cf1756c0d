"""The sandbox's fault rules: parsing SPECs, seeded draws, counts, and the lambda faults."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.fault_control import table
from sandbox.faults import (
    Faults,
    FaultSpecError,
    InjectedCrash,
    Rule,
    merge_results,
    parse_spec,
    with_faults,
)

HANDLERS = ("make_thumbnails", "send_welcome_mails")


def test_parse_spec_reads_every_kind() -> None:
    rules = parse_spec(
        "dynamodb:*:throttle:0.1, s3:PutObject:error:0.05,ses:SendRawEmail:latency250ms:1,"
        "lambda:make_thumbnails:crash:0.2,lambda:*:duplicate:0",
        HANDLERS,
    )
    assert rules == (
        Rule("dynamodb", "*", "throttle", 0.1),
        Rule("s3", "PutObject", "error", 0.05),
        Rule("ses", "SendRawEmail", "latency", 1.0, delay_ms=250),
        Rule("lambda", "make_thumbnails", "crash", 0.2),
        Rule("lambda", "*", "duplicate", 0.0),
    )
    assert [r.text for r in rules][2] == "ses:SendRawEmail:latency250ms:1"


def test_parse_spec_blank_is_no_rules() -> None:
    assert parse_spec(" , ") == ()


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("dynamodb:*:throttle", "a rule is SERVICE:OPERATION:KIND:RATE"),
        ("dynamo:*:throttle:0.1", "SERVICE 'dynamo' is none of"),
        ("dynamodb:PutItems:throttle:0.1", "no operation 'PutItems' (did you mean PutItem?)"),
        ("s3:*:crash:0.1", "s3 faults are throttle, error or latency<N>ms, not 'crash'"),
        ("lambda:*:throttle:0.1", "lambda faults are crash or duplicate, not 'throttle'"),
        ("lambda:make_thumbnail:crash:0.1", "no handler 'make_thumbnail' (did you mean"),
        ("sqs:*:throttle:1.5", "RATE '1.5' is not a number from 0 to 1"),
        ("sqs:*:throttle:nan", "RATE 'nan'"),
        ("sqs:*:throttle:often", "RATE 'often'"),
        ("ses:*:latency0ms:0.5", "a latency is 1 to 60000 ms, not 0"),
        ("ses:*:latency5s:0.5", "not 'latency5s'"),
    ],
)
def test_parse_spec_names_the_bad_rule(rule: str, why: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_spec(f"s3:*:throttle:0.1,{rule}", HANDLERS)
    assert f"bad fault rule {rule!r}" in str(caught.value)
    assert why in str(caught.value)
    assert "s3:*:throttle" not in str(caught.value)


def test_parse_spec_names_every_bad_rule() -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_spec("x:1,s3:*:error:2")
    assert "'x:1'" in str(caught.value)
    assert "'s3:*:error:2'" in str(caught.value)


def test_faults_set_with_a_bad_rule_changes_nothing() -> None:
    faults = Faults(seed="1")
    faults.set("s3:*:throttle:1")
    with pytest.raises(FaultSpecError):
        faults.set("s3:*:error:1,ses:*:nope:1")
    assert faults.aws_call("s3", "GetObject").answer == Rule("s3", "*", "throttle", 1.0)
    assert [r["rule"] for r in faults.report()] == ["s3:*:throttle:1"]


def test_faults_draws_repeat_under_one_seed() -> None:
    def draws(seed: str) -> list[bool]:
        faults = Faults(seed=seed)
        faults.set("dynamodb:*:throttle:0.5")
        return [faults.aws_call("dynamodb", "PutItem").answer is not None for _ in range(200)]

    assert draws("7") == draws("7")
    assert draws("7") != draws("8")
    assert 60 < sum(draws("7")) < 140


def test_faults_apply_to_the_named_service_and_operation_only() -> None:
    faults = Faults(seed="1")
    faults.set("dynamodb:PutItem:error:1")
    assert faults.aws_call("dynamodb", "PutItem").answer is not None
    assert faults.aws_call("dynamodb", "GetItem").answer is None
    assert faults.aws_call("s3", "PutItem").answer is None
    assert faults.report() == [{"rule": "dynamodb:PutItem:error:1", "calls": 1, "injected": 1}]


def test_faults_latency_rules_add_up_beside_an_error() -> None:
    faults = Faults(seed="1")
    faults.set("s3:*:latency20ms:1,s3:GetObject:latency5ms:1,s3:*:throttle:1,s3:*:error:1")
    fault = faults.aws_call("s3", "GetObject")
    assert fault.delay_ms == 25
    assert fault.answer == Rule("s3", "*", "throttle", 1.0)
    # The first answering rule wins; the later one is not drawn, so it counts no call.
    assert [r["calls"] for r in faults.report()] == [1, 1, 1, 0]


def test_faults_rate_zero_counts_calls_and_injects_nothing() -> None:
    faults = Faults(seed="1")
    faults.set("sqs:*:throttle:0")
    for _ in range(50):
        assert faults.aws_call("sqs", "SendMessage").answer is None
    assert faults.report() == [{"rule": "sqs:*:throttle:0", "calls": 50, "injected": 0}]


def test_faults_clear_reports_what_the_rules_did() -> None:
    faults = Faults(seed="1")
    faults.set("ses:*:throttle:1")
    faults.aws_call("ses", "SendRawEmail")
    assert faults.clear() == [{"rule": "ses:*:throttle:1", "calls": 1, "injected": 1}]
    assert faults.report() == []
    assert faults.aws_call("ses", "SendRawEmail").answer is None


def test_faults_from_environ_reads_spec_and_seed() -> None:
    faults = Faults.from_environ(
        {"SANDBOX_FAULTS": "lambda:*:crash:1", "SANDBOX_FAULT_SEED": "42"}, HANDLERS
    )
    assert faults.seed == "42"
    assert faults.invocation("make_thumbnails") == {"crash"}


def test_faults_from_environ_refuses_a_bad_spec() -> None:
    with pytest.raises(FaultSpecError, match="lambda:nobody:crash:1"):
        Faults.from_environ({"SANDBOX_FAULTS": "lambda:nobody:crash:1"}, HANDLERS)


def test_table_shows_each_rule_with_its_counts_and_the_seed() -> None:
    report = [{"rule": "dynamodb:*:throttle:0.1", "calls": 130, "injected": 12}]
    lines = table(report, "42").splitlines()
    assert lines[0].split() == ["RULE", "CALLS", "INJECTED"]
    assert lines[1].split() == ["dynamodb:*:throttle:0.1", "130", "12"]
    assert "SANDBOX_FAULT_SEED=42" in lines[2]
    assert "no fault rules" in table([], "42")


class Recorder:
    def __init__(self, results: list[Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self._results = results

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        event["Records"].append("mutated by the handler")
        return self._results.pop(0)


def _event() -> dict[str, Any]:
    return {"Records": [{"messageId": "a"}]}


def test_with_faults_crash_runs_the_handler_then_fails() -> None:
    faults = Faults(seed="1")
    faults.set("lambda:make_thumbnails:crash:1")
    handler = Recorder([None])
    with pytest.raises(InjectedCrash):
        with_faults("make_thumbnails", handler, faults)(_event(), None)
    assert len(handler.events) == 1
    assert faults.report()[0]["injected"] == 1


def test_with_faults_duplicate_delivers_the_same_batch_twice() -> None:
    faults = Faults(seed="1")
    faults.set("lambda:*:duplicate:1")
    handler = Recorder([{"batchItemFailures": [{"itemIdentifier": "a"}]}, None])
    result = with_faults("send_welcome_mails", handler, faults)(_event(), None)
    assert len(handler.events) == 2
    # The second delivery sees the batch as Lambda sent it, not as the first run left it.
    assert handler.events[1] == {"Records": [{"messageId": "a"}, "mutated by the handler"]}
    assert handler.events[0] is not handler.events[1]
    assert result == {"batchItemFailures": [{"itemIdentifier": "a"}]}


def test_with_faults_leaves_other_handlers_alone() -> None:
    faults = Faults(seed="1")
    faults.set("lambda:make_thumbnails:crash:1")
    handler = Recorder(["done"])
    assert with_faults("send_welcome_mails", handler, faults)(_event(), None) == "done"


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        (None, None, None),
        ("ok", "again", "again"),
        (
            {"batchItemFailures": [{"itemIdentifier": "a"}]},
            {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]},
            {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]},
        ),
        (None, {"batchItemFailures": []}, {"batchItemFailures": []}),
        (
            {"batchItemFailures": [{"itemIdentifier": "b"}]},
            None,
            {"batchItemFailures": [{"itemIdentifier": "b"}]},
        ),
    ],
)
def test_merge_results_retries_what_either_delivery_failed(
    first: Any, second: Any, merged: Any
) -> None:
    assert merge_results(first, second) == merged
