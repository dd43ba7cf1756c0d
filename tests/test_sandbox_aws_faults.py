"""Faulted AWS calls look to botocore as AWS's own errors do: their codes, statuses, retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder

from sandbox.aws_calls import classify, s3_operation
from sandbox.aws_faults import USER_AGENT_APP_ID, FaultInjector
from sandbox.faults import Faults

ATTEMPTS = 2


@pytest.fixture(scope="module")
def wire() -> Iterator[tuple[str, Faults]]:
    """moto behind the fault layer on a free loopback port, and the layer's rules."""
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - slow import
        DomainDispatcherApplication,
        create_backend_app,
    )

    faults = Faults(seed="1")
    app = FaultInjector(DomainDispatcherApplication(create_backend_app), faults)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", faults
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def faults(wire: tuple[str, Faults]) -> Iterator[Faults]:
    yield wire[1]
    wire[1].clear()


def _client(wire: tuple[str, Faults], service: Any, **config: Any) -> Any:
    return boto3.Session(region_name="us-east-1").client(
        service,
        endpoint_url=wire[0],
        config=Config(
            retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
            s3={"addressing_style": "path"},
            **config,
        ),
    )


def _error(call: Any, **params: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    assert response["ResponseMetadata"]["RetryAttempts"] == ATTEMPTS - 1  # botocore retried
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


_KEY = {"TableName": "t", "Key": {"id": {"S": "1"}}}


@pytest.mark.parametrize(
    ("service", "method", "params", "kind", "answer"),
    [
        ("dynamodb", "get_item", _KEY, "throttle", ("ProvisionedThroughputExceededException", 400)),
        ("dynamodb", "list_tables", {}, "throttle", ("ThrottlingException", 400)),
        (
            "dynamodb",
            "put_item",
            {"TableName": "t", "Item": _KEY["Key"]},
            "error",
            ("InternalServerError", 500),
        ),
        ("s3", "list_buckets", {}, "throttle", ("SlowDown", 503)),
        (
            "s3",
            "put_object",
            {"Bucket": "b", "Key": "k", "Body": b"x"},
            "error",
            ("InternalError", 500),
        ),
        ("s3", "head_object", {"Bucket": "b", "Key": "k"}, "throttle", ("503", 503)),
        ("sqs", "list_queues", {}, "throttle", ("RequestThrottled", 400)),
        ("sqs", "list_queues", {}, "error", ("InternalFailure", 500)),
        ("ses", "list_identities", {}, "throttle", ("Throttling", 400)),
        ("ses", "list_identities", {}, "error", ("InternalFailure", 500)),
        (
            "cognito-idp",
            "list_user_pools",
            {"MaxResults": 1},
            "throttle",
            ("TooManyRequestsException", 400),
        ),
        (
            "cognito-idp",
            "list_user_pools",
            {"MaxResults": 1},
            "error",
            ("InternalErrorException", 500),
        ),
    ],
)
def test_fault_is_the_services_own_error(  # noqa: PLR0917 - parametrized
    wire: tuple[str, Faults],
    faults: Faults,
    service: str,
    method: str,
    params: dict[str, Any],
    kind: str,
    answer: tuple[str, int],
) -> None:
    faults.set(f"{service}:*:{kind}:1")
    client = _client(wire, service)
    assert _error(getattr(client, method), **params) == answer
    assert faults.report()[0]["injected"] == ATTEMPTS


def test_fault_throttles_one_item_of_a_transaction_as_dynamodb_does(
    wire: tuple[str, Faults], faults: Faults
) -> None:
    faults.set("dynamodb:TransactWriteItems:throttle:1")
    items = [{"Put": {"TableName": "t", "Item": {"id": {"S": str(i)}}}} for i in range(3)]
    with pytest.raises(ClientError) as caught:
        _client(wire, "dynamodb").transact_write_items(TransactItems=items)
    response: Any = caught.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in response["CancellationReasons"]]
    assert sorted(codes) == ["None", "None", "ThrottlingError"]
    # Not a throttling code botocore retries: the caller sees the cancellation at once.
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def test_fault_spares_other_operations_and_services(
    wire: tuple[str, Faults], faults: Faults
) -> None:
    faults.set("dynamodb:PutItem:throttle:1,s3:*:error:1")
    assert "TableNames" in _client(wire, "dynamodb").list_tables()
    assert _client(wire, "sqs").list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [r["calls"] for r in faults.report()] == [0, 0]


def test_fault_latency_delays_the_call(wire: tuple[str, Faults], faults: Faults) -> None:
    faults.set("sqs:ListQueues:latency300ms:1")
    sqs = _client(wire, "sqs")
    started = time.monotonic()
    sqs.list_queues()
    assert time.monotonic() - started >= 0.3
    assert faults.report() == [{"rule": "sqs:ListQueues:latency300ms:1", "calls": 1, "injected": 1}]


def test_fault_never_hits_the_sandboxs_own_calls(wire: tuple[str, Faults], faults: Faults) -> None:
    faults.set("sqs:*:error:1")
    own = _client(wire, "sqs", user_agent_appid=USER_AGENT_APP_ID)
    own.list_queues()
    assert faults.report()[0]["calls"] == 0


def test_fault_shows_its_rule_on_the_wire(wire: tuple[str, Faults], faults: Faults) -> None:
    faults.set("s3:ListBuckets:throttle:1")
    with pytest.raises(ClientError) as caught:
        _client(wire, "s3").list_buckets()
    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-sandbox-fault"] == "s3:ListBuckets:throttle:1"


def _environ(**kwargs: Any) -> dict[str, Any]:
    environ: dict[str, Any] = EnvironBuilder(**kwargs).get_environ()
    return environ


def _signed(service: str) -> dict[str, str]:
    credential = f"AKID/20260101/us-east-1/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, Signature=x"}


def test_classify_reads_the_query_protocols_action_and_leaves_the_body() -> None:
    body = "Action=SendRawEmail&Version=2010-12-01"
    environ = _environ(
        method="POST",
        data=body,
        headers=_signed("ses"),
        content_type="application/x-www-form-urlencoded",
    )
    assert classify(environ) == ("ses", "SendRawEmail")
    assert environ["wsgi.input"].read() == body.encode()


def test_classify_reads_the_json_protocols_target() -> None:
    environ = _environ(
        method="POST", headers={"X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"}
    )
    assert classify(environ) == ("dynamodb", "TransactWriteItems")
    streams = _environ(
        method="POST", headers={"X-Amz-Target": "DynamoDBStreams_20120810.GetRecords"}
    )
    assert classify(streams) == ("dynamodbstreams", "GetRecords")


def test_classify_knows_browser_uploads_and_presigned_gets() -> None:
    upload = _environ(method="POST", path="/media", data={"key": "uploads/a", "file": (b"x", "f")})
    assert classify(upload) == ("s3", "PostObject")
    credential = "AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    presigned = _environ(
        path="/media/thumbnails/a/small.jpg", query_string=f"X-Amz-Credential={credential}"
    )
    assert classify(presigned) == ("s3", "GetObject")


def test_classify_leaves_the_jwks_alone() -> None:
    assert classify(_environ(path="/us-east-1_x/.well-known/jwks.json")) is None


@pytest.mark.parametrize(
    ("method", "path", "query", "copy", "operation"),
    [
        ("GET", "/", {}, False, "ListBuckets"),
        ("PUT", "/b", {}, False, "CreateBucket"),
        ("HEAD", "/b", {}, False, "HeadBucket"),
        ("GET", "/b", {"list-type": ["2"]}, False, "ListObjectsV2"),
        ("GET", "/b", {}, False, "ListObjects"),
        ("POST", "/b", {"delete": [""]}, False, "DeleteObjects"),
        ("PUT", "/b", {"notification": [""]}, False, "PutBucketNotificationConfiguration"),
        ("PUT", "/b", {"lifecycle": [""]}, False, "PutBucketLifecycleConfiguration"),
        ("GET", "/b/k/x.jpg", {}, False, "GetObject"),
        ("HEAD", "/b/k", {}, False, "HeadObject"),
        ("PUT", "/b/k", {}, False, "PutObject"),
        ("PUT", "/b/k", {}, True, "CopyObject"),
        ("DELETE", "/b/k", {}, False, "DeleteObject"),
        ("PUT", "/b/k", {"tagging": [""]}, False, "PutObjectTagging"),
        ("GET", "/b/k", {"tagging": [""]}, False, "GetObjectTagging"),
        ("POST", "/b/k", {"uploads": [""]}, False, "CreateMultipartUpload"),
        ("PUT", "/b/k", {"uploadId": ["1"], "partNumber": ["1"]}, False, "UploadPart"),
    ],
)
def test_s3_operation_names_the_api(
    method: str, path: str, query: dict[str, list[str]], copy: bool, operation: str
) -> None:
    assert s3_operation(method, path, query, copy) == operation
