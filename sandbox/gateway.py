"""API Gateway's own answers, read from the gateway responses that infra/functions.yaml deploys,
so that the local server refuses what the deployed stack refuses, in the same words."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import yaml

from sandbox.settings import ROOT

FUNCTIONS = ROOT / "infra" / "functions.yaml"
_HEADER = "gatewayresponse.header."
_MESSAGE = "$context.error.messageString"
# What API Gateway itself says where a template leaves the message to it.
MESSAGES = {
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "UNAUTHORIZED": "Unauthorized",
    "BAD_REQUEST_BODY": "Invalid request body",
}


@functools.cache
def _responses() -> dict[str, Any]:
    template = yaml.safe_load(FUNCTIONS.read_text(encoding="utf-8"))
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = body["x-amazon-apigateway-gateway-responses"]
    return responses


def gateway_headers(kind: str) -> dict[str, str]:
    """The headers of API Gateway's response `kind` (CORS included), as deployed."""
    response = _responses().get(kind) or _responses()["DEFAULT_4XX"]
    headers = {
        name.removeprefix(_HEADER): str(value).strip("'")
        for name, value in (response.get("responseParameters") or {}).items()
    }
    # `make deploy` writes the stage's allowed origin into every gateway response.
    if "Access-Control-Allow-Origin" in headers and os.environ.get("CORS_ALLOW_ORIGIN"):
        headers["Access-Control-Allow-Origin"] = os.environ["CORS_ALLOW_ORIGIN"]
    return {**headers, "Content-Type": "application/json"}


def gateway_response(
    kind: str, message: str | None = None, *, status: int | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of API Gateway's response `kind`, e.g. MISSING_AUTHENTICATION_TOKEN
    (a 4XX kind without its own entry falls back to DEFAULT_4XX, as API Gateway does). `status`
    is the error's own, which a DEFAULT_* response without a statusCode keeps."""
    response = _responses().get(kind) or _responses()["DEFAULT_4XX"]
    status = int(response.get("statusCode", status or 400))
    said = message or MESSAGES.get(kind, "Bad Request")
    body = response["responseTemplates"]["application/json"].replace(_MESSAGE, json.dumps(said))
    json.loads(body)  # a template that renders no JSON is a bug in infra/, not a client's
    return status, gateway_headers(kind), body.encode()
