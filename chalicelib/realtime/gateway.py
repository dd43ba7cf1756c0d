"""The WebSocket API's management endpoint (API Gateway's @connections API): where it is, and how
a frame reaches a connection. Chalice configures it only inside WebSocket handlers; everything
here that sends (the ping's answer, the todos stream's pokes) goes through this module."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.core.config import settings
from chalicelib.store import aws


class ConnectionGone(Exception):
    """API Gateway no longer knows the connection (closed, or never finished connecting)."""


def endpoint(api_id: str, stage: str) -> str:
    """Where a connection's frames are posted: WEBSOCKET_MANAGEMENT_URL when the stage sets it
    (the sandbox, a custom domain), else the API's execute-api address, which Chalice builds the
    same way inside WebSocket handlers (WebsocketAPI.configure_from_api_id)."""
    config = settings()
    if config.websocket_management_url:
        return config.websocket_management_url
    suffix = "amazonaws.com.cn" if config.region.startswith("cn-") else "amazonaws.com"
    return f"https://{api_id}.execute-api.{config.region}.{suffix}/{stage}"


def send(endpoint_url: str, connection_id: str, message: Mapping[str, Any]) -> None:
    """One text frame to one connection (PostToConnection); ConnectionGone if it has gone."""
    client = aws.client("apigatewaymanagementapi", endpoint_url=endpoint_url)
    try:
        client.post_to_connection(
            ConnectionId=connection_id, Data=json.dumps(message, separators=(",", ":")).encode()
        )
    except client.exceptions.GoneException as e:
        raise ConnectionGone(connection_id) from e
