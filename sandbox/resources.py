"""Creates AWS resources in moto from infra/resources.yaml, the file production deploys."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "resources.yaml"

_TABLE_KEYS = (
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
    "ProvisionedThroughput",
)


def load_template() -> dict[str, Any]:
    stat = TEMPLATE.stat()
    # A copy: callers may change what they get, the cache must not see it.
    return copy.deepcopy(_parse_template(stat.st_mtime_ns, stat.st_size))


@cache
def _parse_template(mtime_ns: int, size: int) -> dict[str, Any]:
    """Parsed once per version of the file: every test's fixtures read it several times."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=loader)  # noqa: S506 - safe loaders
    return data


ACCOUNT_ID = "123456789012"  # moto's default account


def resolve(value: Any, params: dict[str, str], refs: dict[str, str]) -> Any:
    """Resolve the intrinsics the template uses: Fn::Sub, Ref and Fn::GetAtt (as "Name.Attr")."""
    return _resolve(value, {"AWS::AccountId": ACCOUNT_ID, **params}, refs)


def _sub(arg: Any, params: dict[str, str], refs: dict[str, str]) -> str:
    text = str(arg)
    for name, replacement in {**params, **refs}.items():
        text = text.replace("${" + name + "}", replacement)
    return text


def _ref(arg: Any, params: dict[str, str], refs: dict[str, str]) -> str:
    return params.get(arg) or refs[arg]


def _get_att(arg: Any, params: dict[str, str], refs: dict[str, str]) -> str:
    return refs[".".join(arg)]


_INTRINSICS: dict[str, Callable[[Any, dict[str, str], dict[str, str]], str]] = {
    "Fn::Sub": _sub,
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
}


def _resolve(value: Any, params: dict[str, str], refs: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn in _INTRINSICS:
                return _INTRINSICS[fn](arg, params, refs)
        return {k: _resolve(v, params, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params, refs) for v in value]
    return value


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    template = load_template()
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def table_definitions(stage: str) -> dict[str, dict[str, Any]]:
    """create_table arguments per logical id, as the template declares them."""
    params = {"Stage": stage}
    out: dict[str, dict[str, Any]] = {}
    for name, res in resources_of("AWS::DynamoDB::Table").items():
        props = resolve(res["Properties"], params, {})
        out[name] = {k: props[k] for k in _TABLE_KEYS if k in props}
        if "StreamSpecification" in props:
            # CloudFormation enables a stream by naming its view type; the API wants both.
            out[name]["StreamSpecification"] = {
                "StreamEnabled": True,
                **props["StreamSpecification"],
            }
    return out


@dataclass(frozen=True)
class UserPool:
    id: str
    arn: str
    client_id: str


# Called with a table's or bucket's name once it exists, before it notifies anyone.
Fill = Callable[[str], None]


def _create_table(client: Any, args: dict[str, Any], fill: Fill | None) -> None:
    if fill is None:
        client.create_table(**args)
        return
    stream = args.get("StreamSpecification")
    client.create_table(**{k: v for k, v in args.items() if k != "StreamSpecification"})
    fill(args["TableName"])
    if stream is not None:
        client.update_table(TableName=args["TableName"], StreamSpecification=stream)


def create_tables(
    stage: str, session: boto3.Session | None = None, fill: Fill | None = None
) -> dict[str, str]:
    """Create every table of the template; returns logical id → table name.

    `fill` writes a table's saved items before its stream is enabled: restored items are not
    news, and must not send a welcome mail again.
    """
    client = (session or boto3.Session()).client("dynamodb")
    names: dict[str, str] = {}
    for name, args in table_definitions(stage).items():
        _create_table(client, args, fill)
        names[name] = args["TableName"]
    ttl_props = {
        name: res["Properties"].get("TimeToLiveSpecification")
        for name, res in resources_of("AWS::DynamoDB::Table").items()
    }
    for name, spec in ttl_props.items():
        if spec:
            client.update_time_to_live(TableName=names[name], TimeToLiveSpecification=spec)
    return names


def stream_arns(stage: str, session: boto3.Session | None = None) -> dict[str, str]:
    """The latest stream ARN of every template table that has a stream, by logical id."""
    client = (session or boto3.Session()).client("dynamodb")
    return {
        name: client.describe_table(TableName=args["TableName"])["Table"]["LatestStreamArn"]
        for name, args in table_definitions(stage).items()
        if args.get("StreamSpecification")
    }


def create_user_pool(stage: str, session: boto3.Session | None = None) -> UserPool:
    """Create the user pool, its app client and its groups as the template declares them."""
    client = (session or boto3.Session()).client("cognito-idp")
    params = {"Stage": stage}
    ((_, pool_res),) = resources_of("AWS::Cognito::UserPool").items()
    pool_props = resolve(pool_res["Properties"], params, {})
    pool = client.create_user_pool(
        PoolName=pool_props["UserPoolName"],
        UsernameAttributes=pool_props["UsernameAttributes"],
        AutoVerifiedAttributes=pool_props["AutoVerifiedAttributes"],
        Policies=pool_props["Policies"],
    )["UserPool"]
    refs = {"UserPool": pool["Id"]}
    ((_, client_res),) = resources_of("AWS::Cognito::UserPoolClient").items()
    client_props = resolve(client_res["Properties"], params, refs)
    app_client = client.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=client_props["ClientName"],
        GenerateSecret=client_props["GenerateSecret"],
        ExplicitAuthFlows=client_props["ExplicitAuthFlows"],
    )["UserPoolClient"]
    for group_res in resources_of("AWS::Cognito::UserPoolGroup").values():
        group_props = resolve(group_res["Properties"], params, refs)
        client.create_group(
            GroupName=group_props["GroupName"],
            UserPoolId=pool["Id"],
            Description=group_props.get("Description", ""),
        )
    return UserPool(id=pool["Id"], arn=pool["Arn"], client_id=app_client["ClientId"])


@dataclass(frozen=True)
class Media:
    bucket: str
    queue_url: str
    dead_letter_queue_url: str


def _queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    skip = {"QueueName", "RedrivePolicy", "Tags"}
    return {k: str(v) for k, v in props.items() if k not in skip}


def create_queues(
    stage: str, session: boto3.Session | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Create every queue of the template, with redrive; returns logical id → URL, and refs.

    Safe to call again: creating a queue that exists with the same attributes returns it.
    """
    sqs = (session or boto3.Session()).client("sqs")
    params = {"Stage": stage}
    refs: dict[str, str] = {}
    urls: dict[str, str] = {}
    queues = resources_of("AWS::SQS::Queue")
    for name, res in queues.items():
        plain = {k: v for k, v in res["Properties"].items() if k != "RedrivePolicy"}
        props = resolve(plain, params, {})
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=_queue_attributes(props))[
            "QueueUrl"
        ]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        urls[name] = url
        refs[name] = url
        refs[f"{name}.Arn"] = attrs["QueueArn"]
        refs[f"{name}.QueueName"] = props["QueueName"]
    for name, res in queues.items():
        redrive = res["Properties"].get("RedrivePolicy")
        if redrive:
            policy = resolve(redrive, params, refs)
            sqs.set_queue_attributes(
                QueueUrl=urls[name], Attributes={"RedrivePolicy": json.dumps(policy)}
            )
    return urls, refs


def create_media(
    stage: str, session: boto3.Session | None = None, fill: Fill | None = None
) -> Media:
    """Create the queues (with redrive) and the media bucket with its notification to the queue.

    `fill` writes the bucket's saved objects before the notification is set (no thumbnails again).
    """
    session = session or boto3.Session()
    s3 = session.client("s3")
    params = {"Stage": stage}
    urls, refs = create_queues(stage, session)
    ((_, bucket_res),) = resources_of("AWS::S3::Bucket").items()
    props = resolve(bucket_res["Properties"], params, refs)
    bucket = props["BucketName"]
    s3.create_bucket(Bucket=bucket)
    if fill is not None:
        fill(bucket)
    cors_rules: list[Any] = []
    for rule in props["CorsConfiguration"]["CorsRules"]:
        # CloudFormation names one field of a CORS rule differently from the S3 API.
        api_rule = {k: v for k, v in rule.items() if k != "MaxAge"}
        if "MaxAge" in rule:
            api_rule["MaxAgeSeconds"] = rule["MaxAge"]
        cors_rules.append(api_rule)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors_rules})
    notification: Any = {
        "QueueConfigurations": [
            {
                "QueueArn": q["Queue"],
                "Events": [q["Event"]],
                "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}},
            }
            for q in props["NotificationConfiguration"]["QueueConfigurations"]
        ]
    }
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notification)
    return Media(
        bucket=bucket,
        queue_url=urls["ThumbnailsQueue"],
        dead_letter_queue_url=urls["ThumbnailsDeadLetterQueue"],
    )


@dataclass(frozen=True)
class Mail:
    sender: str
    queue_url: str
    dead_letter_queue_url: str


def create_mail(stage: str, sender: str, session: boto3.Session | None = None) -> Mail:
    """The post-mail queue (with its dead-letter queue) and the verified SES sender identity."""
    session = session or boto3.Session()
    urls, _ = create_queues(stage, session)
    ((_, identity_res),) = resources_of("AWS::SES::EmailIdentity").items()
    identity = resolve(identity_res["Properties"], {"Stage": stage, "MailSender": sender}, {})
    # The template's EmailIdentity verifies by a confirmation mail; moto verifies at once.
    session.client("ses").verify_email_identity(EmailAddress=identity["EmailIdentity"])
    return Mail(
        sender=identity["EmailIdentity"],
        queue_url=urls["PostMailsQueue"],
        dead_letter_queue_url=urls["PostMailsDeadLetterQueue"],
    )
