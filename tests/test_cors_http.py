"""CORS on every route: one configuration, its origin a stage setting (CORS_ALLOW_ORIGIN)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from chalice.test import Client

from app import app
from chalicelib.web.http import API_CORS
from deploy.template import (
    FUNCTIONS,
    deep_merge,
    load_yaml,
    resources_template,
    with_allowed_origin,
)
from sandbox.gateway import gateway_headers
from tests.conftest import ROOT, headers_for

# A stage whose web client lives on one origin (every stage in .chalice/config.json says "*",
# which a hard-coded "*" would match as well).
STAGE_ORIGIN = "https://todo.example.org"
# The app imported afresh under that stage: an answer, an error (a 400 before any AWS call) and
# a preflight.
_ANSWERS_UNDER_THE_STAGE = """
import json
from chalice.test import Client
from app import app

with Client(app) as client:
    gateway = client.http._local_gateway
    answers = {
        "health": client.http.get("/health").headers,
        "error": client.http.post(
            "/subscriptions", headers={"Content-Type": "application/json"}, body="{"
        ).headers,
        "preflight": gateway.handle_request(
            "OPTIONS", "/todos", {"Origin": "https://todo.example.org"}, b""
        )["headers"],
    }
print(json.dumps({name: dict(headers) for name, headers in answers.items()}))
"""

ROUTES = sorted((path, method) for path, entries in app.routes.items() for method in entries)


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
def test_every_route_allows_the_stages_origin(path: str, method: str) -> None:
    assert app.routes[path][method].cors is API_CORS


def test_the_allowed_origin_is_the_stages_setting() -> None:
    assert API_CORS.allow_origin == os.environ["CORS_ALLOW_ORIGIN"]


def test_every_answer_allows_the_origin_its_stage_names() -> None:
    # CORS is read when app.py is imported (Chalice takes it as a decorator argument), so the
    # stage is set before a fresh interpreter imports the app.
    env = {**os.environ, "CORS_ALLOW_ORIGIN": STAGE_ORIGIN, "METRICS_OUTPUT": "log"}
    done = subprocess.run(
        [sys.executable, "-c", _ANSWERS_UNDER_THE_STAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = json.loads(done.stdout)
    origins = {name: found.get("Access-Control-Allow-Origin") for name, found in answers.items()}
    assert origins == {"health": STAGE_ORIGIN, "error": STAGE_ORIGIN, "preflight": STAGE_ORIGIN}


def test_the_sandboxs_gateway_errors_allow_the_stages_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", STAGE_ORIGIN)
    assert gateway_headers("UNAUTHORIZED")["Access-Control-Allow-Origin"] == STAGE_ORIGIN
    assert gateway_headers("DEFAULT_4XX")["Access-Control-Allow-Origin"] == STAGE_ORIGIN


def test_a_todo_response_carries_cors_headers_for_web_clients(client: Client) -> None:
    response = client.http.post(
        "/todos", headers=headers_for("alice"), body='{"title": "From a browser"}'
    )
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == API_CORS.allow_origin
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    # What openapi.yaml's conventions promise a script on another origin, each of them.
    assert {"ETag", "Location", "Retry-After", "Idempotent-Replayed"} <= exposed
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {
        *("Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"),
        *("X-Client-Version", "X-Amz-Date", "X-Amz-Security-Token", "X-Api-Key"),
    } <= allowed


def test_gateway_errors_allow_the_stages_origin() -> None:
    template = deep_merge(resources_template(), load_yaml(FUNCTIONS))
    origin = "https://blog.example.com"
    body = with_allowed_origin(template, origin)["Resources"]["RestAPI"]["Properties"][
        "DefinitionBody"
    ]
    values = [
        response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        for response in body["x-amazon-apigateway-gateway-responses"].values()
        if "responseParameters" in response
    ]
    assert values
    assert set(values) == {f"'{origin}'"}
