"""The `make run` log: the app's own log lines, readable, each marked with the handler it came from.

The pump and the API server name the handler they are running (`handling`); a filter puts that
name on every record logged meanwhile in that thread. Records the app writes as JSON (Lambda's
format) and a record's `extra` fields are shown as its message and `key=value` pairs.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from chalicelib.core.telemetry import Redactor

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("handler", default=None)
# Loggers whose INFO lines a developer wants: the app's and the sandbox's. Libraries say WARNING.
APP_LOGGERS = ("app", "chalicelib", "sandbox")
# Fields of a JSON record that the line shows anyway, or that only repeat what Lambda knows.
_KNOWN = {
    "message",
    "msg",
    "level",
    "levelname",
    "timestamp",
    "time",
    "logger",
    "name",
    "location",
    "function_name",
    "function_arn",
    "function_memory_size",
    "function_request_id",
    "xray_trace_id",
    "service",
    "sampling_rate",
    # The kind of event a log line is: its message says it better.
    "event",
    # Request ids of the local server are random and name nothing a developer can look up.
    "api_request_id",
    "request_id",
}


@contextlib.contextmanager
def handling(name: str) -> Iterator[None]:
    """Marks every log record of this thread, meanwhile, as coming from handler `name`."""
    token = _current.set(name)
    try:
        yield
    finally:
        _current.reset(token)


class _HandlerName(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.handler = (
            _current.get()
            or getattr(record, "handler", None)
            # The warmer calls the API function on threads of its own; its events say so.
            or ("api_handler" if getattr(record, "event", None) == "warm-up" else None)
            or record.name.split(".", 1)[0]
        )
        return True


def readable(message: str) -> str:
    """A JSON log line as `message key=value ...`; anything else unchanged."""
    text = message.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return message
    try:
        data: Any = json.loads(text)
    except ValueError:
        return message
    if not isinstance(data, dict):
        return message
    head = str(data.get("message", data.get("msg", "")))
    rest = " ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}"
        for k, v in data.items()
        if k not in _KNOWN and v not in (None, "", [], {})
    )
    return f"{head} {rest}".strip()


# What every LogRecord has; anything else on a record came as `extra` fields.
_RECORD_FIELDS = {
    *vars(logging.LogRecord("", 0, "", 0, "", None, None)),
    "message",
    "asctime",
    "handler",
    "taskName",
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def extra_fields(record: logging.LogRecord, message: str) -> str:
    """A record's `extra` fields (what Lambda's JSON format writes as keys) as key=value, but
    not those whose value the message already says, nor empty ones."""
    return " ".join(
        f"{k}={_text(v)}"
        for k, v in vars(record).items()
        if k not in _RECORD_FIELDS
        and k not in _KNOWN
        and not k.startswith("_")
        and v not in (None, "", [], {})
        and _text(v) not in message
    )


class ReadableFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(handler)-18s %(levelname)-7s %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        message = readable(record.message)
        record.message = " ".join(filter(None, [message, extra_fields(record, message)]))
        return super().formatMessage(record)


def configure(stream: TextIO = sys.stderr) -> logging.Handler:
    """Send the app's INFO lines (and everyone's warnings) to `stream`, marked with the handler."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_HandlerName())
    # The app's own redactor, from the first line on (the app adds it when it first runs):
    # the server's request lines carry tokens in their queries.
    handler.addFilter(Redactor())
    handler.setFormatter(ReadableFormatter())
    root = logging.getLogger()
    # The one handler: one the app installs for Lambda would print each line a second time.
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    return handler
