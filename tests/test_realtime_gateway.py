"""Where frames to a connection are posted: the management API's address in every partition."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.core import config
from chalicelib.realtime import gateway


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    """The function runs in the region the test is parametrized with (Lambda sets AWS_REGION)."""
    monkeypatch.setenv("AWS_REGION", request.param)
    monkeypatch.delenv("WEBSOCKET_MANAGEMENT_URL", raising=False)
    config.reset()
    yield request.param
    config.reset()


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "https://abc123.execute-api.us-east-1.amazonaws.com/api"),
        ("eu-central-1", "https://abc123.execute-api.eu-central-1.amazonaws.com/api"),
        ("cn-north-1", "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/api"),
        ("cn-northwest-1", "https://abc123.execute-api.cn-northwest-1.amazonaws.com.cn/api"),
    ],
    indirect=["region"],
)
def test_gateway_endpoint_is_the_execute_api_address_of_the_regions_partition(
    region: str, expected: str
) -> None:
    assert gateway.endpoint("abc123", "api") == expected
