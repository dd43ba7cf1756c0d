"""The sandbox's WebSocket API: API Gateway's events to handlers, PostToConnection to sockets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sandbox.websocket import WebSocketServer

Event = dict[str, Any]


def _wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


class Recorder:
    """Stand-in handlers: $connect lets in ?token=good only; every event is kept."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def handler(self, route: str) -> Callable[[Event, Any], Any]:
        def handle(event: Event, context: Any) -> Any:
            with self.lock:
                self.events.append(event)
            if (
                route == "$connect"
                and (event["queryStringParameters"] or {}).get("token") != "good"
            ):
                return {"statusCode": 401, "body": json.dumps({"Code": "UnauthorizedError"})}
            if route == "$default" and event["body"] == "boom":
                raise RuntimeError("handler bug")
            return {"statusCode": 200}

        return handle

    def of(self, route: str) -> list[Event]:
        with self.lock:
            return [e for e in self.events if e["requestContext"]["routeKey"] == route]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[WebSocketServer]:
    routes = ("$connect", "$default", "$disconnect")
    ws = WebSocketServer({r: recorder.handler(r) for r in routes}, "127.0.0.1", 0)
    ws.start()
    try:
        yield ws
    finally:
        ws.stop()


def _manage(server: WebSocketServer, method: str, cid: str, data: bytes = b"") -> tuple[str, Any]:
    """A management API call as botocore makes it, straight into the WSGI app."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO=f"/_sandbox/websocket/api/@connections/{cid}",
        CONTENT_LENGTH=str(len(data)),
    )
    environ["wsgi.input"].write(data)
    environ["wsgi.input"].seek(0)
    seen: list[str] = []
    body = b"".join(server.management_app(environ, lambda status, headers: seen.append(status)))
    return seen[0], json.loads(body) if body else None


def test_websocket_connect_event_has_api_gateways_shape(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with connect(f"{server.url}/?token=good&x=1"):
        (event,) = recorder.of("$connect")
    context = event["requestContext"]
    assert context["eventType"] == "CONNECT"
    assert context["stage"] == "api"
    assert context["domainName"] == f"127.0.0.1:{server.port}"
    assert context["apiId"]
    assert len(context["connectionId"]) == 16
    assert event["queryStringParameters"] == {"token": "good", "x": "1"}


def test_websocket_refused_connect_fails_the_handshake_with_the_handlers_status(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.url}/?token=forged")
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body) == {"Code": "UnauthorizedError"}
    assert server.open_connections == 0
    # A refused connection was never open: no $disconnect for it.
    assert recorder.of("$disconnect") == []


def test_websocket_frames_reach_default_with_the_same_connection_id(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with connect(f"{server.url}/?token=good") as socket:
        socket.send('{"action": "ping"}')
        _wait_for(lambda: len(recorder.of("$default")) == 1)
    (opened,) = recorder.of("$connect")
    (message,) = recorder.of("$default")
    assert message["body"] == '{"action": "ping"}'
    assert message["isBase64Encoded"] is False
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["requestContext"]["connectionId"] == opened["requestContext"]["connectionId"]


def test_websocket_handler_failure_keeps_the_socket_open(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with connect(f"{server.url}/?token=good") as socket:
        socket.send("boom")
        socket.send("after")
        _wait_for(lambda: len(recorder.of("$default")) == 2)
        assert server.open_connections == 1


def test_websocket_close_is_a_disconnect_event(server: WebSocketServer, recorder: Recorder) -> None:
    with connect(f"{server.url}/?token=good"):
        pass
    _wait_for(lambda: len(recorder.of("$disconnect")) == 1)
    (event,) = recorder.of("$disconnect")
    assert event["requestContext"]["eventType"] == "DISCONNECT"
    assert event["disconnectStatusCode"] == 1000
    assert server.open_connections == 0


def test_websocket_post_to_connection_reaches_that_socket_only(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with connect(f"{server.url}/?token=good") as one, connect(f"{server.url}/?token=good") as two:
        _wait_for(lambda: server.open_connections == 2)
        first = recorder.of("$connect")[0]["requestContext"]["connectionId"]
        status, _ = _manage(server, "POST", first, b'{"type":"todos.changed"}')
        assert status.startswith("200")
        received = one.recv(timeout=2)
        assert json.loads(received) == {"type": "todos.changed"}
        with pytest.raises(TimeoutError):
            two.recv(timeout=0.3)


def test_websocket_post_to_a_closed_connection_is_gone(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with connect(f"{server.url}/?token=good"):
        pass
    cid = recorder.of("$connect")[0]["requestContext"]["connectionId"]
    _wait_for(lambda: server.open_connections == 0)
    status, body = _manage(server, "POST", cid, b"{}")
    assert status.startswith("410")
    assert "gone" in body["message"]


def test_websocket_delete_connection_closes_the_socket(
    server: WebSocketServer, recorder: Recorder
) -> None:
    with connect(f"{server.url}/?token=good") as socket:
        _wait_for(lambda: server.open_connections == 1)
        cid = recorder.of("$connect")[0]["requestContext"]["connectionId"]
        status, _ = _manage(server, "DELETE", cid)
        assert status.startswith("200")
        _wait_for(lambda: len(recorder.of("$disconnect")) == 1)
        assert socket.close_code is None or socket.close_code == 1000
