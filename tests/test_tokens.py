"""The token verifier: its pool settings (a user pool ARN or a clear error, a bounded key fetch),
the exact words of each refusal (a client reads them in the 401), and the pool's keys read from
its JWKS address once per container, again for a rotated key at most once per cooldown."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from chalicelib.web.tokens import InvalidToken, KeysUnavailable, TokenVerifier, pool_issuer
from tests.conftest import CLIENT_ID, ISSUER, JWKS, KID, OTHER_KEY, SIGNING_KEY, make_token

ARN = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC"
CLAIMS = ("exp", "iat", "iss", "aud", "sub", "token_use")


def test_pool_issuer_of_a_user_pool_arn() -> None:
    assert pool_issuer(ARN) == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:cognito-identity:eu-west-1:123456789012:userpool/eu-west-1_AbC",
        "arn:aws:cognito-idp:eu-west-1:123456789012:identitypool/eu-west-1_AbC",
        "arn:aws:cognito-idp:eu-west-1:userpool/eu-west-1_AbC",
        "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC:extra",
        "",
    ],
)
def test_pool_issuer_refuses_what_is_not_a_user_pool_arn(arn: str) -> None:
    with pytest.raises(ValueError, match="not a Cognito user pool ARN") as refused:
        pool_issuer(arn)
    assert repr(arn) in str(refused.value)


def test_for_pool_bounds_the_key_fetch_by_the_given_timeout() -> None:
    client = TokenVerifier.for_pool(ARN, "client", timeout=1.5)._client  # noqa: SLF001
    assert client is not None
    assert client.timeout == 1.5


def test_for_pool_bounds_the_key_fetch_by_default() -> None:
    # The sandbox builds its verifier without a timeout: a hung key fetch still ends.
    client = TokenVerifier.for_pool(ARN, "client")._client  # noqa: SLF001
    assert client is not None
    assert client.timeout == 5


def test_verifier_bounds_the_key_fetch_by_default() -> None:
    verifier = TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks_url="http://127.0.0.1:9/k")
    client = verifier._client  # noqa: SLF001
    assert client is not None
    assert client.timeout == 5


# -- settings an operator gets wrong -------------------------------------------------------------


@pytest.mark.parametrize(
    "keys", [{}, {"jwks": JWKS, "jwks_url": "http://127.0.0.1:9/k"}], ids=["neither", "both"]
)
def test_verifier_takes_exactly_one_source_of_keys(keys: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^pass exactly one of jwks and jwks_url$"):
        TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, **keys)


def test_verifier_without_an_app_client_id_names_the_variable_to_set() -> None:
    message = "the user pool's app client id is not set (USER_POOL_CLIENT_ID)"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TokenVerifier(issuer=ISSUER, client_id="", jwks=JWKS)


# -- tokens --------------------------------------------------------------------------------------


def _signed(claims: dict[str, Any], **header: Any) -> str:
    # Signed as bytes: jwt.encode would refuse a null "iss", which a forger can still send.
    payload = json.dumps(claims).encode()
    return jwt.PyJWS().encode(payload, SIGNING_KEY, algorithm="RS256", headers=header)


def _claims_of_a_good_token() -> dict[str, Any]:
    return dict(jwt.decode(make_token("alice"), options={"verify_signature": False}))


def _b64(data: bytes) -> str:
    return jwt.utils.base64url_encode(data).decode()


# A header that names our key over a payload that is not JSON.
NOT_JSON = ".".join(_b64(part) for part in (b'{"alg": "RS256", "kid": "test-key"}', b"[", b"s"))


@pytest.mark.parametrize(
    "header",
    [make_token("alice"), f"Bearer {make_token('alice')}", f"  bearer   {make_token('alice')}  "],
    ids=["bare", "bearer", "lowercase-bearer-and-spaces"],
)
def test_verify_returns_the_claims_of_a_good_id_token(verifier: TokenVerifier, header: str) -> None:
    claims = verifier.verify(header)
    assert (claims["sub"], claims["aud"], claims["iss"]) == ("alice", CLIENT_ID, ISSUER)
    assert (claims["token_use"], claims["email"]) == ("id", "alice@example.com")


def _refused(verifier: TokenVerifier, header: str | None) -> str:
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(header)
    return str(refused.value)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization header: send a Cognito ID token"),
        ("", "missing Authorization header: send a Cognito ID token"),
        (" \t ", "missing Authorization header: send a Cognito ID token"),
        ("Bearer ", "the token is not a well-formed JWT"),
        ("a.b.c", "the token is not a well-formed JWT"),
        (NOT_JSON, "the token is not a well-formed JWT"),
        (_signed(_claims_of_a_good_token()), "token names no signing key (kid)"),
        (_signed(_claims_of_a_good_token(), kid="other"), "token was not signed by this user pool"),
        (make_token("alice", key=OTHER_KEY), "token is not valid: Signature verification failed"),
        (make_token("alice", expires_in=-60), "token has expired: sign in again"),
        (
            make_token("alice", audience="another-client"),
            "token was issued for another app client",
        ),
        (
            make_token("alice", issuer="https://cognito-idp.example/other"),
            "token was issued by another user pool",
        ),
        (make_token("alice", token_use="access"), "an ID token is required, not an access token"),
        (make_token("alice", token_use="refresh"), "an ID token is required, not an access token"),
    ],
    ids=[
        "missing",
        "empty",
        "blank",
        "bearer-only",
        "three-parts",
        "payload-not-json",
        "no-kid",
        "unknown-kid",
        "forged",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "access-token",
        "refresh-token-use",
    ],
)
def test_verify_refusal_says_what_is_wrong(
    verifier: TokenVerifier, header: str | None, message: str
) -> None:
    assert _refused(verifier, header) == message


@pytest.mark.parametrize("claim", CLAIMS)
@pytest.mark.parametrize("how", ["absent", "null"])
def test_verify_refuses_a_token_missing_a_claim_naming_it(
    verifier: TokenVerifier, claim: str, how: str
) -> None:
    claims = _claims_of_a_good_token()
    if how == "absent":
        del claims[claim]
    else:
        claims[claim] = None
    message = _refused(verifier, _signed(claims, kid=KID))
    assert message == f'token is not valid: Token is missing the "{claim}" claim'


def test_verify_allows_no_leeway_by_default(verifier: TokenVerifier) -> None:
    # Its exp is this very second: the token has expired.
    assert _refused(verifier, make_token("alice", expires_in=0)) == (
        "token has expired: sign in again"
    )


def test_verify_accepts_a_token_expired_within_the_given_leeway() -> None:
    lenient = TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks=JWKS, leeway=60)
    assert lenient.verify(make_token("alice", expires_in=-30))["sub"] == "alice"
    assert _refused(lenient, make_token("alice", expires_in=-90)) == (
        "token has expired: sign in again"
    )


# -- the pool's keys at its JWKS address ----------------------------------------------------------


@dataclass
class JwksEndpoint:
    """A pool's JWKS address on loopback: the keys it serves, how often it was read, and whether
    it answers 503 (an outage)."""

    url: str
    keys: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(JWKS)))
    reads: int = 0
    down: bool = False


@pytest.fixture
def endpoint() -> Iterator[JwksEndpoint]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.reads += 1
            body = b"" if served.down else json.dumps(served.keys).encode()
            self.send_response(503 if served.down else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served = JwksEndpoint(url=f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Monotonic:
    """The clock PyJWT's key cache and refresh cooldown read, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    fake = SimpleNamespace(monotonic=clock.monotonic)
    for module in (jwt.api_jwk, jwt.jwk_set_cache, jwt.jwks_client):
        monkeypatch.setattr(module, "time", fake)
    return clock


def _verifier_at(endpoint: JwksEndpoint) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks_url=endpoint.url)


def test_verify_reads_the_pool_keys_at_its_jwks_address(endpoint: JwksEndpoint) -> None:
    assert _verifier_at(endpoint).verify(make_token("alice"))["sub"] == "alice"
    assert endpoint.reads == 1


def test_pool_keys_are_read_once_per_container(
    endpoint: JwksEndpoint, monotonic: Monotonic
) -> None:
    verifier = _verifier_at(endpoint)
    verifier.verify(make_token("alice"))
    monotonic.now += 3600
    assert verifier.verify(make_token("bob"))["sub"] == "bob"
    assert endpoint.reads == 1


def test_unknown_kids_read_the_pool_keys_again_at_most_once_per_cooldown(
    endpoint: JwksEndpoint, monotonic: Monotonic
) -> None:
    verifier = _verifier_at(endpoint)
    verifier.verify(make_token("alice"))
    forged = [_signed(_claims_of_a_good_token(), kid=f"forged-{n}") for n in range(5)]
    for token in forged:
        assert _refused(verifier, token) == "token was not signed by this user pool"
    assert endpoint.reads == 1
    monotonic.now += 31
    for token in forged:
        assert _refused(verifier, token) == "token was not signed by this user pool"
    assert endpoint.reads == 2


def test_a_rotated_key_is_read_once_the_cooldown_is_over(
    endpoint: JwksEndpoint, monotonic: Monotonic
) -> None:
    verifier = _verifier_at(endpoint)
    verifier.verify(make_token("alice"))
    new_key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_KEY.public_key()))
    endpoint.keys["keys"].append({**new_key, "kid": "next", "alg": "RS256", "use": "sig"})
    monotonic.now += 31
    claims = jwt.decode(make_token("carol"), options={"verify_signature": False})
    rotated = jwt.encode(claims, OTHER_KEY, algorithm="RS256", headers={"kid": "next"})
    assert verifier.verify(rotated)["sub"] == "carol"
    assert endpoint.reads == 2


def test_pool_keys_that_cannot_be_read_are_no_fault_of_the_token(endpoint: JwksEndpoint) -> None:
    endpoint.down = True
    with pytest.raises(KeysUnavailable) as unavailable:
        _verifier_at(endpoint).verify(make_token("alice"))
    assert str(unavailable.value) == "the user pool's signing keys cannot be read now"
