"""CloudFormation through boto3: artifacts to S3, a change set per deploy, the stack's outputs."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError, WaiterError

from deploy import APP_NAME
from deploy.template import Template, serverless_functions

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.literals import CapabilityType
    from mypy_boto3_cloudformation.type_defs import (
        ParameterTypeDef,
        TagTypeDef,
        WaiterConfigTypeDef,
    )
    from mypy_boto3_s3 import S3Client

# CloudFormation takes a template body up to this size inline; a larger one must be in S3.
MAX_INLINE_TEMPLATE: Final = 51_200
CAPABILITIES: Final[list[CapabilityType]] = [
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
]
_NO_CHANGES = "No updates are to be performed"
_ROLLED_BACK = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED"})


class DeployError(Exception):
    """A stack did not reach the state asked for; the message carries CloudFormation's reasons."""


@dataclass(frozen=True)
class Waiting:
    """How often and how long to poll CloudFormation (tests against moto need no delay)."""

    delay: int = 10
    attempts: int = 360


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_bucket_name(account: str, region: str) -> str:
    return f"{APP_NAME}-deploy-{account}-{region}"


def ensure_bucket(s3: S3Client, bucket: str, region: str) -> None:
    """The artifact bucket: created once, private and encrypted; old artifacts expire."""
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "old-artifacts",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": 90},
                }
            ]
        },
    )


def upload_code(
    s3: S3Client, template: Template, zip_path: Path, bucket: str, prefix: str
) -> Template:
    """What `aws cloudformation package` does for Chalice's one zip: upload it once under its
    hash, and point every function's CodeUri at it."""
    key = f"{prefix}/{sha256(zip_path)}.zip"
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.upload_file(str(zip_path), bucket, key)
    out: Template = json.loads(json.dumps(template))
    for function in serverless_functions(out).values():
        function["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
    return out


def _body(template: Template) -> str:
    return json.dumps(template, separators=(",", ":"))


def needs_bucket(template: Template) -> bool:
    """Whether the template is too large to send inline."""
    return len(_body(template).encode()) > MAX_INLINE_TEMPLATE


def _template_source(
    s3: S3Client, template: Template, bucket: str | None, prefix: str, region: str
) -> dict[str, str]:
    body = _body(template)
    if not needs_bucket(template):
        return {"TemplateBody": body}
    if bucket is None:
        raise DeployError(
            f"the template is over {MAX_INLINE_TEMPLATE} bytes: it needs an artifact bucket"
        )
    key = f"{prefix}/template-{hashlib.sha256(body.encode()).hexdigest()}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
    return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}


def stack_status(cfn: CloudFormationClient, name: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def _parameter_keys(cfn: CloudFormationClient, name: str) -> set[str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"] for p in stack.get("Parameters", [])}


def outputs(cfn: CloudFormationClient, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _failure_reasons(cfn: CloudFormationClient, name: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return ""
    failed = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("_FAILED")
    ]
    return "; ".join(failed[:10])


def _parameters(
    template: Template, given: Mapping[str, str], previous: set[str]
) -> list[ParameterTypeDef]:
    out: list[ParameterTypeDef] = []
    for key in template.get("Parameters", {}):
        if key in given:
            out.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif key in previous:
            # A value not given again keeps what the stack has (MailSender, capacity choices).
            out.append({"ParameterKey": key, "UsePreviousValue": True})
    unknown = set(given) - set(template.get("Parameters", {}))
    if unknown:
        raise DeployError(f"the template has no parameters {sorted(unknown)}")
    return out


def deploy_stack(
    cfn: CloudFormationClient,
    s3: S3Client,
    *,
    name: str,
    template: Template,
    parameters: Mapping[str, str],
    region: str,
    bucket: str | None = None,
    waiting: Waiting = Waiting(),
) -> dict[str, str]:
    """Create or update the stack and wait for it; returns its outputs. A template that changes
    nothing is not an error. (CreateStack and UpdateStack rather than a change set: with
    CAPABILITY_AUTO_EXPAND they take the SAM transform too, and moto reports their outputs.)"""
    config: WaiterConfigTypeDef = {"Delay": waiting.delay, "MaxAttempts": waiting.attempts}
    status = stack_status(cfn, name)
    if status in _ROLLED_BACK:
        # A stack whose creation rolled back cannot be updated and holds nothing: remove it.
        print(f"{name} is {status}: deleting it before creating it again", file=sys.stderr)
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=config)
        status = None
    source = _template_source(s3, template, bucket, f"templates/{name}", region)
    tags: list[TagTypeDef] = [{"Key": "app", "Value": APP_NAME}]
    try:
        if status is None:
            cfn.create_stack(
                StackName=name,
                Parameters=_parameters(template, parameters, set()),
                Capabilities=CAPABILITIES,
                Tags=tags,
                **source,  # type: ignore[arg-type]
            )
            print(f"{name}: creating", file=sys.stderr)
            cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=config)
        else:
            cfn.update_stack(
                StackName=name,
                Parameters=_parameters(template, parameters, _parameter_keys(cfn, name)),
                Capabilities=CAPABILITIES,
                Tags=tags,
                **source,  # type: ignore[arg-type]
            )
            print(f"{name}: updating", file=sys.stderr)
            cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=config)
    except ClientError as e:
        if _NO_CHANGES in str(e):
            print(f"{name}: no changes", file=sys.stderr)
            return outputs(cfn, name)
        raise DeployError(f"{name}: {e}") from e
    except WaiterError as e:
        raise DeployError(f"{name}: {_failure_reasons(cfn, name) or e}") from e
    return outputs(cfn, name)
