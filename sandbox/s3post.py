"""S3's checks of a browser-based (presigned POST) upload, which moto does not make.

A form POST to a bucket carries a base64 policy (an expiry and conditions) and a Signature
Version 4 signature of it. S3 refuses the upload unless the signature is the policy's, the
policy has not expired, every condition holds and every form field is named by a condition;
the refusals below use S3's status codes, error codes and messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

# Fields a policy need not name (AWS's "Creating a POST policy", conditions).
_UNCHECKED = {"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}


class PostRefused(Exception):
    """An upload S3 would refuse: status, S3 error code, message and extra elements."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def xml(self, request_id: str) -> bytes:
        extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.extra.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"{extra}<RequestId>{request_id}</RequestId></Error>"
        ).encode()


def _denied(message: str) -> PostRefused:
    return PostRefused(403, "AccessDenied", message)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature(secret_key: str, credential: str, policy: str) -> str:
    """The SigV4 signature of a POST policy for `credential` (key/date/region/service/request)."""
    _, date, region, service, terminal = credential.split("/")
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, terminal):
        key = _hmac(key, part)
    return hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()


def _signature_v2(secret_key: str, policy: str) -> str:
    return base64.b64encode(
        hmac.new(secret_key.encode(), policy.encode(), hashlib.sha1).digest()
    ).decode()


def _unknown_key(access_key: str) -> PostRefused:
    return PostRefused(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        AWSAccessKeyId=access_key,
    )


def _check_signature(fields: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    if "x-amz-signature" in fields:
        credential = fields.get("x-amz-credential", "")
        if credential.count("/") != 4:
            raise PostRefused(
                400, "AuthorizationQueryParametersError", "malformed x-amz-credential"
            )
        access_key, given = credential.split("/", 1)[0], fields["x-amz-signature"].lower()
        secret = secrets.get(access_key)
        if secret is None:
            raise _unknown_key(access_key)
        expected = signature(secret, credential, fields["policy"])
    elif "signature" in fields:
        # Signature Version 2, which S3 still takes for POST uploads.
        access_key, given = fields.get("awsaccesskeyid", ""), fields["signature"]
        secret = secrets.get(access_key)
        if secret is None:
            raise _unknown_key(access_key)
        expected = _signature_v2(secret, fields["policy"])
    else:
        raise _denied("Access Denied")
    if not hmac.compare_digest(expected, given):
        raise PostRefused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )


def _policy(encoded: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as e:
        raise PostRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from e
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions"), list):
        raise PostRefused(400, "InvalidPolicyDocument", "Invalid Policy: missing conditions.")
    return policy


def _check_expiry(policy: Mapping[str, Any], now: datetime) -> None:
    text = policy.get("expiration")
    try:
        expires = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as e:
        raise PostRefused(
            400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value."
        ) from e
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if now >= expires:
        raise _denied("Invalid according to Policy: Policy expired.")


def _failed(condition: Any) -> PostRefused:
    return _denied(f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


def _check_size(low: int, high: int, size: int) -> None:
    if size > high:
        raise PostRefused(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=str(size),
            MaxSizeAllowed=str(high),
        )
    if size < low:
        raise PostRefused(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            ProposedSize=str(size),
            MinSizeAllowed=str(low),
        )


def _check_match(op: str, name: str, value: Any, fields: Mapping[str, str]) -> None:
    actual = fields.get(name, "")
    matches = actual == value if op == "eq" else actual.startswith(str(value))
    if not matches:
        raise _failed([op, f"${name}", value])


def _check_condition(condition: Any, fields: Mapping[str, str], size: int) -> str | None:
    """Checks one condition; returns the field it names (None for content-length-range)."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        _check_match("eq", str(name).lower(), value, fields)
        return str(name).lower()
    if isinstance(condition, list) and len(condition) == 3:
        op, target, value = (str(condition[0]).lower(), condition[1], condition[2])
        if op == "content-length-range":
            _check_size(int(target), int(value), size)
            return None
        if op in {"eq", "starts-with"}:
            name = str(target).lstrip("$").lower()
            _check_match(op, name, value, fields)
            return name
    raise PostRefused(400, "InvalidPolicyDocument", f"Invalid Policy: bad condition {condition!r}")


def check_post(
    bucket: str,
    fields: Mapping[str, str],
    size: int,
    secrets: Mapping[str, str],
    now: datetime | None = None,
) -> None:
    """Raise PostRefused unless S3 would accept this upload of `size` bytes with these fields."""
    fields = {k.lower(): v for k, v in fields.items()}
    if "policy" not in fields:
        raise _denied("Access Denied")
    _check_signature(fields, secrets)
    policy = _policy(fields["policy"])
    _check_expiry(policy, now or datetime.now(UTC))
    named = {"bucket"}
    for condition in policy["conditions"]:
        name = _check_condition(condition, {**fields, "bucket": bucket}, size)
        if name is not None:
            named.add(name)
    extra = sorted(
        k for k in fields if k not in named | _UNCHECKED and not k.startswith("x-ignore-")
    )
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
