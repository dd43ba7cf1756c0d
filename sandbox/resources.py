"""Creates AWS resources in moto from infra/resources.yaml, the file production deploys."""

from __future__ import annotations

from dataclasses import dataclass
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
    data: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())
    return data


def resolve(value: Any, params: dict[str, str], refs: dict[str, str]) -> Any:
    """Resolve the few intrinsics the template uses: Fn::Sub of parameters, and Ref."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Fn::Sub":
            text = str(arg)
            for name, replacement in {**params, **refs}.items():
                text = text.replace("${" + name + "}", replacement)
            return text
        if fn == "Ref":
            return params.get(arg) or refs[arg]
    if isinstance(value, dict):
        return {k: resolve(v, params, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params, refs) for v in value]
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
    return out


@dataclass(frozen=True)
class UserPool:
    id: str
    arn: str
    client_id: str


def create_tables(stage: str, session: boto3.Session | None = None) -> dict[str, str]:
    """Create every table of the template; returns logical id → table name."""
    client = (session or boto3.Session()).client("dynamodb")
    names: dict[str, str] = {}
    for name, args in table_definitions(stage).items():
        client.create_table(**args)
        names[name] = args["TableName"]
    ttl_props = {
        name: res["Properties"].get("TimeToLiveSpecification")
        for name, res in resources_of("AWS::DynamoDB::Table").items()
    }
    for name, spec in ttl_props.items():
        if spec:
            client.update_time_to_live(TableName=names[name], TimeToLiveSpecification=spec)
    return names


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
