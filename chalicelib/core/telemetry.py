"""What the functions tell their operators: one log event per invocation, metrics in CloudWatch's
embedded metric format (a JSON line on stdout: no API call), and nothing personal in either.

Log events are standard `logging` records whose fields travel as `extra`: Lambda's JSON log
format (LoggingConfig, set by the templates) writes them as top-level keys next to its own
`requestId`; the sandbox prints them readably.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.core.config import Settings

log = logging.getLogger(__name__)

NAMESPACE = "MyTodoList"
# What may never reach a log line: e-mail addresses and JWTs (Cognito tokens), wherever they
# come from (our messages, an exception's text, a library's warning).
# Texts, compiled by `re` on first use: not at `import app`.
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_JWT = r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"
# Secrets in a URL's query (a request line): confirm, unsubscribe and sync tokens, presigned
# URLs' signatures and credentials.
_IN_QUERY = r"(?i)([?&](?:[\w.-]*token|x-amz-signature|x-amz-credential|signature)=)[^&\s\"'#]+"
_state = {"cold": True, "configured": False}


def take_cold_start() -> bool:
    """True for the container's first invocation (a warm-up included), False ever after."""
    cold = _state["cold"]
    _state["cold"] = False
    return cold


def redact(text: str) -> str:
    text = re.sub(_IN_QUERY, r"\1<redacted>", text)
    return re.sub(_JWT, "<token>", re.sub(_EMAIL, "<email>", text))


class RedactedError(Exception):
    """Stands in for an exception whose text held something personal."""


class Redactor(logging.Filter):
    """Rewrites a record's message (and its exception's text) without addresses or tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, tb = record.exc_info
            text = str(exc)
            if redact(text) != text:
                name = exc_type.__name__ if exc_type else "Exception"
                record.exc_info = (RedactedError, RedactedError(f"{name}: {redact(text)}"), tb)
                record.exc_text = None
        return True


def configure(level: str) -> None:
    """Once per container: the app's log level, and the redactor on every handler of the root
    logger (Lambda's own, or the sandbox's), so that it sees every record, libraries' too."""
    if _state["configured"]:
        return
    _state["configured"] = True
    logging.getLogger("chalicelib").setLevel(level)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, Redactor) for f in handler.filters):
            handler.addFilter(Redactor())


def metrics(
    dimensions: Mapping[str, str], values: Mapping[str, float], units: Mapping[str, str]
) -> None:
    """One embedded-metric-format line: `values` under one set of `dimensions`."""
    directive = {
        "Namespace": NAMESPACE,
        "Dimensions": [list(dimensions)],
        "Metrics": [{"Name": name, "Unit": units.get(name, "Count")} for name in values],
    }
    document: dict[str, Any] = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]},
        **dimensions,
        **values,
    }
    if _settings().metrics_output == "log":
        log.debug("metrics %s", " ".join(f"{k}={v}" for k, v in {**dimensions, **values}.items()))
        return
    # stdout, where Lambda's log agent extracts embedded-metric-format lines into CloudWatch.
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _settings() -> Settings:
    from chalicelib.core.config import settings  # noqa: PLC0415 - read on first use

    return settings()


def stage() -> str:
    return _settings().stage


def log_level() -> str:
    return _settings().log_level


def count(name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
    """A metric of the app's own (thumbnails, mails), per stage and the given dimensions."""
    metrics({"Stage": stage(), **dimensions}, {name: value}, {name: unit})


def timed(name: str, work: Callable[[], str]) -> str:
    """Run work that ends in an outcome ("ready", "failed", ...); count it and time it."""
    started = time.perf_counter()
    outcome = work()
    elapsed = (time.perf_counter() - started) * 1000
    metrics(
        {"Stage": stage(), "Outcome": outcome},
        {name: 1, f"{name}Duration": elapsed},
        {name: "Count", f"{name}Duration": "Milliseconds"},
    )
    return outcome


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def request_done(route: str, status: int, duration_ms: float, cold: bool, request_id: str) -> None:
    """The API's one event per request: a log line and its metrics."""
    fields = {
        "event": "request",
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "cold_start": cold,
        "api_request_id": request_id,
    }
    level = logging.ERROR if status >= 500 else logging.INFO
    log.log(level, "%s %d %.1f ms", route, status, duration_ms, extra=fields)
    dimensions = {"Stage": stage(), "Route": route, "StatusClass": status_class(status)}
    metrics(
        dimensions,
        {"Requests": 1, "Latency": duration_ms},
        {"Requests": "Count", "Latency": "Milliseconds"},
    )
    if status in (409, 412):
        count("Conflicts", Status=str(status))


def batch_done(handler: str, records: int, failed: int, duration_ms: float, cold: bool) -> None:
    """An event handler's one event per invocation: how many records, how many to retry."""
    fields = {
        "event": "batch",
        "handler": handler,
        "records": records,
        "failed": failed,
        "duration_ms": round(duration_ms, 1),
        "cold_start": cold,
    }
    level = logging.WARNING if failed else logging.INFO
    log.log(level, "%s: %d records, %d failed", handler, records, failed, extra=fields)
    metrics(
        {"Stage": stage(), "Handler": handler},
        {"BatchSize": records, "FailedRecords": failed, "Duration": duration_ms},
        {"BatchSize": "Count", "FailedRecords": "Count", "Duration": "Milliseconds"},
    )


def _is_http(event: Any) -> bool:
    return isinstance(getattr(event, "context", None), dict) and hasattr(event, "method")


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every kind of event: one log event and its metrics each."""
    configure(log_level())
    cold = take_cold_start()
    start = time.perf_counter()
    if _is_http(event):
        # Chalice has turned any exception into a response by now (a 500 for a bug).
        response = get_response(event)
        route = f"{event.method} {event.context.get('resourcePath', '?')}"
        elapsed = (time.perf_counter() - start) * 1000
        request_done(route, response.status_code, elapsed, cold, event.context.get("requestId", ""))
        return response
    records = len(event.to_dict().get("Records", [])) if hasattr(event, "to_dict") else 0
    handler = str(getattr(event.context, "function_name", "") or "?").rsplit("-", 1)[-1]
    failed = records
    try:
        result = get_response(event)
        failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
        failed = len(failures)
        return result
    finally:
        batch_done(handler, records, failed, (time.perf_counter() - start) * 1000, cold)
