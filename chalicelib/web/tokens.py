"""Cognito ID-token checks as API Gateway's Cognito authorizer makes them (signature against the
pool's JWKS, expiry, issuer, app client, `token_use`), for what the authorizer cannot see: the
WebSocket connect, whose token comes in the query string, and the sandbox's local gateway.

It imports PyJWT and its crypto backend: import this module only where a token is checked, never
from a module that `app.py` imports.
"""

from __future__ import annotations

from typing import Any

import jwt


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for this app."""


class KeysUnavailable(Exception):
    """The pool's signing keys could not be fetched: nothing is wrong with the token."""


def pool_issuer(pool_arn: str) -> str:
    """The `iss` of a pool's tokens, from its ARN (arn:aws:cognito-idp:REGION:ACCT:userpool/ID)."""
    parts = pool_arn.split(":")
    if len(parts) != 6 or parts[2] != "cognito-idp" or not parts[5].startswith("userpool/"):
        raise ValueError(f"not a Cognito user pool ARN: {pool_arn!r}")
    return f"https://cognito-idp.{parts[3]}.amazonaws.com/{parts[5].removeprefix('userpool/')}"


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
        timeout: float = 5,
    ) -> None:
        if (jwks is None) == (jwks_url is None):
            raise ValueError("pass exactly one of jwks and jwks_url")
        if not client_id:
            raise ValueError("the user pool's app client id is not set (USER_POOL_CLIENT_ID)")
        self._issuer = issuer
        self._client_id = client_id
        self._leeway = leeway
        self._keys = jwt.PyJWKSet.from_dict(jwks) if jwks is not None else None
        # Keys are cached per container; an unknown kid (a rotated key) fetches the set again,
        # at most once per cooldown, so forged kids cannot hammer the pool's endpoint.
        self._client = (
            jwt.PyJWKClient(jwks_url, cache_keys=True, timeout=timeout) if jwks_url else None
        )

    @classmethod
    def for_pool(
        cls, pool_arn: str, client_id: str, *, jwks_url: str = "", timeout: float = 5
    ) -> TokenVerifier:
        """The verifier of a deployed pool: its JWKS is at the issuer's well-known address
        (the sandbox passes moto's own)."""
        issuer = pool_issuer(pool_arn)
        return cls(
            issuer=issuer,
            client_id=client_id,
            jwks_url=jwks_url or f"{issuer}/.well-known/jwks.json",
            timeout=timeout,
        )

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
            raise InvalidToken("the token is not a well-formed JWT") from e
        if not isinstance(kid, str):
            raise InvalidToken("token names no signing key (kid)")
        try:
            if self._client is not None:
                return self._client.get_signing_key(kid).key
            assert self._keys is not None
            return self._keys[kid].key
        except jwt.PyJWKClientConnectionError as e:
            raise KeysUnavailable("the user pool's signing keys cannot be read now") from e
        except (KeyError, jwt.PyJWKClientError) as e:
            raise InvalidToken("token was not signed by this user pool") from e

    def verify(self, header: str | None) -> dict[str, Any]:
        """The token's claims, or InvalidToken saying what is wrong."""
        token = self.token_from_header(header)
        key = self._signing_key(token)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise InvalidToken("the token is not a well-formed JWT") from e
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
