"""CORS on every route: one configuration, its origin a stage setting (CORS_ALLOW_ORIGIN)."""

from __future__ import annotations

import os

import pytest
from chalice.test import Client

from app import app
from chalicelib.api.http import API_CORS
from deploy.template import (
    FUNCTIONS,
    deep_merge,
    load_yaml,
    resources_template,
    with_allowed_origin,
)
from tests.conftest import headers_for

ROUTES = sorted((path, method) for path, entries in app.routes.items() for method in entries)


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
def test_every_route_allows_the_stages_origin(path: str, method: str) -> None:
    assert app.routes[path][method].cors is API_CORS


def test_the_allowed_origin_is_the_stages_setting() -> None:
    assert API_CORS.allow_origin == os.environ["CORS_ALLOW_ORIGIN"]


def test_a_todo_response_carries_cors_headers_for_web_clients(client: Client) -> None:
    response = client.http.post(
        "/todos", headers=headers_for("alice"), body='{"title": "From a browser"}'
    )
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == API_CORS.allow_origin
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Location"} <= exposed
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"Authorization", "Content-Type", "If-Match", "Idempotency-Key"} <= allowed


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
