"""The functions' IAM policy: rendered per stage from infra/iam-policy.json, and checked.

`render(stage, sender)` fills the template; `.chalice/policy-<stage>.json` are its renders
(`python -m tools.iam render --stage prod --sender blog@example.com > .chalice/policy-prod.json`).
`required(...)` says which IAM action on which resource an AWS API call needs, and `allowed(...)`
evaluates a policy the way IAM does for identity policies with Allow statements: the test suite
records every call the app makes and proves each one is allowed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "iam-policy.json"

# Batch and transactional operations are authorised as the single-item action they contain.
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_DYNAMODB_TABLE_OPS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "DescribeTable",
}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# The WebSocket API's @connections operations, by the HTTP method IAM names in the resource.
_CONNECTION_METHODS = {
    "PostToConnection": "POST",
    "GetConnection": "GET",
    "DeleteConnection": "DELETE",
}
_S3_OBJECT_OPS = {
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "PutObject": "PutObject",
    "PutObjectTagging": "PutObjectTagging",
}


def render(stage: str, sender: str) -> dict[str, Any]:
    """The policy for one stage: ${Stage} and ${MailSender} filled in."""
    text = TEMPLATE.read_text().replace("${Stage}", stage).replace("${MailSender}", sender)
    policy: dict[str, Any] = json.loads(text)
    return policy


@dataclass(frozen=True)
class Need:
    """One IAM permission a call needs: an action on a resource, with condition context."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


class UnmappedCall(Exception):
    """A call this module does not know how to authorise: map it before the app makes it."""


def _table(region: str, account: str, name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _queue(region: str, account: str, url_or_name: str) -> str:
    name = urlsplit(url_or_name).path.rsplit("/", 1)[-1] if "/" in url_or_name else url_or_name
    return f"arn:aws:sqs:{region}:{account}:{name}"


def required(
    service: str, operation: str, params: dict[str, Any], *, region: str, account: str
) -> list[Need]:
    """The permissions one API call needs (botocore's service and operation names)."""
    if service == "dynamodb":
        return _dynamodb(operation, params, region, account)
    if service == "s3":
        return _s3(operation, params)
    if service == "sqs":
        action = _SQS_ACTIONS.get(operation, operation)
        target = params.get("QueueUrl") or params.get("QueueName", "")
        return [Need(f"sqs:{action}", _queue(region, account, target))]
    if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        source = str(params.get("Source", ""))
        address = source.rsplit("<", 1)[-1].rstrip(">").strip()
        return [
            Need(
                f"ses:{operation}",
                f"arn:aws:ses:{region}:{account}:identity/{address}",
                {"ses:FromAddress": address},
            )
        ]
    if service == "lambda" and operation == "Invoke":
        name = str(params["FunctionName"])
        arn = (
            name
            if name.startswith("arn:")
            else (f"arn:aws:lambda:{region}:{account}:function:{name}")
        )
        return [Need("lambda:InvokeFunction", arn)]
    return _by_name(service, operation, params, region, account)


def _by_name(
    service: str, operation: str, params: dict[str, Any], region: str, account: str
) -> list[Need]:
    """Calls whose resource is named by one parameter (or, for @connections, the endpoint)."""
    if service == "apigatewaymanagementapi" and operation in _CONNECTION_METHODS:
        return [_manage_connection(operation, params, region, account)]
    if service == "secretsmanager" and operation == "GetSecretValue":
        # The app names its secret by ARN (CURSOR_SECRET_ARN): the resource is that ARN.
        return [Need("secretsmanager:GetSecretValue", str(params["SecretId"]))]
    raise UnmappedCall(f"{service}:{operation}")


def _manage_connection(operation: str, params: dict[str, Any], region: str, account: str) -> Need:
    """@connections calls name the API and stage by their endpoint (https://ID.execute-api.../STAGE),
    which the recorder keeps as `Endpoint`."""
    endpoint = urlsplit(str(params["Endpoint"]))
    api_id = (endpoint.hostname or "").split(".", 1)[0]
    stage = endpoint.path.strip("/")
    method = _CONNECTION_METHODS[operation]
    resource = f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/@connections/"
    return Need("execute-api:ManageConnections", resource + str(params["ConnectionId"]))


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[Need]:
    if operation in _DYNAMODB_TABLE_OPS:
        resource = _table(region, account, params["TableName"], params.get("IndexName"))
        return [Need(f"dynamodb:{operation}", resource)]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [
            Need(f"dynamodb:{operation}", _table(region, account, name))
            for name in params["RequestItems"]
        ]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        needs = []
        for item in params["TransactItems"]:
            ((kind, spec),) = item.items()
            needs.append(
                Need(
                    f"dynamodb:{_TRANSACT_ACTIONS[kind]}",
                    _table(region, account, spec["TableName"]),
                )
            )
        return needs
    raise UnmappedCall(f"dynamodb:{operation}")


def _s3(operation: str, params: dict[str, Any]) -> list[Need]:
    bucket = params.get("Bucket", "")
    if operation in _S3_OBJECT_OPS:
        return [Need(f"s3:{_S3_OBJECT_OPS[operation]}", f"arn:aws:s3:::{bucket}/{params['Key']}")]
    if operation == "DeleteObject":
        return [Need("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{params['Key']}")]
    if operation == "DeleteObjects":
        return [
            Need("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{obj['Key']}")
            for obj in params["Delete"]["Objects"]
        ]
    if operation in ("ListObjects", "ListObjectsV2"):
        return [Need("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
    raise UnmappedCall(f"s3:{operation}")


def _listify(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            patterns = _listify(expected)
            if operator == "StringEquals" and actual not in patterns:
                return False
            if operator == "StringLike" and not any(fnmatchcase(actual, p) for p in patterns):
                return False
            if operator not in ("StringEquals", "StringLike"):
                # Unknown operators never grant: better a false alarm than a false pass.
                return False
    return True


def allowed(policy: dict[str, Any], need: Need) -> bool:
    """Whether an Allow statement grants the need (the policies here use no Deny)."""
    for statement in policy["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        actions = _listify(statement["Action"])
        if not any(fnmatchcase(need.action.lower(), a.lower()) for a in actions):
            continue
        if not any(fnmatchcase(need.resource, r) for r in _listify(statement["Resource"])):
            continue
        if _conditions_hold(statement.get("Condition", {}), need.context):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.iam", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("render", help="print a stage's policy")
    show.add_argument("--stage", required=True)
    show.add_argument("--sender", required=True, help="the SES sender address (MAIL_SENDER)")
    args = parser.parse_args(argv)
    json.dump(render(args.stage, args.sender), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
