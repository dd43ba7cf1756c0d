"""The AWS side of the sandbox's faults: a WSGI layer in front of moto that reads which service
and operation each call is, and answers a faulted one as that service answers: its own error
codes, statuses and body shapes, so botocore retries them as it would retry AWS.

The sandbox's own calls (creating resources, the pump reading queues and streams, snapshots)
carry USER_AGENT_APP_ID and are never faulted: in AWS they are AWS's own work, not the app's.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from sandbox.faults import Faults, Rule

log = logging.getLogger("sandbox.faults")

USER_AGENT_APP_ID = "mytodolist-sandbox"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# X-Amz-Target prefixes of the JSON protocols, by service.
_TARGETS = (
    ("DynamoDBStreams", "dynamodbstreams"),
    ("DynamoDB", "dynamodb"),
    ("AWSCognitoIdentityProviderService", "cognito-idp"),
    ("AmazonSQS", "sqs"),
)
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
# S3 bucket sub-resources and the name part of their operations.
_S3_BUCKET_SUBRESOURCES = {
    "notification": "BucketNotificationConfiguration",
    "lifecycle": "BucketLifecycleConfiguration",
    "cors": "BucketCors",
    "policy": "BucketPolicy",
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "encryption": "BucketEncryption",
    "publicAccessBlock": "PublicAccessBlock",
    "acl": "BucketAcl",
}
_S3_OBJECT = {
    "GET": "GetObject",
    "HEAD": "HeadObject",
    "PUT": "PutObject",
    "DELETE": "DeleteObject",
}
_S3_BUCKET = {
    "GET": "ListObjects",
    "HEAD": "HeadBucket",
    "PUT": "CreateBucket",
    "DELETE": "DeleteBucket",
}
_S3_OBJECT_SUBRESOURCES = {"tagging": "ObjectTagging", "acl": "ObjectAcl"}
_S3_LISTINGS = {
    "location": "GetBucketLocation",
    "versions": "ListObjectVersions",
    "uploads": "ListMultipartUploads",
}
_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}


def _signing_name(environ: Mapping[str, Any], query: Mapping[str, list[str]]) -> str | None:
    """The service a SigV4 signature (header or presigned URL) was made for."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    credential = ""
    if "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
    elif query.get("X-Amz-Credential"):
        credential = query["X-Amz-Credential"][0]
    scope = credential.split("/")
    return scope[3] if len(scope) == 5 else None


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back for moto to read again."""
    length = str(environ.get("CONTENT_LENGTH") or "0")
    body: bytes = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _s3_object_operation(method: str, query: Mapping[str, list[str]], copy: bool) -> str:
    if "uploadId" in query:
        parts = {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "GET": "ListParts"}
        return parts.get(method, "AbortMultipartUpload")
    if "uploads" in query:
        return "CreateMultipartUpload"
    sub = next((name for key, name in _S3_OBJECT_SUBRESOURCES.items() if key in query), None)
    if sub is not None:
        return _VERB.get(method, "Get") + sub
    if method == "PUT" and copy:
        return "CopyObject"
    return _S3_OBJECT.get(method, "PostObject")


def _s3_bucket_operation(method: str, query: Mapping[str, list[str]]) -> str:
    if method == "POST":
        return "DeleteObjects" if "delete" in query else "PostObject"
    sub = next((name for key, name in _S3_BUCKET_SUBRESOURCES.items() if key in query), None)
    if sub is not None:
        return _VERB.get(method, "Get") + sub
    listing = next((name for key, name in _S3_LISTINGS.items() if key in query), None)
    if listing is not None:
        return listing
    if query.get("list-type") == ["2"]:
        return "ListObjectsV2"
    return _S3_BUCKET.get(method, "ListObjects")


def s3_operation(method: str, path: str, query: Mapping[str, list[str]], copy: bool) -> str:
    """The API name of a path-style S3 call (`copy`: it has x-amz-copy-source)."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return "ListBuckets"
    if key:
        return _s3_object_operation(method, query, copy)
    return _s3_bucket_operation(method, query)


def _query_action(environ: dict[str, Any], query: Mapping[str, list[str]]) -> str:
    """The Action of a query-protocol call (SES, SQS's old protocol), from the form or URL."""
    body = _read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
    form = parse_qs(body.decode("utf-8", "replace"))
    return (form.get("Action") or query.get("Action") or [""])[0]


def _is_browser_upload(environ: dict[str, Any]) -> bool:
    """An unsigned form POST to a bucket: a presigned POST, whose signature is in the form."""
    return (
        "HTTP_AUTHORIZATION" not in environ
        and environ.get("REQUEST_METHOD") == "POST"
        and str(environ.get("CONTENT_TYPE", "")).startswith("multipart/form-data")
        and str(environ.get("PATH_INFO", "/")).strip("/").count("/") == 0
    )


def classify(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, operation) of an AWS call; None for what no fault rule can name (the user
    pool's JWKS, moto's own routes)."""
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        prefix, _, operation = target.rpartition(".")
        return next((s for p, s in _TARGETS if prefix.startswith(p)), prefix), operation
    service = _signing_name(environ, query)
    if service in ("ses", "sqs"):
        action = _query_action(environ, query)
        return (service, action) if action else None
    if service == "s3" or (service is None and _is_browser_upload(environ)):
        method = str(environ.get("REQUEST_METHOD", "GET"))
        copy = "HTTP_X_AMZ_COPY_SOURCE" in environ
        return "s3", s3_operation(method, str(environ.get("PATH_INFO", "/")), query, copy)
    return None


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


_REASONS = {400: "Bad Request", 500: "Internal Server Error", 503: "Slow Down"}


class FaultInjector:
    """moto's WSGI app behind the fault rules."""

    def __init__(self, app: WSGIApp, faults: Faults) -> None:
        self._app = app
        self._faults = faults

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if f"app/{USER_AGENT_APP_ID}" in str(environ.get("HTTP_USER_AGENT", "")):
            return self._app(environ, start_response)
        call = classify(environ)
        if call is None:
            return self._app(environ, start_response)
        fault = self._faults.aws_call(*call)
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if fault.answer is None:
            return self._app(environ, start_response)
        return self._answer(environ, start_response, call, fault.answer)

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        call: tuple[str, str],
        rule: Rule,
    ) -> list[bytes]:
        service, operation = call
        json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET"))
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
