"""Settings: read once from the environment, refused when a value cannot work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import config


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    config.reset()
    yield
    config.reset()


def test_settings_warm_invoker_is_lambda_by_default() -> None:
    assert config.settings().warm_invoker == "lambda"


def test_settings_refuse_an_unknown_warm_invoker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARM_INVOKER", "http")
    with pytest.raises(RuntimeError, match="WARM_INVOKER must be one of"):
        config.settings()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({}, "us-east-1"),
    ],
)
def test_aws_region_prefers_lambdas_variable(environ: dict[str, str], expected: str) -> None:
    assert config.aws_region(environ) == expected
