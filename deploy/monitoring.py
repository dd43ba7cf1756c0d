"""What the packaged stack adds to see the app run: each function's JSON logging config, the
alarms (to one SNS topic), and one CloudWatch dashboard. Computed from the resources and the
functions Chalice generated, so a new queue, table or handler is covered without an edit here.

Every alarm, its threshold and why:

- `<queue>-dlq` depth > 0 (max over 5 min): a message or stream batch was given up on; each is
  a lost thumbnail or mail until someone looks (the DLQs keep messages 14 days).
- `<handler>-iterator-age` > 5 min (max over 5 min): stream records wait; welcome and new-post
  mails are late, and records older than 6 h would go to the DLQ instead of being handled.
- `<handler>-errors` >= 1 (sum over 5 min): a function crashed or timed out (the API turns its
  own exceptions into 500s, so for it this means a timeout or an out-of-memory).
- `<handler>-throttles` >= 1 (sum over 5 min): Lambda refused invocations (concurrency limit).
- `api-5xx-rate` > 1 % (average of 5XXError over 5 min, 2 periods in a row): the API fails
  requests; one period alone may be a single unlucky request at night.
- `api-latency-p99` > 2.5 s (p99 over 5 min, 3 periods in a row): a quarter of the API
  function's 10 s timeout; its calls are budgeted to 1.5 s per attempt.
- `<table>-throttles` >= 1 (read + write throttle events over 5 min): DynamoDB refused requests
  (provisioned capacity too low, or a hot key); after the retries clients get 429s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from chalicelib.core.telemetry import NAMESPACE

Template = dict[str, Any]

TOPIC: Final = "AlarmTopic"
API_NAME: Final = "mytodolist-${Stage}"
API_STAGE: Final = "api"
PERIOD: Final = 300


def _alarm(name: str, description: str, metric: Template, threshold: float, **extra: Any) -> Any:
    properties: Template = {
        "AlarmName": {"Fn::Sub": f"mytodolist-${{Stage}}-{name}"},
        "AlarmDescription": description,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": threshold,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        # No data means nothing happened (no messages, no traffic): that is not an alarm.
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": TOPIC}],
        "OKActions": [{"Ref": TOPIC}],
        **metric,
        **extra,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _metric(namespace: str, name: str, dimensions: Mapping[str, Any], stat: str) -> Template:
    key = "ExtendedStatistic" if stat.startswith("p") else "Statistic"
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        key: stat,
        "Period": PERIOD,
    }


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _queue_name(resource: Template) -> str:
    return str(resource["Properties"]["QueueName"]["Fn::Sub"])


def dead_letter_queues(resources: Template) -> dict[str, str]:
    """logical id → QueueName (a Fn::Sub text) of every dead-letter queue."""
    return {
        logical_id: _queue_name(resource)
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::SQS::Queue" and _queue_name(resource).endswith("-dlq")
    }


def tables(resources: Template) -> dict[str, str]:
    return {
        logical_id: str(resource["Properties"]["TableName"]["Fn::Sub"])
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }


def alarms(resources: Template, functions: Mapping[str, str], streams: set[str]) -> Template:
    """Every alarm, by logical id; `functions` maps handler names to function names (Fn::Sub
    texts), `streams` names the handlers fed by DynamoDB streams."""
    out: Template = {}
    for logical_id, queue in dead_letter_queues(resources).items():
        metric = _metric(
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": _sub(queue)}, "Maximum"
        )
        short = queue.removeprefix("mytodolist-${Stage}-")
        out[f"{logical_id}DepthAlarm"] = _alarm(short, f"{short}: messages given up on", metric, 0)
    for handler, name in functions.items():
        pascal = "".join(part.title() for part in handler.split("_"))
        dims = {"FunctionName": _sub(name)}
        for metric_name in ("Errors", "Throttles"):
            metric = _metric("AWS/Lambda", metric_name, dims, "Sum")
            description = f"{handler}: {metric_name.lower()} in the last 5 minutes"
            out[f"{pascal}{metric_name}Alarm"] = _alarm(
                f"{handler}-{metric_name.lower()}", description, metric, 0
            )
        if handler in streams:
            metric = _metric("AWS/Lambda", "IteratorAge", dims, "Maximum")
            out[f"{pascal}IteratorAgeAlarm"] = _alarm(
                f"{handler}-iterator-age",
                f"{handler}: stream records wait > 5 min",
                metric,
                300_000,
            )
    api = {"ApiName": _sub(API_NAME), "Stage": API_STAGE}
    out["Api5xxRateAlarm"] = _alarm(
        "api-5xx-rate",
        "API: more than 1% of requests failed with 5xx, 10 minutes running",
        _metric("AWS/ApiGateway", "5XXError", api, "Average"),
        0.01,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
    )
    out["ApiLatencyP99Alarm"] = _alarm(
        "api-latency-p99",
        "API: p99 latency above 2.5 s, 15 minutes running",
        _metric("AWS/ApiGateway", "Latency", api, "p99"),
        2500,
        EvaluationPeriods=3,
        DatapointsToAlarm=3,
    )
    for logical_id, table in tables(resources).items():
        out[f"{logical_id}ThrottlesAlarm"] = _table_throttles(logical_id, table)
    return out


def _table_throttles(logical_id: str, table: str) -> Any:
    def stat(id_: str, name: str) -> Template:
        metric = _metric("AWS/DynamoDB", name, {"TableName": _sub(table)}, "Sum")
        stat_fields = {"Stat": metric.pop("Statistic"), "Period": metric.pop("Period")}
        return {"Id": id_, "MetricStat": {"Metric": metric, **stat_fields}, "ReturnData": False}

    metrics = [
        stat("reads", "ReadThrottleEvents"),
        stat("writes", "WriteThrottleEvents"),
        {"Id": "throttles", "Expression": "reads + writes", "ReturnData": True},
    ]
    short = table.removeprefix("mytodolist-${Stage}-")
    return _alarm(
        f"{short}-throttles", f"DynamoDB {short}: throttled requests", {"Metrics": metrics}, 0
    )


def logging_config(level: str) -> Template:
    """Lambda's own JSON log lines (request id included), at the stage's level."""
    return {
        "LogFormat": "JSON",
        "ApplicationLogLevel": level,
        # The platform's START/END/REPORT lines are INFO: WARN keeps only its own problems.
        "SystemLogLevel": "WARN",
    }


def dashboard(resources: Template, functions: Mapping[str, str], streams: set[str]) -> Template:
    """One dashboard: the API, the functions, the queues, the tables and the app's metrics."""
    region = "${AWS::Region}"

    def widget(title: str, metrics: list[list[Any]], stat: str = "Sum") -> Template:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": PERIOD,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    searches = iter(range(1, 100))

    def search(dimensions: str, metric: str) -> list[Any]:
        """The app's own metrics (embedded metric format) of this stage, one line each."""
        schema = f"{{{NAMESPACE},Stage,{dimensions}}}"
        query = f'{schema} MetricName="{metric}" Stage="${{Stage}}"'
        return [{"expression": f"SEARCH('{query}', 'Sum', {PERIOD})", "id": f"e{next(searches)}"}]

    api = ["ApiName", API_NAME, "Stage", API_STAGE]
    names = list(functions.values())
    stream_names = [name for handler, name in functions.items() if handler in streams]
    queues = list(dead_letter_queues(resources).values())
    throttles = ("ReadThrottleEvents", "WriteThrottleEvents")
    widgets = [
        widget(
            "API requests and errors",
            [["AWS/ApiGateway", m, *api] for m in ("Count", "4XXError", "5XXError")],
        ),
        widget("API latency p99 (ms)", [["AWS/ApiGateway", "Latency", *api]], "p99"),
        widget("Requests by route and status class", [search("Route,StatusClass", "Requests")]),
        widget("Conflicts (409, 412)", [search("Status", "Conflicts")]),
        widget("Function errors", [["AWS/Lambda", "Errors", "FunctionName", n] for n in names]),
        widget("Throttles", [["AWS/Lambda", "Throttles", "FunctionName", n] for n in names]),
        widget(
            "Stream iterator age (ms)",
            [["AWS/Lambda", "IteratorAge", "FunctionName", n] for n in stream_names],
            "Maximum",
        ),
        widget(
            "Dead-letter queues",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in queues],
            "Maximum",
        ),
        widget(
            "DynamoDB throttles",
            [
                ["AWS/DynamoDB", m, "TableName", t]
                for t in tables(resources).values()
                for m in throttles
            ],
        ),
        widget(
            "Thumbnails and mails",
            [search("Outcome", "Thumbnails"), search("Outcome,Kind", "Mails")],
        ),
        widget(
            "Batch sizes and failed records",
            [search("Handler", "BatchSize"), search("Handler", "FailedRecords")],
        ),
    ]
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "mytodolist-${Stage}"},
            "DashboardBody": {"Fn::Sub": body},
        },
    }
