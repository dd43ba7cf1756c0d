"""Real Cognito ID-token checks for Chalice's local gateway (the sandbox and the test client)."""

from __future__ import annotations

import json
from typing import Any

import jwt
from chalice import Chalice, CognitoUserPoolAuthorizer
from chalice.local import (
    EventType,
    LambdaContext,
    LocalAuthPair,
    LocalGateway,
    LocalGatewayAuthorizer,
    NotAuthorizedError,
)

from sandbox.gateway import gateway_headers


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for this app."""


class TokenVerifier:
    """Checks an ID token as API Gateway's Cognito authorizer does: RS256, exp, iss, aud, use."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        jwks: dict[str, Any] | None = None,
        jwks_url: str | None = None,
        leeway: float = 0,
    ) -> None:
        if (jwks is None) == (jwks_url is None):
            raise ValueError("pass exactly one of jwks and jwks_url")
        self._issuer = issuer
        self._client_id = client_id
        self._leeway = leeway
        self._keys = jwt.PyJWKSet.from_dict(jwks) if jwks is not None else None
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    @staticmethod
    def token_from_header(header: str | None) -> str:
        if not header or not header.strip():
            raise InvalidToken("missing Authorization header: send a Cognito ID token")
        token = header.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        return token

    def _signing_key(self, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as e:
            raise InvalidToken("Authorization is not a well-formed JWT") from e
        if not isinstance(kid, str):
            raise InvalidToken("token names no signing key (kid)")
        try:
            if self._client is not None:
                return self._client.get_signing_key(kid).key
            assert self._keys is not None
            return self._keys[kid].key
        except (KeyError, jwt.PyJWKClientError) as e:
            raise InvalidToken("token was not signed by this user pool") from e

    def verify(self, header: str | None) -> dict[str, Any]:
        """The token's claims, or InvalidToken saying what is wrong."""
        token = self.token_from_header(header)
        key = self._signing_key(token)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise InvalidToken("Authorization is not a well-formed JWT") from e
        if unverified.get("token_use") == "access":
            # Said before the audience check, which would only complain of a missing "aud".
            raise InvalidToken("an ID token is required, not an access token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise InvalidToken("token has expired: sign in again") from e
        except jwt.InvalidAudienceError as e:
            raise InvalidToken("token was issued for another app client") from e
        except jwt.InvalidIssuerError as e:
            raise InvalidToken("token was issued by another user pool") from e
        except jwt.PyJWTError as e:
            raise InvalidToken(f"token is not valid: {e}") from e
        if claims.get("token_use") != "id":
            raise InvalidToken("an ID token is required, not an access token")
        return claims


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
