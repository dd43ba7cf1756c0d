"""Which AWS service and operation a request to the sandbox's moto is, as a fault rule names
them: the JSON protocols' X-Amz-Target, the query protocols' Action, S3's method and path."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

# X-Amz-Target prefixes of the JSON protocols, by service.
_TARGETS = (
    ("DynamoDBStreams", "dynamodbstreams"),
    ("DynamoDB", "dynamodb"),
    ("AWSCognitoIdentityProviderService", "cognito-idp"),
    ("AmazonSQS", "sqs"),
)
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


def read_body(environ: dict[str, Any]) -> bytes:
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
    body = read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
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
