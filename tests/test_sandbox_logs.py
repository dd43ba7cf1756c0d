"""The `make run` log: handlers' lines, marked with the handler, JSON lines made readable."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import requests

from sandbox import logs
from sandbox.cognito import TokenVerifier
from tests.conftest import CLIENT_ID, ISSUER, JWKS
from tests.test_sandbox_server import _serve


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    levels = {name: logging.getLogger(name).level for name in logs.APP_LOGGERS}
    stream = io.StringIO()
    logs.configure(stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_app_info_lines_are_marked_with_the_running_handler(output: io.StringIO) -> None:
    with logs.handling("make_thumbnails"):
        logging.getLogger("chalicelib.photos.service").info("photo %s failed", "p-1")
    (line,) = output.getvalue().splitlines()
    assert line.split()[1:] == ["make_thumbnails", "INFO", "photo", "p-1", "failed"]


def test_lines_outside_a_handler_are_marked_with_their_logger(output: io.StringIO) -> None:
    logging.getLogger("sandbox.pump").warning("source broken")
    assert output.getvalue().split()[1:3] == ["sandbox", "WARNING"]


def test_library_info_lines_stay_out(output: io.StringIO) -> None:
    logging.getLogger("botocore.credentials").info("found credentials")
    assert output.getvalue() == ""


def test_json_lines_show_their_message_and_fields(output: io.StringIO) -> None:
    record = {
        "timestamp": "2026-12-01T10:00:00Z",
        "level": "INFO",
        "message": "request done",
        "route": "/todos",
        "status": 201,
        "function_request_id": "abc",
    }
    with logs.handling("api_handler"):
        logging.getLogger("chalicelib.web").info(json.dumps(record))
    assert output.getvalue().split(" ", 1)[1].split() == [
        "api_handler",
        "INFO",
        "request",
        "done",
        "route=/todos",
        "status=201",
    ]


@pytest.mark.parametrize("text", ["plain words", "{not json}", "[1, 2]", '{"a": 1'])
def test_readable_leaves_other_lines_alone(text: str) -> None:
    assert logs.readable(text) == text


def test_extra_fields_follow_the_message(output: io.StringIO) -> None:
    with logs.handling("api_handler"):
        logging.getLogger("chalicelib.core.telemetry").info(
            "request", extra={"route": "/todos", "status": 201, "cold_start": True}
        )
    assert output.getvalue().split()[1:] == [
        "api_handler",
        "INFO",
        "request",
        "route=/todos",
        "status=201",
        "cold_start=true",
    ]


def test_extra_fields_the_message_already_says_are_left_out(output: io.StringIO) -> None:
    with logs.handling("api_handler"):
        logging.getLogger("chalicelib.core.telemetry").info(
            "%s %d %.1f ms",
            "POST /todos",
            201,
            32.5,
            extra={
                "event": "request",
                "route": "POST /todos",
                "status": 201,
                "duration_ms": 32.5,
                "cold_start": False,
                "api_request_id": "",
            },
        )
    assert output.getvalue().split(" ", 1)[1].split() == [
        "api_handler",
        "INFO",
        "POST",
        "/todos",
        "201",
        "32.5",
        "ms",
        "cold_start=false",
    ]


def test_warm_up_events_off_the_handlers_thread_are_the_apis(output: io.StringIO) -> None:
    logging.getLogger("chalicelib.warm").info("warm-up", extra={"event": "warm-up"})
    assert output.getvalue().split()[1:] == ["api_handler", "INFO", "warm-up"]


def test_api_request_lines_show_no_token_of_the_query(output: io.StringIO) -> None:
    # The local server's own line per request printed unsubscribe links' tokens.
    for url in _serve(TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS)):
        secret = "hV2mXq8Zc3uJ0pLr5aT9yKwB1nE6dFg4"
        requests.get(f"{url}/open?token={secret}&lang=en", timeout=5)
        requests.get(f"{url}/open?q={'a' * 70_000}&token={secret}", timeout=5)
    lines = [line for line in output.getvalue().splitlines() if "/open" in line or "414" in line]
    assert any('"GET /open?token=<redacted>&lang=en HTTP/1.1" 200' in line for line in lines)
    assert "sandbox" in lines[0].split()[1]
    assert secret not in output.getvalue()
