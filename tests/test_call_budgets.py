"""Every AWS call is bounded: per function, a call and its retries fit the function's timeout."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff, RetryContext

from chalicelib.core import config, reset_services
from chalicelib.store import aws
from chalicelib.store.models import ALL_MODELS
from tests.conftest import ROOT

FUNCTIONS = json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_functions"]


class _Throttled:
    """botocore's detector, answering as for a throttling error (the longest backoff)."""

    def is_throttling_error_from_context(self, context: object) -> bool:
        return True


def worst_case_seconds(budget: config.CallBudget) -> float:
    """Every attempt waits out connect and read; between attempts, botocore's standard-mode
    backoff at its maximum, raised by the most an x-amz-retry-after header may add."""
    detector: Any = _Throttled()
    backoff: Any = ExponentialBackoff(random=lambda: 1.0, throttling_detector=detector)
    response: Any = SimpleNamespace(headers={"x-amz-retry-after": "3600000"})
    waits: float = sum(
        backoff.delay_amount(RetryContext(attempt_number=n, http_response=response))
        for n in range(1, budget.max_attempts)
    )
    return budget.max_attempts * (budget.connect_timeout + budget.read_timeout) + waits


def test_every_function_has_a_call_budget() -> None:
    assert set(config.CALL_BUDGETS) == set(FUNCTIONS)


@pytest.mark.parametrize("handler", sorted(FUNCTIONS))
def test_call_budget_fits_the_functions_timeout(handler: str) -> None:
    budget = config.CALL_BUDGETS[handler]
    assert budget.max_attempts >= 2, "one retry at least: throttling is routine"
    assert worst_case_seconds(budget) <= FUNCTIONS[handler]["lambda_timeout"]


@pytest.mark.parametrize(
    ("function_name", "handler"),
    [
        ("mytodolist-prod", "api_handler"),
        ("mytodolist-dev-make_thumbnails", "make_thumbnails"),
        ("mytodolist-my-stage-send_post_mails", "send_post_mails"),
        ("mytodolist-my-stage", "api_handler"),
    ],
)
def test_function_handler_follows_chalices_names(function_name: str, handler: str) -> None:
    assert config.function_handler({"AWS_LAMBDA_FUNCTION_NAME": function_name}) == handler


def test_outside_lambda_calls_get_the_local_budget() -> None:
    assert config.function_handler({}) is None
    assert config.call_budget() == config.LOCAL_CALL_BUDGET


def test_boto_clients_take_the_functions_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mytodolist-test-make_thumbnails")
    reset_services()
    try:
        client_config = aws.client("s3").meta.config
    finally:
        reset_services()
    budget = config.CALL_BUDGETS["make_thumbnails"]
    assert (client_config.connect_timeout, client_config.read_timeout) == (
        budget.connect_timeout,
        budget.read_timeout,
    )
    assert client_config.retries == {"mode": "standard", "total_max_attempts": 3}


@pytest.mark.parametrize("model", ALL_MODELS)
def test_models_take_the_budget(model: type) -> None:
    # Built in this process, outside Lambda: the local budget (a Lambda function gets its own).
    budget = config.LOCAL_CALL_BUDGET
    meta = model.Meta  # type: ignore[attr-defined]
    assert (meta.connect_timeout_seconds, meta.read_timeout_seconds) == (
        budget.connect_timeout,
        budget.read_timeout,
    )
    assert meta.max_retry_attempts == budget.max_attempts - 1
