"""One log event and its embedded-metric-format line per request or batch; nothing personal."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core import telemetry
from tests.conftest import headers_for, make_token

ALICE = headers_for("alice")


def _metric_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def _events(caplog: pytest.LogCaptureFixture, kind: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == kind]


def test_request_logs_one_event_with_route_status_duration_and_ids(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "chalicelib")
    assert client.http.get("/todos/nope", headers=ALICE).status_code == 404
    (record,) = _events(caplog, "request")
    fields = record.__dict__
    assert fields["route"] == "GET /todos/{todo_id}"
    assert fields["status"] == 404
    assert fields["duration_ms"] >= 0
    assert isinstance(fields["cold_start"], bool)
    # API Gateway's id, to find the access-log line (the test client sends none).
    assert "api_request_id" in fields
    assert record.levelno == logging.INFO


def test_request_writes_its_metrics_in_embedded_metric_format(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.http.get("/todos", headers=ALICE)
    (line,) = _metric_lines(capsys.readouterr().out)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MyTodoList"
    assert directive["Dimensions"] == [["Stage", "Route", "StatusClass"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Requests": "Count",
        "Latency": "Milliseconds",
    }
    assert (line["Stage"], line["Route"], line["StatusClass"]) == ("test", "GET /todos", "2xx")
    assert line["Requests"] == 1


def test_a_stale_write_counts_as_a_conflict(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    todo = client.http.post("/todos", headers=ALICE, body=json.dumps({"title": "t"})).json_body
    capsys.readouterr()
    stale = {**ALICE, "If-Match": '"99"'}
    response = client.http.patch(f"/todos/{todo['id']}", headers=stale, body='{"done": true}')
    assert response.status_code == 412
    conflicts = [m for m in _metric_lines(capsys.readouterr().out) if "Conflicts" in m]
    assert [(m["Status"], m["Conflicts"]) for m in conflicts] == [("412", 1)]


def test_batch_logs_its_size_and_failures(
    client: Client, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, "chalicelib")
    event = client.events.generate_sqs_event(
        message_bodies=["poison", "poison too"], queue_name="mytodolist-test-thumbnails"
    )
    capsys.readouterr()
    client.lambda_.invoke("make_thumbnails", event)
    (record,) = _events(caplog, "batch")
    assert (record.__dict__["records"], record.__dict__["failed"]) == (2, 2)
    assert record.levelno == logging.WARNING
    (line,) = [m for m in _metric_lines(capsys.readouterr().out) if "BatchSize" in m]
    assert (line["BatchSize"], line["FailedRecords"]) == (2, 2)


def test_redactor_removes_addresses_and_tokens_from_messages() -> None:
    token = make_token("alice")
    record = logging.LogRecord(
        "chalicelib.x", logging.INFO, __file__, 1, "to %s with %s", ("bob@example.com", token), None
    )
    telemetry.Redactor().filter(record)
    assert record.getMessage() == "to <email> with <token>"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('"POST /subscriptions/unsubscribe?token=hV2mXq8Zc3uJ0pLr HTTP/1.1" 200 -', "HTTP/1.1"),
        ("GET /todos/sync?limit=5&token=c3luYy10b2tlbg.sig HTTP/1.1", "limit=5&"),
        ("GET /x?sync_token=abc&cursor=def", "cursor=def"),
        ("PUT /u?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=f00d&ok=1", "ok=1"),
    ],
)
def test_redactor_removes_secrets_from_query_strings(line: str, kept: str) -> None:
    record = logging.LogRecord("sandbox.api", logging.INFO, __file__, 1, "%s", (line,), None)
    telemetry.Redactor().filter(record)
    message = record.getMessage()
    assert "<redacted>" in message
    assert kept in message
    for secret in ("hV2mXq8Zc3uJ0pLr", "c3luYy10b2tlbg", "=abc", "AKIA", "f00d"):
        assert secret not in message


def test_redactor_removes_addresses_from_exceptions() -> None:
    try:
        raise ValueError("Email address is not verified: reader@example.com")
    except ValueError as e:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, (ValueError, e, e.__traceback__)
        )
    telemetry.Redactor().filter(record)
    assert record.exc_info is not None
    assert "reader@example.com" not in str(record.exc_info[1])
    assert logging.Formatter().format(record).count("<email>") == 1


def test_metrics_go_to_the_log_when_the_setting_says_so(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chalicelib.core import config  # noqa: PLC0415

    monkeypatch.setenv("METRICS_OUTPUT", "log")
    config.reset()
    caplog.set_level(logging.DEBUG, "chalicelib")
    try:
        telemetry.count("Mails", Outcome="sent", Kind="welcome")
    finally:
        config.reset()
    assert capsys.readouterr().out == ""
    assert "metrics Stage=test Outcome=sent Kind=welcome Mails=1" in caplog.text
