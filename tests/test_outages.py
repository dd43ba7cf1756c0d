"""AWS failures that outlive botocore's retries: 429 or 503 with Retry-After, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from chalice.test import Client
from pynamodb.exceptions import GetError, PutError, TransactWriteError

from chalicelib.core.errors import Throttled, Unavailable
from chalicelib.store.models import TodoModel
from chalicelib.store.outages import domain_error, persistently
from tests.conftest import headers_for
from tests.helpers import assert_error

ALICE = headers_for("alice")


def _client_error(code: str, status: int, operation: str = "PutItem", **extra: Any) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, operation)


def _cancelled(*codes: str | None) -> ClientError:
    reasons = [{"Code": code or "None"} for code in codes]
    return _client_error(
        "TransactionCanceledException", 400, "TransactWriteItems", CancellationReasons=reasons
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_client_error("ProvisionedThroughputExceededException", 400), Throttled),
        (_client_error("ThrottlingException", 400), Throttled),
        (_client_error("SlowDown", 503, "DeleteObjects"), Throttled),
        (_client_error("Throttling", 400, "SendRawEmail"), Throttled),
        (_client_error("InternalServerError", 500), Unavailable),
        (_client_error("InternalError", 500, "GetObject"), Unavailable),
        (_client_error("ServiceUnavailable", 503), Unavailable),
        (ReadTimeoutError(endpoint_url="http://aws"), Unavailable),
        (EndpointConnectionError(endpoint_url="http://aws"), Unavailable),
        (PutError("Failed to put item", _client_error("InternalServerError", 500)), Unavailable),
        (GetError("Failed", _client_error("ThrottlingException", 400, "GetItem")), Throttled),
        (TransactWriteError("cancelled", _cancelled(None, "ThrottlingError")), Throttled),
        # Throttling wins: the retry is safe whatever else the transaction met.
        (
            TransactWriteError("c", _cancelled("ThrottlingError", "ConditionalCheckFailed")),
            Throttled,
        ),
    ],
)
def test_domain_error_names_what_the_client_may_retry(
    error: Exception, expected: type[Exception]
) -> None:
    assert isinstance(domain_error(error), expected)


@pytest.mark.parametrize(
    "error",
    [
        # A failed condition or a lost race is an answer the caller branches on.
        TransactWriteError("c", _cancelled(None, "ConditionalCheckFailed")),
        TransactWriteError("c", _cancelled("TransactionConflict", None)),
        PutError("Failed", _client_error("ConditionalCheckFailedException", 400)),
        _client_error("ValidationException", 400),
        _client_error("AccessDeniedException", 400),
        ValueError("a bug"),
    ],
)
def test_domain_error_leaves_conditions_and_bugs_alone(error: Exception) -> None:
    assert domain_error(error) is None


def test_domain_error_finds_the_aws_error_a_bug_was_raised_from() -> None:
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = _client_error("InternalServerError", 500)
    assert isinstance(domain_error(wrapped), Unavailable)


def test_persistently_retries_throttling_until_the_write_lands() -> None:
    tries: list[int] = []
    pauses: list[float] = []

    def write() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise Throttled("busy")
        return "done"

    assert persistently(write, what="w", sleep=pauses.append) == "done"
    assert len(tries) == 3
    assert len(pauses) == 2
    assert all(0 <= p <= 1 for p in pauses)


def test_persistently_gives_up_with_the_last_error() -> None:
    def write() -> None:
        raise Unavailable("down")

    with pytest.raises(Unavailable):
        persistently(write, what="w", attempts=3, sleep=lambda _: None)


def test_persistently_starts_no_try_after_its_time_is_up() -> None:
    now = [0.0]
    tries: list[float] = []

    def write() -> None:
        tries.append(now[0])
        now[0] += 4.0  # a slow failure: timeouts and botocore's own retries
        raise Unavailable("down")

    with pytest.raises(Unavailable):
        persistently(write, what="w", within=5.0, sleep=lambda _: None, clock=lambda: now[0])
    assert tries == [0.0, 4.0]


def test_persistently_does_not_retry_a_bug() -> None:
    tries: list[int] = []

    def write() -> None:
        tries.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        persistently(write, what="w", sleep=lambda _: None)
    assert tries == [1]


# -- through HTTP: AWS answers as it does after botocore's retries -------------------------------

AwsFailure = Callable[[str, Exception], None]


@pytest.fixture
def aws_fails(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFailure]:
    """Make every call of one AWS operation fail with `error` (the rest reach moto)."""
    failing: dict[str, Exception] = {}
    real = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # noqa: SLF001

    def api_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation in failing:
            raise failing[operation]
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)
    yield failing.__setitem__
    failing.clear()


def _todos(user: str = "alice") -> list[TodoModel]:
    return [t for t in TodoModel.scan() if t.user_id == user]


def test_idempotency_table_throttled_in_the_create_transaction_is_429_and_creates_nothing(
    client: Client, aws_fails: AwsFailure
) -> None:
    headers = {**ALICE, "Idempotency-Key": "k-throttled"}
    body = json.dumps({"title": "once"})
    # The todos item is fine, the idempotency record's table throttles: DynamoDB cancels all.
    aws_fails("TransactWriteItems", _cancelled(None, "ThrottlingError"))
    refused = client.http.post("/todos", headers=headers, body=body)
    assert_error(refused, 429, "TooManyRequestsError", "retry")
    assert refused.headers["Retry-After"] == "1"
    assert _todos() == []
    aws_fails("TransactWriteItems", _cancelled("ThrottlingError", None))
    assert_error(
        client.http.post("/todos", headers=headers, body=body), 429, "TooManyRequestsError"
    )


def test_create_retried_after_a_throttled_transaction_has_exactly_one_effect(
    client: Client, aws_fails: AwsFailure, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**ALICE, "Idempotency-Key": "k-retried"}
    body = json.dumps({"title": "once"})
    aws_fails("TransactWriteItems", _cancelled(None, "ThrottlingError"))
    assert client.http.post("/todos", headers=headers, body=body).status_code == 429
    monkeypatch.undo()  # the throttling passes
    first = client.http.post("/todos", headers=headers, body=body)
    again = client.http.post("/todos", headers=headers, body=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body
    assert len(_todos()) == 1


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        ("Query", _client_error("InternalServerError", 500, "Query")),
        ("Query", ReadTimeoutError(endpoint_url="http://dynamodb")),
        ("Query", EndpointConnectionError(endpoint_url="http://dynamodb")),
    ],
)
def test_dynamodb_failing_after_retries_is_503_with_retry_after(
    client: Client, aws_fails: AwsFailure, operation: str, error: Exception
) -> None:
    aws_fails(operation, error)
    response = client.http.get("/todos", headers=ALICE)
    assert_error(response, 503, "ServiceUnavailableError", "retry")
    assert response.headers["Retry-After"] == "1"


def test_dynamodb_failing_on_a_write_is_503_not_500(client: Client, aws_fails: AwsFailure) -> None:
    aws_fails("PutItem", _client_error("InternalServerError", 500))
    response = client.http.post("/todos", headers=ALICE, body=json.dumps({"title": "x"}))
    assert_error(response, 503, "ServiceUnavailableError")
    assert response.headers["Retry-After"] == "1"


def test_s3_throttling_a_photo_delete_is_429(
    client: Client, aws_fails: AwsFailure, media: Any
) -> None:
    created = client.http.post(
        "/photos", headers=ALICE, body=json.dumps({"content_type": "image/jpeg", "size": 10})
    )
    assert created.status_code == 201
    photo = created.json_body["photo"]["id"]
    aws_fails("DeleteObjects", _client_error("SlowDown", 503, "DeleteObjects"))
    response = client.http.delete(f"/photos/{photo}", headers=ALICE)
    assert_error(response, 429, "TooManyRequestsError")
    assert response.headers["Retry-After"] == "1"


def test_an_aws_error_that_is_a_bug_stays_a_500(client: Client, aws_fails: AwsFailure) -> None:
    aws_fails("Query", _client_error("ValidationException", 400, "Query"))
    assert client.http.get("/todos", headers=ALICE).status_code == 500
