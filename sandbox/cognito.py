"""Real Cognito ID-token checks for Chalice's local gateway (the sandbox and the test client),
made by the app's own verifier (chalicelib/web/tokens.py), the one its WebSocket connect uses."""

from __future__ import annotations

import json

from chalice import Chalice, CognitoUserPoolAuthorizer
from chalice.local import (
    EventType,
    LambdaContext,
    LocalAuthPair,
    LocalGateway,
    LocalGatewayAuthorizer,
    NotAuthorizedError,
)

from chalicelib.web.tokens import InvalidToken, TokenVerifier
from sandbox.gateway import gateway_headers

# Re-exported: the sandbox and the tests check tokens with the app's own verifier.
__all__ = ["InvalidToken", "StrictCognitoAuthorizer", "TokenVerifier", "install", "unauthorized"]


def unauthorized(message: str, request_id: str) -> NotAuthorizedError:
    body = json.dumps({"Code": "UnauthorizedError", "Message": message}).encode()
    headers = {
        **gateway_headers("UNAUTHORIZED"),
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": "UnauthorizedException",
    }
    return NotAuthorizedError(headers, body)


class StrictCognitoAuthorizer(LocalGatewayAuthorizer):
    """Chalice's local authorizer, but Cognito routes verify the token for real (else 401)."""

    def __init__(self, app: Chalice, verifier: TokenVerifier) -> None:
        super().__init__(app)
        self._verifier = verifier

    def authorize(
        self, raw_path: str, lambda_event: EventType, lambda_context: LambdaContext
    ) -> LocalAuthPair:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        header = (lambda_event.get("headers") or {}).get("authorization")
        try:
            claims = self._verifier.verify(header)
        except InvalidToken as e:
            raise unauthorized(str(e), lambda_context.aws_request_id) from e
        lambda_event["requestContext"]["authorizer"] = {
            "claims": claims,
            "principalId": claims["sub"],
        }
        return lambda_event, lambda_context


def install(gateway: LocalGateway, app: Chalice, verifier: TokenVerifier) -> None:
    """Make a LocalGateway (the test client's or a local server's) check tokens for real."""
    gateway._authorizer = StrictCognitoAuthorizer(app, verifier)  # noqa: SLF001 - no public hook
