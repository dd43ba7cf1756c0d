"""The sandbox's fault rules: parsing SPECs, seeded draws, counts, and the lambda faults."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sandbox.fault_control import table
from sandbox.faults import (
    Faults,
    FaultSpecError,
    InjectedCrash,
    Rule,
    faulted_handlers,
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


# -- the exact words an operator reads, and the edges of each rule -------------------------------


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("dynamodb:*:throttle", "a rule is SERVICE:OPERATION:KIND:RATE"),
        ("dynamodb:*:throttle:0.1:x", "a rule is SERVICE:OPERATION:KIND:RATE"),
        (
            "dynamo:*:throttle:0.1",
            "SERVICE 'dynamo' is none of dynamodb, s3, sqs, ses, cognito-idp, lambda",
        ),
        (
            "dynamodb:PutItems:throttle:0.1",
            "dynamodb has no operation 'PutItems' (did you mean PutItem?)",
        ),
        ("dynamodb:Zzz:throttle:0.1", "dynamodb has no operation 'Zzz'"),
        ("s3:*:crash:0.1", "s3 faults are throttle, error or latency<N>ms, not 'crash'"),
        ("lambda:*:throttle:0.1", "lambda faults are crash or duplicate, not 'throttle'"),
        ("lambda:*:latency5ms:0.1", "lambda faults are crash or duplicate, not 'latency5ms'"),
        ("lambda:make-thumbnails:crash:0.1", "'make-thumbnails' is not a handler name"),
        (
            "lambda:make_thumbnail:crash:0.1",
            "the app has no handler 'make_thumbnail' (did you mean make_thumbnails?); "
            "it has make_thumbnails, send_welcome_mails",
        ),
        (
            "lambda:zzz:crash:0.1",
            "the app has no handler 'zzz'; it has make_thumbnails, send_welcome_mails",
        ),
        ("ses:*:latency0ms:0.5", "a latency is 1 to 60000 ms, not 0"),
        ("ses:*:latency60001ms:0.5", "a latency is 1 to 60000 ms, not 60001"),
    ],
)
def test_parse_spec_says_exactly_what_is_wrong(rule: str, why: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_spec(rule, HANDLERS)
    assert str(caught.value) == f"bad fault rule {rule!r}: {why}"


def test_parse_spec_joins_every_problem_in_order() -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_spec("x:1, s3:*:error:0.5 ,s3:*:error:2")
    assert str(caught.value) == (
        "bad fault rule 'x:1': a rule is SERVICE:OPERATION:KIND:RATE; "
        "bad fault rule 's3:*:error:2': RATE '2' is not a number from 0 to 1"
    )


def test_parse_spec_latency_bounds_are_included() -> None:
    assert parse_spec("ses:*:latency1ms:1,ses:*:latency60000ms:1") == (
        Rule("ses", "*", "latency", 1.0, delay_ms=1),
        Rule("ses", "*", "latency", 1.0, delay_ms=60_000),
    )


def test_parse_spec_skips_blank_rules_anywhere_and_trims_each_part() -> None:
    assert parse_spec(" s3 : PutObject : error : 1 ,, ,lambda:*:crash:0.5,") == (
        Rule("s3", "PutObject", "error", 1.0),
        Rule("lambda", "*", "crash", 0.5),
    )


def test_parse_spec_without_handlers_takes_any_handler_name() -> None:
    assert parse_spec("lambda:anything:duplicate:1") == (
        Rule("lambda", "anything", "duplicate", 1.0),
    )


def test_faults_start_trims_the_seed_and_draws_one_when_blank() -> None:
    assert Faults.start("", " 42 ").seed == "42"
    assert Faults.start("", "  ").seed.isdigit()
    assert Faults.start("").seed.isdigit()


def test_faults_start_checks_handler_names_with_or_without_a_seed() -> None:
    for seed in ("", "5"):
        with pytest.raises(FaultSpecError, match="the app has no handler 'nobody'"):
            Faults.start("lambda:nobody:crash:1", seed, HANDLERS)
        assert Faults.start("lambda:make_thumbnails:crash:1", seed, HANDLERS).active


def test_faults_from_environ_without_variables_has_no_rules_and_a_random_seed() -> None:
    faults = Faults.from_environ({}, HANDLERS)
    assert not faults.active
    assert faults.seed.isdigit()


def test_faults_expect_handlers_checks_the_rules_in_force_and_later_ones() -> None:
    faults = Faults.start("lambda:make_thumbnails:crash:1,s3:*:error:1", "1")
    faults.expect_handlers(HANDLERS)
    assert faults.spec == "lambda:make_thumbnails:crash:1,s3:*:error:1"
    with pytest.raises(FaultSpecError, match="the app has no handler 'nobody'"):
        faults.set("lambda:nobody:crash:1")
    early = Faults.start("lambda:nobody:crash:1", "1")  # set before the app was loaded
    with pytest.raises(FaultSpecError) as caught:
        early.expect_handlers(HANDLERS)
    assert str(caught.value) == (
        "bad fault rule 'lambda:nobody:crash:1': the app has no handler 'nobody'; "
        "it has make_thumbnails, send_welcome_mails"
    )


def test_faults_count_every_injection() -> None:
    faults = Faults.start("sqs:*:error:1", "1")
    for _ in range(3):
        faults.aws_call("sqs", "SendMessage")
    assert faults.report() == [{"rule": "sqs:*:error:1", "calls": 3, "injected": 3}]


def test_faults_aws_call_with_no_latency_waits_nothing() -> None:
    faults = Faults.start("dynamodb:*:latency40ms:0,s3:*:throttle:1", "1")
    assert faults.aws_call("dynamodb", "GetItem").delay_ms == 0
    assert faults.aws_call("s3", "GetObject").delay_ms == 0
    assert Faults.start("", "1").aws_call("s3", "GetObject").delay_ms == 0


def test_faults_aws_call_reads_every_rule_past_those_that_do_not_apply() -> None:
    faults = Faults.start("ses:*:error:1,s3:*:latency30ms:1,s3:PutObject:error:1", "1")
    fault = faults.aws_call("s3", "PutObject")
    assert (fault.delay_ms, fault.answer) == (30, Rule("s3", "PutObject", "error", 1.0))


def test_faults_aws_call_draws_a_pick_per_answer_from_the_seed() -> None:
    def picks(seed: str) -> list[float]:
        faults = Faults.start("dynamodb:*:throttle:1", seed)
        return [faults.aws_call("dynamodb", "TransactWriteItems").pick for _ in range(20)]

    assert picks("3") == picks("3")
    assert picks("3") != picks("4")
    assert all(0 <= p < 1 for p in picks("3"))
    assert len(set(picks("3"))) == 20


class ContextRecorder:
    def __init__(self) -> None:
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.contexts.append(context)
        return None


def test_with_faults_gives_each_delivery_the_invocations_context(
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = Faults.start("lambda:*:duplicate:1", "1")
    handler = ContextRecorder()
    context = object()
    caplog.set_level(logging.INFO, "sandbox.faults")
    with_faults("send_welcome_mails", handler, faults)(_event(), context)
    assert handler.contexts == [context, context]
    # The sandbox's console says why a batch ran twice.
    assert caplog.messages == ["fault: send_welcome_mails gets the same batch a second time"]


def test_with_faults_crash_says_which_handler_and_what_comes_next() -> None:
    faults = Faults.start("lambda:*:crash:1", "1")
    with pytest.raises(InjectedCrash) as caught:
        with_faults("make_thumbnails", Recorder([None]), faults)(_event(), None)
    assert str(caught.value) == (
        "fault: make_thumbnails crashed after it ran; the batch comes again"
    )


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        ({"statusCode": 200}, None, None),
        ({"statusCode": 200}, {"statusCode": 200}, {"statusCode": 200}),
        (
            {"statusCode": 200},
            {"batchItemFailures": [{"itemIdentifier": "a"}]},
            {"batchItemFailures": [{"itemIdentifier": "a"}]},
        ),
        (
            {"batchItemFailures": [{"itemIdentifier": "a"}]},
            {"statusCode": 200},
            {"batchItemFailures": [{"itemIdentifier": "a"}]},
        ),
    ],
)
def test_merge_results_reads_failures_only_where_a_result_reports_them(
    first: Any, second: Any, merged: Any
) -> None:
    assert merge_results(first, second) == merged


def test_faulted_handlers_wrap_each_handler_under_its_own_name() -> None:
    faults = Faults.start("lambda:make_thumbnails:crash:1", "1", HANDLERS)
    thumbnails, mails = Recorder(["thumbs"]), Recorder(["mails"])
    wrapped = faulted_handlers({"make_thumbnails": thumbnails, "send_welcome_mails": mails}, faults)
    assert list(wrapped) == ["make_thumbnails", "send_welcome_mails"]
    with pytest.raises(InjectedCrash, match="make_thumbnails"):
        wrapped["make_thumbnails"](_event(), None)
    assert wrapped["send_welcome_mails"](_event(), None) == "mails"
    assert (len(thumbnails.events), len(mails.events)) == (1, 1)
    assert faults.report() == [
        {"rule": "lambda:make_thumbnails:crash:1", "calls": 1, "injected": 1}
    ]
