"""Faulted AWS calls as botocore sees them, in-process: a real client whose requests go straight
to the fault layer (no socket, no backoff sleeps), and the error, status and retries it reads."""

from __future__ import annotations

import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard
from werkzeug.test import EnvironBuilder

from sandbox import aws_faults
from sandbox.aws_calls import read_body
from sandbox.aws_faults import (
    USER_AGENT_APP_ID,
    FaultInjector,
    error_answer,
    own_session,
    transaction_throttled,
)
from sandbox.faults import Faults

ATTEMPTS = 2
_KEY = {"TableName": "t", "Key": {"id": {"S": "1"}}}
# One session: its clients are new each time, the service models it loaded are kept.
_SESSION = boto3.Session(region_name="us-east-1")


class Backend:
    """Stands in for moto: answers every call 200 with an empty JSON object, and keeps each
    request's (service operation target or path, body) to show what reached it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET") or environ["PATH_INFO"]
        self.calls.append((str(target), read_body(environ)))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]


class Raw(io.BytesIO):
    """A body as botocore reads a urllib3 response's."""

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.read()


class Wire:
    """A FaultInjector over `Backend`, reached in-process by botocore clients: each attempt's
    request becomes a WSGI environ, its answer the response botocore parses."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.backend = Backend()
        self.app = FaultInjector(self.backend, faults)
        self.status_lines: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []

    def send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body: Any = request.body
        if hasattr(body, "read"):
            body = body.read()
        headers = [
            (k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()
        ]
        environ = EnvironBuilder(
            method=request.method,
            path=url.path,
            query_string=url.query,
            headers=headers,
            data=body.encode() if isinstance(body, str) else bytes(body or b""),
        ).get_environ()
        started: list[Any] = []
        chunks = self.app(environ, lambda status, headers: started.extend((status, headers)))
        answer = b"".join(chunks)
        status, header_list = started
        self.status_lines.append(status)
        self.headers.append(dict(header_list))
        self.bodies.append(answer)
        returned = HTTPHeaders()
        for name, value in header_list:
            returned[name] = value
        return AWSResponse(request.url, int(status.split()[0]), returned, Raw(answer))

    def client(self, service: Any, session: boto3.Session | None = None, **config: Any) -> Any:
        made = (session or _SESSION).client(
            service,
            endpoint_url="http://aws.sandbox.test",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
                s3={"addressing_style": "path"},
                **config,
            ),
        )
        made.meta.events.register("before-send", self.send)
        return made


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries at once: the retry is the promise, not its jittered wait."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture
def wire(no_backoff: None) -> Wire:
    return Wire(Faults(seed="1"))


def _error(call: Any, **params: Any) -> Any:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response


@pytest.mark.parametrize(
    ("service", "method", "params", "kind", "status", "code", "message"),
    [
        (
            "dynamodb",
            "get_item",
            _KEY,
            "throttle",
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
        ),
        (
            "dynamodb",
            "list_tables",
            {},
            "throttle",
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        (
            "dynamodb",
            "get_item",
            _KEY,
            "error",
            500,
            "InternalServerError",
            "Internal server error",
        ),
        (
            "cognito-idp",
            "list_user_pools",
            {"MaxResults": 1},
            "throttle",
            400,
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        (
            "cognito-idp",
            "list_user_pools",
            {"MaxResults": 1},
            "error",
            500,
            "InternalErrorException",
            "Internal error",
        ),
        ("sqs", "list_queues", {}, "throttle", 400, "RequestThrottled", "Request is throttled."),
        (
            "sqs",
            "list_queues",
            {},
            "error",
            500,
            "InternalFailure",
            "The request processing has failed.",
        ),
        ("s3", "list_buckets", {}, "throttle", 503, "SlowDown", "Please reduce your request rate."),
        (
            "s3",
            "put_object",
            {"Bucket": "b", "Key": "k", "Body": b"x"},
            "error",
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        (
            "ses",
            "list_identities",
            {},
            "throttle",
            400,
            "Throttling",
            "Maximum sending rate exceeded.",
        ),
        (
            "ses",
            "list_identities",
            {},
            "error",
            500,
            "InternalFailure",
            "The request processing has failed.",
        ),
    ],
)
def test_fault_answer_is_the_services_own_error_and_botocore_retries_it(  # noqa: PLR0917 - parametrized
    wire: Wire,
    service: str,
    method: str,
    params: dict[str, Any],
    kind: str,
    status: int,
    code: str,
    message: str,
) -> None:
    wire.faults.set(f"{service}:*:{kind}:1")
    response = _error(getattr(wire.client(service), method), **params)
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == message
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["ResponseMetadata"]["RetryAttempts"] == ATTEMPTS - 1
    assert wire.faults.report()[0]["injected"] == ATTEMPTS
    assert wire.backend.calls == []


def test_fault_answer_status_line_and_headers(wire: Wire) -> None:
    wire.faults.set("dynamodb:GetItem:throttle:1,s3:*:throttle:1,sqs:*:error:1")
    _error(wire.client("dynamodb").get_item, **_KEY)
    _error(wire.client("s3").list_buckets)
    _error(wire.client("sqs").list_queues)
    assert wire.status_lines[::ATTEMPTS] == [
        "400 Bad Request",
        "503 Slow Down",
        "500 Internal Server Error",
    ]
    for headers in wire.headers:
        uuid.UUID(headers["x-amzn-RequestId"])
    assert [h["x-sandbox-fault"] for h in wire.headers[::ATTEMPTS]] == [
        "dynamodb:GetItem:throttle:1",
        "s3:*:throttle:1",
        "sqs:*:error:1",
    ]
    dynamodb = wire.headers[0]
    assert dynamodb["Content-Type"] == "application/x-amz-json-1.0"
    assert set(dynamodb) == {
        "Content-Type",
        "Content-Length",
        "x-amzn-RequestId",
        "x-sandbox-fault",
    }


def test_fault_answer_of_a_json_service_names_its_namespace_and_request_id(wire: Wire) -> None:
    wire.faults.set("dynamodb:*:error:1,cognito-idp:*:throttle:1")
    dynamodb = _error(wire.client("dynamodb").get_item, **_KEY)
    cognito = _error(wire.client("cognito-idp").list_user_pools, MaxResults=1)
    uuid.UUID(dynamodb["ResponseMetadata"]["RequestId"])
    assert dynamodb["ResponseMetadata"]["RequestId"] != cognito["ResponseMetadata"]["RequestId"]


def test_fault_answer_of_s3_is_s3s_error_document(wire: Wire) -> None:
    wire.faults.set("s3:*:error:1")
    response = _error(wire.client("s3").get_object, Bucket="b", Key="k")
    assert (
        response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
        == (wire.headers[-1]["x-amz-request-id"])
    )
    request_id = wire.headers[0]["x-amz-request-id"]
    assert wire.headers[0]["Content-Type"] == "application/xml"
    # S3's own request ids: 16 upper-case hex digits, in x-amz-request-id and in the body that
    # browsers (a presigned GET or POST) read.
    assert len(request_id) == 16
    assert request_id == request_id.upper()
    int(request_id, 16)
    body = wire.bodies[0]
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    error = ET.fromstring(body)  # noqa: S314 - the fault layer's own answer
    assert {child.tag: child.text for child in error} == {
        "Code": "InternalError",
        "Message": "We encountered an internal error. Please try again.",
        "RequestId": request_id,
        "HostId": "sandbox",
    }
    assert wire.bodies[1] != body  # each answer its own request id


def test_fault_answer_to_a_head_has_no_body(wire: Wire) -> None:
    wire.faults.set("s3:HeadObject:throttle:1")
    response = _error(wire.client("s3").head_object, Bucket="b", Key="k")
    # A HEAD answer has no body: botocore names the error by its status.
    assert response["Error"]["Code"] == "503"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert wire.headers[0]["Content-Length"] == "0"


def test_fault_answer_throttles_one_item_of_a_transaction(wire: Wire) -> None:
    wire.faults.set("dynamodb:TransactWriteItems:throttle:1")
    items = [{"Put": {"TableName": "t", "Item": {"id": {"S": str(i)}}}} for i in range(3)]
    response: Any = _error(wire.client("dynamodb").transact_write_items, TransactItems=items)
    assert response["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in response["CancellationReasons"]]
    assert sorted(codes) == ["None", "None", "ThrottlingError"]
    assert response["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{', '.join(codes)}]"
    )
    # Not a throttling code botocore retries: the caller sees the cancellation at once.
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_fault_answer_error_of_a_transaction_is_dynamodbs_internal_error(wire: Wire) -> None:
    wire.faults.set("dynamodb:TransactWriteItems:error:1")
    items = [{"Put": {"TableName": "t", "Item": {"id": {"S": "1"}}}}]
    response = _error(wire.client("dynamodb").transact_write_items, TransactItems=items)
    assert response["Error"]["Code"] == "InternalServerError"


def test_fault_answer_throttles_a_control_plane_call_as_the_control_plane_does(
    wire: Wire,
) -> None:
    wire.faults.set("dynamodb:*:throttle:1")
    assert _error(wire.client("dynamodb").describe_table, TableName="t")["Error"]["Code"] == (
        "ThrottlingException"
    )
    assert _error(wire.client("dynamodb").scan, TableName="t")["Error"]["Code"] == (
        "ProvisionedThroughputExceededException"
    )


def _reason(environ: dict[str, Any], pick: float) -> tuple[list[dict[str, str]], str]:
    status, content_type, extra, body = transaction_throttled(environ, pick)
    assert (status, content_type, extra) == (400, "application/x-amz-json-1.0", {})
    answer = json.loads(body)
    assert answer["__type"] == "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
    return answer["CancellationReasons"], answer["Message"]


def _transaction(items: Any) -> dict[str, Any]:
    environ: dict[str, Any] = EnvironBuilder(
        method="POST", data=json.dumps({"TransactItems": items})
    ).get_environ()
    return environ


_THROTTLED = {
    "Code": "ThrottlingError",
    "Message": "Throughput exceeds the current capacity of your table or index. DynamoDB is "
    "automatically scaling your table or index so please try again shortly.",
}


@pytest.mark.parametrize(("pick", "throttled"), [(0.0, 0), (0.33, 0), (0.34, 1), (0.99, 2)])
def test_transaction_throttled_names_the_item_pick_chooses(pick: float, throttled: int) -> None:
    reasons, message = _reason(_transaction([{"Put": {}}] * 3), pick)
    expected = [{"Code": "None"}] * 3
    expected[throttled] = _THROTTLED
    assert reasons == expected
    codes = ", ".join(r["Code"] for r in expected)
    assert message == (
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
    )


def test_transaction_throttled_leaves_the_body_for_the_backend() -> None:
    environ = _transaction([{"Put": {}}])
    transaction_throttled(environ, 0.5)
    assert json.loads(environ["wsgi.input"].read()) == {"TransactItems": [{"Put": {}}]}


@pytest.mark.parametrize(
    "environ",
    [
        EnvironBuilder(method="POST").get_environ(),
        EnvironBuilder(method="POST", data="not json").get_environ(),
        EnvironBuilder(method="POST", data="[1, 2]").get_environ(),
        EnvironBuilder(method="POST", data='{"TransactItems": 3}').get_environ(),
        EnvironBuilder(method="POST", data='{"TransactItems": []}').get_environ(),
    ],
    ids=["no body", "not json", "not an object", "items not a list", "no items"],
)
def test_transaction_throttled_of_an_odd_request_names_one_item(environ: dict[str, Any]) -> None:
    reasons, message = _reason(environ, 0.9)
    assert reasons == [_THROTTLED]
    assert message.endswith("[ThrottlingError]")


def test_error_answer_of_the_query_protocol_says_who_is_at_fault() -> None:
    throttled = error_answer("sqs", "ListQueues", "throttle", json_protocol=False)
    failed = error_answer("ses", "SendRawEmail", "error", json_protocol=False)
    assert throttled[:3] == (400, "text/xml", {})
    assert throttled[3].startswith(
        b"<ErrorResponse><Error><Type>Sender</Type><Code>RequestThrottled</Code>"
        b"<Message>Request is throttled.</Message></Error><RequestId>"
    )
    assert failed[:3] == (500, "text/xml", {})
    assert b"<Type>Receiver</Type><Code>InternalFailure</Code>" in failed[3]


def test_error_answer_of_a_json_service_is_its_json_protocol() -> None:
    status, content_type, extra, body = error_answer(
        "cognito-idp", "AdminGetUser", "error", json_protocol=True
    )
    assert (status, content_type, extra) == (500, "application/x-amz-json-1.1", {})
    assert json.loads(body) == {"__type": "InternalErrorException", "message": "Internal error"}
    status, content_type, extra, body = error_answer("sqs", "SendMessage", "throttle", True)
    assert (status, content_type, extra) == (400, "application/x-amz-json-1.0", {})
    assert json.loads(body) == {
        "__type": "com.amazonaws.sqs#RequestThrottled",
        "message": "Request is throttled.",
    }


def test_fault_answer_passes_unfaulted_calls_to_the_backend(wire: Wire) -> None:
    wire.faults.set("dynamodb:PutItem:throttle:1,sqs:*:throttle:0")
    assert wire.client("dynamodb").get_item(**_KEY)["ResponseMetadata"]["HTTPStatusCode"] == 200
    wire.client("sqs").list_queues()
    assert [target for target, _ in wire.backend.calls] == [
        "DynamoDB_20120810.GetItem",
        "AmazonSQS.ListQueues",
    ]
    assert json.loads(wire.backend.calls[0][1]) == _KEY
    assert wire.faults.report() == [
        {"rule": "dynamodb:PutItem:throttle:1", "calls": 0, "injected": 0},
        {"rule": "sqs:*:throttle:0", "calls": 1, "injected": 0},
    ]


def test_fault_answer_without_rules_never_asks_them(wire: Wire) -> None:
    wire.client("dynamodb").get_item(**_KEY)
    assert len(wire.backend.calls) == 1


def test_fault_answer_leaves_what_no_rule_can_name_alone(wire: Wire) -> None:
    wire.faults.set("s3:*:error:1")
    started: list[Any] = []
    environ = EnvironBuilder(path="/us-east-1_x/.well-known/jwks.json").get_environ()
    assert list(wire.app(environ, lambda *a: started.extend(a))) == [b"{}"]
    assert started[0] == "200 OK"
    assert wire.faults.report()[0]["calls"] == 0


def test_fault_answer_waits_the_latency_then_answers(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(aws_faults, "time", SimpleNamespace(sleep=slept.append))
    wire.faults.set("sqs:*:latency250ms:1,dynamodb:*:latency1500ms:1,dynamodb:*:error:1")
    wire.client("sqs").list_queues()
    assert slept == [0.25]
    _error(wire.client("dynamodb").get_item, **_KEY)
    assert slept == [0.25, 1.5, 1.5]
    assert len(wire.backend.calls) == 1


def test_fault_answer_without_latency_does_not_wait(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(aws_faults, "time", SimpleNamespace(sleep=slept.append))
    wire.faults.set("sqs:*:throttle:1")
    _error(wire.client("sqs").list_queues)
    assert slept == []


def test_own_session_calls_are_never_faulted(wire: Wire) -> None:
    wire.faults.set("sqs:*:error:1")
    own = own_session("eu-west-1")
    assert own.region_name == "eu-west-1"
    wire.client("sqs", session=own).list_queues()
    assert wire.faults.report()[0]["calls"] == 0
    assert len(wire.backend.calls) == 1


def test_own_session_region_and_app_id(wire: Wire) -> None:
    client = own_session("eu-west-1").client("sqs")
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.user_agent_appid == USER_AGENT_APP_ID
    # Only its own clients: a plain session's stay faulted.
    wire.faults.set("sqs:*:error:1")
    _error(wire.client("sqs").list_queues)


def test_fault_answer_of_the_query_protocol_carries_a_request_id(wire: Wire) -> None:
    wire.faults.set("ses:*:throttle:1")
    response = _error(wire.client("ses").list_identities)
    uuid.UUID(response["ResponseMetadata"]["RequestId"])
    assert wire.bodies[0] != wire.bodies[1]  # each answer its own request id


def test_fault_answer_throttles_the_transactions_items_as_the_seed_draws(no_backoff: None) -> None:
    def throttled(seed: str) -> list[int]:
        wire = Wire(Faults.start("dynamodb:TransactGetItems:throttle:1", seed))
        dynamodb = wire.client("dynamodb")
        items = [{"Get": {"TableName": "t", "Key": {"id": {"S": str(i)}}}} for i in range(3)]
        out = []
        for _ in range(12):
            response: Any = _error(dynamodb.transact_get_items, TransactItems=items)
            codes = [reason["Code"] for reason in response["CancellationReasons"]]
            out.append(codes.index("ThrottlingError"))
        return out

    first = throttled("11")
    assert first == throttled("11")
    assert set(first) == {0, 1, 2}
