"""Unit tests of the sandbox's API server (on a small app, in process) and its pure helpers."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from chalice import Chalice, CognitoUserPoolAuthorizer

from sandbox.api import ApiServer, chalice_config, error_body
from sandbox.aws import MotoServer
from sandbox.cognito import TokenVerifier
from sandbox.endpoints import write_endpoints
from sandbox.gateway import gateway_response
from sandbox.run import banner, python_command
from sandbox.server import Sandbox
from sandbox.settings import SandboxError, SandboxSettings
from tests.conftest import CLIENT_ID, ISSUER, JWKS, make_token

_cognito = CognitoUserPoolAuthorizer("Pool", provider_arns=["arn:aws:cognito-idp:::userpool/x"])


def _tiny_app() -> Chalice:
    app = Chalice(app_name="tiny")

    @app.route("/me", methods=["GET"], authorizer=_cognito)
    def me() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        return {"sub": request.context["authorizer"]["claims"]["sub"]}

    @app.route("/open", methods=["GET"])
    def open_route() -> dict[str, str]:
        return {"status": "ok"}

    return app


class _BrokenVerifier(TokenVerifier):
    def verify(self, header: str | None) -> dict[str, Any]:
        raise RuntimeError("a bug, not a bad token")


def _serve(verifier: TokenVerifier) -> Iterator[str]:
    app = _tiny_app()
    server = ApiServer(app, chalice_config(app, {}), verifier, "127.0.0.1", 0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def api() -> Iterator[str]:
    yield from _serve(TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS))


@pytest.fixture
def broken_api() -> Iterator[str]:
    yield from _serve(_BrokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS))


def _envelope(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"Code", "Message"}
    assert body["Code"] == code
    return str(body["Message"])


def test_api_server_listens_on_loopback_only(api: str) -> None:
    assert api.startswith("http://127.0.0.1:")


def test_api_server_passes_a_valid_token_claims_to_the_route(api: str) -> None:
    response = requests.get(f"{api}/me", headers={"Authorization": make_token("alice")}, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"sub": "alice"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "x"}, {"Authorization": make_token("alice", audience="other")}],
    ids=["missing", "garbage", "wrong-audience"],
)
def test_api_server_answers_a_bad_token_with_401_envelope(
    api: str, headers: dict[str, str]
) -> None:
    response = requests.get(f"{api}/me", headers=headers, timeout=5)
    _envelope(response, 401, "UnauthorizedError")


def test_api_server_serves_routes_without_authorizer_without_token(api: str) -> None:
    response = requests.get(f"{api}/open", timeout=5)
    assert response.json() == {"status": "ok"}


def _as_deployed(response: requests.Response, status: int, code: str) -> str:
    """An answer of API Gateway's own, as infra/functions.yaml's gateway responses make it."""
    status, headers, _ = gateway_response("UNAUTHORIZED" if status == 401 else "DEFAULT_4XX")
    for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Headers"):
        assert response.headers[name] == headers[name]
    return _envelope(response, response.status_code, code)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope?x=1"), ("DELETE", "/open"), ("TRACE", "/open"), ("BREW", "/me")],
)
def test_api_server_answers_no_route_as_the_deployed_gateway(
    api: str, method: str, path: str
) -> None:
    # A non-ASCII header made Chalice's own answer crash and drop the connection; TRACE and
    # made-up verbs got http.server's HTML 501.
    headers = {"Authorization": "Bearer é".encode()}
    response = requests.request(method, f"{api}{path}", headers=headers, timeout=5)
    assert response.status_code == gateway_response("MISSING_AUTHENTICATION_TOKEN")[0] == 404
    _as_deployed(response, 404, "NotFoundError")


@pytest.mark.parametrize("length", ["abc", "-1", "\u0662"])
def test_api_server_answers_a_malformed_content_length_with_400(api: str, length: str) -> None:
    host, port = api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"POST /open HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
        answer = b""
        while not answer.endswith(b"}"):
            chunk = conn.recv(65536)
            assert chunk, answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["Code"] == "BadRequestError"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/open?q=" + "a" * 70_000, {}, 414),
        ("/me", {"Authorization": "x" * 70_000}, 431),
        ("/open", {f"X-Header-{n}": "1" for n in range(120)}, 431),
    ],
    ids=["70-KB-url", "70-KB-header", "120-headers"],
)
def test_api_server_refuses_an_oversized_request_in_the_envelope(
    api: str, path: str, headers: dict[str, str], status: int
) -> None:
    # http.server answered these in HTML; the deployed gateway's DEFAULT_4XX is the envelope.
    response = requests.get(f"{api}{path}", headers=headers, timeout=5)
    assert response.headers["Content-Type"] == "application/json"
    assert "too" in _as_deployed(response, status, "BadRequestError")


def test_api_server_answers_a_malformed_request_line_in_the_envelope(api: str) -> None:
    host, port = api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"GET /open HTTP/9\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["Code"] == "BadRequestError"


def test_api_server_401_carries_the_gateway_cors_headers(api: str) -> None:
    response = requests.get(f"{api}/me", timeout=5)
    _as_deployed(response, 401, "UnauthorizedError")


def test_api_server_answers_a_crash_with_500_envelope(broken_api: str) -> None:
    response = requests.get(f"{broken_api}/me", headers={"Authorization": "x"}, timeout=5)
    _envelope(response, 500, "InternalServerError")


def test_api_server_stop_closes_the_port() -> None:
    app = _tiny_app()
    verifier = TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS)
    server = ApiServer(app, chalice_config(app, {}), verifier, "127.0.0.1", 0)
    server.start()
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/open", timeout=5)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_api_server_on_a_busy_port_names_the_setting(busy_port: int) -> None:
    app = _tiny_app()
    verifier = TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS)
    server = ApiServer(app, chalice_config(app, {}), verifier, "127.0.0.1", busy_port)
    with pytest.raises(SandboxError, match="SANDBOX_API_PORT"):
        server.start()


def test_moto_server_on_a_busy_port_names_the_setting(busy_port: int) -> None:
    with pytest.raises(SandboxError, match="SANDBOX_AWS_PORT"):
        MotoServer("127.0.0.1", busy_port).start()


def test_sandbox_refuses_to_start_beside_a_running_one(tmp_path: Path) -> None:
    settings = SandboxSettings.from_environ({"SANDBOX_DIR": str(tmp_path)})
    # The parent process (pytest's runner or shell) stands in for a live sandbox.
    write_endpoints(settings.endpoints_file, {"pid": os.getppid()})
    with pytest.raises(SandboxError, match="already running"):
        Sandbox(settings).start()
    assert settings.endpoints_file.exists()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, b'{"Code": "UnauthorizedError", "Message": "m"}', ("UnauthorizedError", "m")),
        (
            403,
            b'{"message": "User is not authorized"}',
            ("ForbiddenError", "User is not authorized"),
        ),
        (401, b"not json", ("UnauthorizedError", "not json")),
        (401, None, ("UnauthorizedError", "the request was refused")),
    ],
)
def test_error_body_is_always_the_envelope(
    status: int, body: bytes | None, expected: tuple[str, str]
) -> None:
    data = json.loads(error_body(status, body))
    assert (data["Code"], data["Message"]) == expected


def test_python_command_names_the_repo_venv_by_path(tmp_path: Path) -> None:
    assert python_command(str(tmp_path / ".venv/bin/python"), tmp_path) == ".venv/bin/python"
    assert python_command("/usr/bin/python3", tmp_path) == "python"


def test_banner_shows_urls_and_how_to_get_a_token() -> None:
    endpoints = {
        "api_url": "http://127.0.0.1:8000",
        "site_url": "http://127.0.0.1:8001",
        "ws_url": "ws://127.0.0.1:8002",
        "aws_endpoint_url": "http://127.0.0.1:5000",
        "stage": "sandbox",
        "region": "us-east-1",
        "user_pool_id": "us-east-1_x",
        "user_pool_client_id": "client",
    }
    text = banner(endpoints, Path("/repo/.sandbox/endpoints.json"), ".venv/bin/python")
    assert "http://127.0.0.1:8000" in text
    assert "http://127.0.0.1:5000" in text
    assert "http://127.0.0.1:8001" in text
    assert "ws://127.0.0.1:8002/?token=$TOKEN" in text
    assert ".venv/bin/python -m sandbox user create" in text
    assert ".venv/bin/python -m sandbox mail" in text
    assert "TOKEN=$(.venv/bin/python -m sandbox token" in text
