"""The AWS side of the sandbox's faults: a WSGI layer in front of moto that asks the rules about
each call (sandbox.aws_calls names it) and answers a faulted one as that service answers: its
own error codes, statuses and body shapes, so botocore retries them as it would retry AWS.

The sandbox's own calls (creating resources, the pump reading queues and streams, snapshots)
carry USER_AGENT_APP_ID and are never faulted: in AWS they are AWS's own work, not the app's.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sandbox.aws_calls import classify, read_body
from sandbox.faults import Faults, Rule

if TYPE_CHECKING:
    import boto3

log = logging.getLogger("sandbox.faults")

USER_AGENT_APP_ID = "mytodolist-sandbox"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# DynamoDB's item operations throttle with the capacity error, its control plane with the rest.
_DYNAMODB_ITEM_OPERATIONS = frozenset(
    {
        *("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"),
        *("BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems"),
        *("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"),
    }
)
# What each service answers, (service, kind) -> (status, code, message): the codes AWS documents
# and botocore's standard retry mode knows as throttling or transient.
_ANSWERS = {
    ("dynamodb", "throttle"): (
        400,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    ),
    ("dynamodb", "control-throttle"): (
        400,
        "ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    ("dynamodb", "error"): (500, "InternalServerError", "Internal server error"),
    ("cognito-idp", "throttle"): (400, "TooManyRequestsException", "Rate exceeded"),
    ("cognito-idp", "error"): (500, "InternalErrorException", "Internal error"),
    ("s3", "throttle"): (503, "SlowDown", "Please reduce your request rate."),
    ("s3", "error"): (500, "InternalError", "We encountered an internal error. Please try again."),
    ("sqs", "throttle"): (400, "RequestThrottled", "Request is throttled."),
    ("sqs", "error"): (500, "InternalFailure", "The request processing has failed."),
    ("ses", "throttle"): (400, "Throttling", "Maximum sending rate exceeded."),
    ("ses", "error"): (500, "InternalFailure", "The request processing has failed."),
}
# The JSON protocols' `__type` carries the service's namespace, as AWS sends it.
_JSON_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}


def own_session(region: str) -> boto3.Session:
    """A boto3 session for the sandbox's own work, which the fault rules never hit."""
    import boto3  # noqa: PLC0415 - the CLI's `--help` stays fast
    from botocore.config import Config  # noqa: PLC0415
    from botocore.session import get_session  # noqa: PLC0415

    core = get_session()
    # botocore-stubs predate `user_agent_appid` (botocore 1.31).
    core.set_default_client_config(Config(user_agent_appid=USER_AGENT_APP_ID))  # type: ignore[call-arg]
    return boto3.Session(botocore_session=core, region_name=region)


def fault_actions(faults: Faults) -> dict[tuple[str, str], Callable[[bytes], Any]]:
    """The control routes behind `python -m sandbox faults` (sandbox.control)."""

    def answer(report: list[dict[str, Any]]) -> dict[str, Any]:
        return {"seed": faults.seed, "rules": report}

    def set_rules(body: bytes) -> dict[str, Any]:
        report = faults.set(body.decode("utf-8", "replace"))
        log.warning("fault rules set: %s", faults.spec or "none")
        return answer(report)

    def clear(_: bytes) -> dict[str, Any]:
        report = faults.clear()
        log.warning("fault rules cleared")
        return answer(report)

    return {
        ("GET", "faults"): lambda _: answer(faults.report()),
        ("POST", "faults"): set_rules,
        ("POST", "faults/clear"): clear,
    }


def _json_error(
    status: int, code: str, message: str, version: str
) -> tuple[int, str, dict[str, str], bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, f"application/x-amz-json-{version}", {}, body


def _xml_error(
    status: int, code: str, message: str, kind: str
) -> tuple[int, str, dict[str, str], bytes]:
    # The query protocol's shape (SES, SQS's old protocol).
    body = (
        "<ErrorResponse><Error>"
        f"<Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return status, "text/xml", {}, body


def _s3_error(status: int, code: str, message: str) -> tuple[int, str, dict[str, str], bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
    ).encode()
    return status, "application/xml", {"x-amz-request-id": request_id}, body


def error_answer(
    service: str, operation: str, kind: str, json_protocol: bool
) -> tuple[int, str, dict[str, str], bytes]:
    """(status, content type, headers, body) of the service's throttling or internal error."""
    if service == "dynamodb" and kind == "throttle" and operation not in _DYNAMODB_ITEM_OPERATIONS:
        kind = "control-throttle"
    status, code, message = _ANSWERS[service, kind]
    if service == "s3":
        return _s3_error(status, code, message)
    if json_protocol:
        version = "1.1" if service == "cognito-idp" else "1.0"
        return _json_error(status, _JSON_PREFIX.get(service, "") + code, message, version)
    return _xml_error(status, code, message, "Sender" if status < 500 else "Receiver")


_TRANSACTIONS = ("TransactWriteItems", "TransactGetItems")
_ITEM_THROTTLED = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly."
)


def transaction_throttled(
    environ: dict[str, Any], pick: float
) -> tuple[int, str, dict[str, str], bytes]:
    """A transaction cancelled because one of its items (chosen by `pick`) was throttled, as
    DynamoDB answers it: the other items' reasons are "None", and botocore does not retry."""
    try:
        request = json.loads(read_body(environ) or b"{}")
        count = max(1, len(request.get("TransactItems", [])))
    except (ValueError, AttributeError, TypeError):
        count = 1
    throttled = min(count - 1, int(pick * count))
    reasons: list[dict[str, str]] = [{"Code": "None"}] * count
    reasons[throttled] = {"Code": "ThrottlingError", "Message": _ITEM_THROTTLED}
    codes = ", ".join(r["Code"] for r in reasons)
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": f"Transaction cancelled, please refer cancellation reasons for specific "
        f"reasons [{codes}]",
        "CancellationReasons": reasons,
    }
    return 400, "application/x-amz-json-1.0", {}, json.dumps(body).encode()


_REASONS = {400: "Bad Request", 500: "Internal Server Error", 503: "Slow Down"}


class FaultInjector:
    """moto's WSGI app behind the fault rules."""

    def __init__(self, app: WSGIApp, faults: Faults) -> None:
        self._app = app
        self._faults = faults

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self._faults.active or f"app/{USER_AGENT_APP_ID}" in str(
            environ.get("HTTP_USER_AGENT", "")
        ):
            return self._app(environ, start_response)
        call = classify(environ)
        if call is None:
            return self._app(environ, start_response)
        fault = self._faults.aws_call(*call)
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if fault.answer is None:
            return self._app(environ, start_response)
        return self._answer(environ, start_response, call, fault.answer, fault.pick)

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        call: tuple[str, str],
        rule: Rule,
        pick: float,
    ) -> list[bytes]:
        service, operation = call
        json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET"))
        if service == "dynamodb" and rule.kind == "throttle" and operation in _TRANSACTIONS:
            status, content_type, extra, body = transaction_throttled(environ, pick)
        else:
            status, content_type, extra, body = error_answer(
                service, operation, rule.kind, json_protocol
            )
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""  # a HEAD answer has no body, in S3 as anywhere
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            # So that a developer reading the wire can tell a fault on purpose from a bug.
            ("x-sandbox-fault", rule.text),
            *extra.items(),
        ]
        log.debug("fault: %s %s answered %d (%s)", service, operation, status, rule.text)
        start_response(f"{status} {_REASONS.get(status, '')}".strip(), headers)
        return [body]
