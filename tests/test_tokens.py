"""The token verifier's pool settings: a user pool ARN or a clear error, and a bounded key fetch."""

from __future__ import annotations

import pytest

from chalicelib.web.tokens import TokenVerifier, pool_issuer

ARN = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC"


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
