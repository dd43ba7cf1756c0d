"""The sandbox's S3 refuses presigned-POST uploads as S3 does (sandbox.s3post, sandbox.control)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from sandbox.env import aws_environment
from sandbox.s3post import PostRefused, check_post

CONTENT_TYPE = "image/jpeg"
SIZE = 100
_CREDENTIALS = aws_environment("", "")
SECRETS = {_CREDENTIALS["AWS_ACCESS_KEY_ID"]: _CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}


def _s3(endpoint: str, signature_version: str = "s3v4") -> Any:
    """An S3 client signing as the app's does (chalicelib.store.aws), or as asked."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(signature_version=signature_version),
    )


@pytest.fixture(scope="module")
def bucket(moto: str) -> str:
    name = f"media-{uuid.uuid4().hex[:8]}"
    _s3(moto).create_bucket(Bucket=name)
    return name


def presigned(
    endpoint: str, bucket: str, key: str, expires_in: int = 600, signature_version: str = "s3v4"
) -> dict[str, Any]:
    """A presigned POST as PhotoService makes it: that key, that type, at most SIZE bytes."""
    post: dict[str, Any] = _s3(endpoint, signature_version).generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": CONTENT_TYPE},
        Conditions=[{"Content-Type": CONTENT_TYPE}, ["content-length-range", 1, SIZE]],
        ExpiresIn=expires_in,
    )
    return post


def upload(
    post: dict[str, Any], body: bytes = b"x" * SIZE, changes: dict[str, str] | None = None
) -> requests.Response:
    fields = {**post["fields"], **(changes or {})}
    return requests.post(post["url"], data=fields, files={"file": ("a.jpg", body)}, timeout=10)


def _xml(response: requests.Response) -> ET.Element:
    return ET.fromstring(response.content)  # noqa: S314 - the test's own sandbox answered


def s3_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = _xml(response)
    assert error.tag == "Error"
    assert error.findtext("Code") == code
    return error.findtext("Message") or ""


def _key() -> str:
    return f"uploads/u/{uuid.uuid4().hex}"


def test_upload_as_signed_is_204_and_stored(moto: str, bucket: str) -> None:
    key = _key()
    response = upload(presigned(moto, bucket, key))
    assert response.status_code == 204, response.text
    stored = _s3(moto).get_object(Bucket=bucket, Key=key)
    assert (stored["ContentType"], stored["ContentLength"]) == (CONTENT_TYPE, SIZE)


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_upload_with_a_forged_signature_of_either_version_is_refused(
    moto: str, bucket: str, version: str
) -> None:
    post = presigned(moto, bucket, _key(), signature_version=version)
    assert upload(post).status_code == 204
    name = "x-amz-signature" if version == "s3v4" else "signature"
    s3_error(upload(post, changes={name: "0" * 64}), 403, "SignatureDoesNotMatch")


def test_upload_larger_than_the_range_is_entity_too_large(moto: str, bucket: str) -> None:
    key = _key()
    response = upload(presigned(moto, bucket, key), body=b"x" * (SIZE + 1))
    s3_error(response, 400, "EntityTooLarge")
    assert _xml(response).findtext("MaxSizeAllowed") == str(SIZE)
    assert "Contents" not in _s3(moto).list_objects_v2(Bucket=bucket, Prefix=key)


def test_empty_upload_is_entity_too_small(moto: str, bucket: str) -> None:
    s3_error(upload(presigned(moto, bucket, _key()), body=b""), 400, "EntityTooSmall")


def test_upload_with_another_content_type_is_access_denied(moto: str, bucket: str) -> None:
    response = upload(presigned(moto, bucket, _key()), changes={"Content-Type": "image/png"})
    message = s3_error(response, 403, "AccessDenied")
    assert message == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$content-type", '
        '"image/jpeg"]'
    )


def test_upload_to_another_key_is_access_denied(moto: str, bucket: str) -> None:
    response = upload(presigned(moto, bucket, _key()), changes={"key": _key()})
    assert "$key" in s3_error(response, 403, "AccessDenied")


def test_expired_upload_is_access_denied(moto: str, bucket: str) -> None:
    response = upload(presigned(moto, bucket, _key(), expires_in=-60))
    assert s3_error(response, 403, "AccessDenied") == "Invalid according to Policy: Policy expired."


def test_upload_with_a_field_the_policy_does_not_name_is_access_denied(
    moto: str, bucket: str
) -> None:
    response = upload(presigned(moto, bucket, _key()), changes={"acl": "public-read"})
    assert "Extra input fields: acl" in s3_error(response, 403, "AccessDenied")


def test_upload_without_a_policy_is_access_denied(moto: str, bucket: str) -> None:
    response = requests.post(
        f"{moto}/{bucket}", data={"key": _key()}, files={"file": ("a", b"x")}, timeout=10
    )
    s3_error(response, 403, "AccessDenied")


def test_check_post_refuses_an_unknown_access_key(moto: str, bucket: str) -> None:
    fields = presigned(moto, bucket, "k")["fields"]
    with pytest.raises(PostRefused) as refused:
        check_post(bucket, fields, SIZE, {"someone-else": "secret"})
    assert (refused.value.status, refused.value.code) == (403, "InvalidAccessKeyId")


def test_check_post_accepts_until_the_expiry(moto: str, bucket: str) -> None:
    fields = presigned(moto, bucket, "k", expires_in=600)["fields"]
    check_post(bucket, fields, SIZE, SECRETS, now=datetime.now(UTC) + timedelta(seconds=590))
    with pytest.raises(PostRefused, match="Policy expired"):
        check_post(bucket, fields, SIZE, SECRETS, now=datetime.now(UTC) + timedelta(seconds=610))


def test_check_post_refuses_a_post_to_another_bucket(moto: str, bucket: str) -> None:
    fields = presigned(moto, bucket, "k")["fields"]
    with pytest.raises(PostRefused, match=r"\$bucket"):
        check_post("another-bucket", fields, SIZE, SECRETS)
