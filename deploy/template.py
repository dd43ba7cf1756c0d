"""The deployed templates: the resources stack, and the template merged into `chalice package`."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from deploy import APP_NAME, ROOT, monitoring

Template = dict[str, Any]

INFRA = ROOT / "infra"
RESOURCES = INFRA / "resources.yaml"
PRODUCTION = INFRA / "production.yaml"
FUNCTIONS = INFRA / "functions.yaml"

# The app's settings (chalicelib/core/config.py and the decorator arguments of app.py) and the
# resources stack output that gives each, for both deployment paths.
OUTPUT_FOR_VARIABLE: Final[Mapping[str, str]] = {
    "TODOS_TABLE_NAME": "TodosTableName",
    "TODOS_STREAM_ARN": "TodosStreamArn",
    "CONNECTIONS_TABLE_NAME": "ConnectionsTableName",
    "IDEMPOTENCY_TABLE_NAME": "IdempotencyTableName",
    "PHOTOS_TABLE_NAME": "PhotosTableName",
    "POSTS_TABLE_NAME": "PostsTableName",
    "SUBSCRIBERS_TABLE_NAME": "SubscribersTableName",
    "MAIL_DELIVERIES_TABLE_NAME": "MailDeliveriesTableName",
    "MEDIA_BUCKET_NAME": "MediaBucketName",
    "THUMBNAILS_QUEUE_NAME": "ThumbnailsQueueName",
    "POST_MAILS_QUEUE_NAME": "PostMailsQueueName",
    "POSTS_STREAM_ARN": "PostsStreamArn",
    "SUBSCRIBERS_STREAM_ARN": "SubscribersStreamArn",
    "MAIL_SENDER": "MailSender",
    "SITE_URL": "SiteUrl",
    "USER_POOL_ARN": "UserPoolArn",
    "USER_POOL_CLIENT_ID": "UserPoolClientId",
}
# The API function's alone: the secret that signs cursors, by its ARN (the function reads its
# value on first use); no other function can see it, and it is in no template or file.
API_OUTPUT_FOR_VARIABLE: Final[Mapping[str, str]] = {"CURSOR_SECRET_ARN": "CursorSecretArn"}
# Variables that come from the stage's config, not from a resource.
STAGE_VARIABLES: Final = frozenset(
    {
        "APP_STAGE",
        "API_FUNCTION_NAME",
        "WARM_CONCURRENCY",
        "CORS_ALLOW_ORIGIN",
        "LOG_LEVEL",
        "SIGN_UP_FLOOR_MS",
        # Empty: no minimum; a stage that must retire old apps sets one.
        "MIN_CLIENT_VERSION",
    }
)
# Variables the deploy works out from the API itself (the mail functions' one-click links).
API_VARIABLES: Final = frozenset({"API_URL"})

API_FUNCTION = "APIHandler"
API = "RestAPI"
PROVISIONED_CAPACITY = "ProvisionedCapacity"
API_PROVISIONED = "ApiProvisioned"
NO_VALUE: Final = {"Ref": "AWS::NoValue"}

# Public reads that API Gateway may cache: (path, method) → query parameters in the cache key.
# Every cache key also holds the path parameters and If-None-Match (a cached 304 must never
# answer a request that did not ask for it). Nothing else is cached: private routes vary by
# Authorization, which is not in any key.
CACHED_ROUTES: Final[Mapping[tuple[str, str], tuple[str, ...]]] = {
    ("/posts", "get"): ("limit", "cursor"),
    ("/posts/{slug}", "get"): (),
    ("/feed.xml", "get"): (),
}
CACHE_KEY_HEADERS: Final = ("If-None-Match",)
# Public routes that write (anyone may call them): throttled tighter than the API's default.
PUBLIC_POSTS: Final = (
    "/subscriptions",
    "/subscriptions/confirm",
    "/subscriptions/unsubscribe",
)
_LOCATION = {"path": "path", "query": "querystring", "header": "header"}

API_URI: Final = {
    "Fn::Sub": [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${Target}/invocations",
        {
            "Target": {
                "Fn::If": [
                    API_PROVISIONED,
                    {"Ref": f"{API_FUNCTION}.Alias"},
                    {"Fn::GetAtt": [API_FUNCTION, "Arn"]},
                ]
            }
        },
    ]
}


def load_yaml(path: Path) -> Template:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data


def deep_merge(base: Any, overlay: Any) -> Any:
    """Chalice's merge rule: mappings merge key by key; anywhere else the overlay wins."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = copy.deepcopy(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(overlay)


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def _if_provisioned(then: Any, otherwise: Any) -> dict[str, Any]:
    return {"Fn::If": [PROVISIONED_CAPACITY, then, otherwise]}


def _throughput() -> dict[str, Any]:
    units = {"ReadCapacityUnits": {"Ref": "ReadCapacityMin"}}
    units["WriteCapacityUnits"] = {"Ref": "WriteCapacityMin"}
    return _if_provisioned(units, NO_VALUE)


def _autoscaling(prefix: str, resource_id: Any, kind: str) -> Template:
    """A ScalableTarget and a target-tracking policy, read and write, for a table or an index."""
    out: Template = {}
    for unit in ("Read", "Write"):
        target = f"{prefix}{unit}ScalableTarget"
        out[target] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Condition": PROVISIONED_CAPACITY,
            "Properties": {
                "ServiceNamespace": "dynamodb",
                "ResourceId": resource_id,
                "ScalableDimension": f"dynamodb:{kind}:{unit}CapacityUnits",
                "MinCapacity": {"Ref": f"{unit}CapacityMin"},
                "MaxCapacity": {"Ref": f"{unit}CapacityMax"},
            },
        }
        out[f"{prefix}{unit}ScalingPolicy"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Condition": PROVISIONED_CAPACITY,
            "Properties": {
                "PolicyName": f"{prefix}{unit}Utilization",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": target},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": {"Ref": "CapacityTargetUtilization"},
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": f"DynamoDB{unit}CapacityUtilization"
                    },
                },
            },
        }
    return out


def with_table_capacity(template: Template) -> Template:
    """Every table on demand, or provisioned with autoscaling, by the ProvisionedCapacity
    condition: written once here rather than by hand for each table and global index."""
    out = copy.deepcopy(template)
    resources: Template = out["Resources"]
    added: Template = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        props["BillingMode"] = _if_provisioned("PROVISIONED", "PAY_PER_REQUEST")
        props["ProvisionedThroughput"] = _throughput()
        table_id = {"Fn::Sub": f"table/${{{logical_id}}}"}
        added |= _autoscaling(logical_id, table_id, "table")
        for index in props.get("GlobalSecondaryIndexes", []):
            index["ProvisionedThroughput"] = _throughput()
            index_id = {"Fn::Sub": f"table/${{{logical_id}}}/index/{index['IndexName']}"}
            added |= _autoscaling(logical_id + _pascal(index["IndexName"]), index_id, "index")
    clash = set(added) & set(resources)
    if clash:
        raise ValueError(f"generated logical ids already in the template: {sorted(clash)}")
    resources.update(added)
    return out


def resources_template() -> Template:
    """resources.yaml with production.yaml merged in and table capacity applied: the resources
    stack of `make resources`, and the resource half of the packaged stack."""
    merged: Template = deep_merge(load_yaml(RESOURCES), load_yaml(PRODUCTION))
    return with_table_capacity(merged)


def function_name(handler: str) -> str:
    """The name `chalice deploy` would give: one IAM policy fits both deployment paths."""
    return f"{APP_NAME}-${{Stage}}" if handler == "app" else f"{APP_NAME}-${{Stage}}-{handler}"


def function_environment(template: Template, handler: str) -> dict[str, Any]:
    """Each resource variable as its output's value (the API's own ones for the API only)."""
    outputs = template["Outputs"]
    wanted = {**OUTPUT_FOR_VARIABLE, **(API_OUTPUT_FOR_VARIABLE if handler == "app" else {})}
    env: dict[str, Any] = {
        name: copy.deepcopy(outputs[output]["Value"]) for name, output in wanted.items()
    }
    env["API_FUNCTION_NAME"] = {"Fn::Sub": function_name("app")}
    env["API_URL"] = _api_url(handler)
    return env


def serverless_functions(template: Template) -> dict[str, Template]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def handler_name(function: Template) -> str:
    """`app.make_thumbnails` → `make_thumbnails`; the API function's handler is `app.app`."""
    return str(function["Properties"]["Handler"]).rsplit(".", 1)[-1]


def _method_settings() -> list[dict[str, Any]]:
    throttling = {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    settings: list[dict[str, Any]] = [
        {"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": False, **throttling}
    ]
    for path, method in CACHED_ROUTES:
        settings.append(
            {
                # Method settings name a path with its slashes written ~1.
                "ResourcePath": "/" + path.replace("/", "~1"),
                "HttpMethod": method.upper(),
                "CachingEnabled": True,
                "CacheTtlInSeconds": {"Ref": "ApiCacheTtl"},
                **throttling,
            }
        )
    public_posts = {
        "ThrottlingBurstLimit": {"Ref": "PublicPostThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "PublicPostThrottlingRateLimit"},
    }
    for path in PUBLIC_POSTS:
        settings.append(
            {
                "ResourcePath": "/" + path.replace("/", "~1"),
                "HttpMethod": "POST",
                "CachingEnabled": False,
                **public_posts,
            }
        )
    return settings


def _api_url(handler: str) -> Any:
    """The API's URL for the mail functions' one-click unsubscribe links. The API function
    needs none, and could not have it: its URL depends on the function (a cycle)."""
    if handler == "app":
        return NO_VALUE
    return {"Fn::Sub": f"https://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/api"}


def api_patch(chalice_template: Template) -> Template:
    """Integration targets, cache keys and method settings for every route Chalice generated."""
    body = chalice_template["Resources"][API]["Properties"]["DefinitionBody"]
    missing = [route for route in CACHED_ROUTES if route[1] not in body["paths"].get(route[0], {})]
    if missing:
        raise ValueError(f"cached routes the app does not have: {missing}")
    paths: Template = {}
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            integration = operation.get("x-amazon-apigateway-integration", {})
            if integration.get("type") != "aws_proxy":
                continue  # CORS preflights: mock integrations, no function behind them
            patch: Template = {"uri": copy.deepcopy(API_URI)}
            op_patch: Template = {"x-amazon-apigateway-integration": patch}
            if (path, method) in CACHED_ROUTES:
                parameters = [*operation.get("parameters", [])]
                parameters += [
                    {"name": name, "in": "query", "required": False, "type": "string"}
                    for name in CACHED_ROUTES[path, method]
                ]
                parameters += [
                    {"name": name, "in": "header", "required": False, "type": "string"}
                    for name in CACHE_KEY_HEADERS
                ]
                keys = [f"method.request.{_LOCATION[p['in']]}.{p['name']}" for p in parameters]
                op_patch["parameters"] = parameters
                patch["cacheKeyParameters"] = keys
                patch["requestParameters"] = {
                    key.replace("method.", "integration.", 1): key for key in keys
                }
            paths.setdefault(path, {})[method] = op_patch
    return {
        "Properties": {"MethodSettings": _method_settings(), "DefinitionBody": {"paths": paths}}
    }


_ALLOW_ORIGIN = "gatewayresponse.header.Access-Control-Allow-Origin"


def with_allowed_origin(template: Template, origin: str) -> Template:
    """API Gateway's own errors allow the stage's CORS origin, as the app's responses do."""
    body = template["Resources"][API]["Properties"]["DefinitionBody"]
    for response in body.get("x-amazon-apigateway-gateway-responses", {}).values():
        parameters = dict(response.get("responseParameters", {}))
        if _ALLOW_ORIGIN in parameters:
            # A header value in a gateway response is a quoted literal.
            parameters[_ALLOW_ORIGIN] = f"'{origin}'"
            response["responseParameters"] = parameters
    return template


# Chalice names the WebSocket handlers' functions after their route, not their handler (as
# `chalice deploy` does: mytodolist-dev-websocket_connect); CALL_BUDGETS knows them so.
WEBSOCKET_FUNCTIONS: Final[Mapping[str, str]] = {
    "WebsocketConnect": "websocket_connect",
    "WebsocketMessage": "websocket_message",
    "WebsocketDisconnect": "websocket_disconnect",
}
MANAGE_CONNECTIONS_SID: Final = "PokesToTheWebSocketApi"


def websocket_policy_patch(chalice_template: Template) -> dict[str, Template]:
    """infra/iam-policy.json allows @connections on any WebSocket API's `api` stage: `chalice
    deploy` learns the API's id only once it has made it. The packaged stack knows it: there the
    statement names this stack's WebSocket API alone."""
    patches: dict[str, Template] = {}
    for logical_id, resource in chalice_template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        policies = copy.deepcopy(resource["Properties"].get("Policies", []))
        statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
        for statement in statements:
            if statement.get("Sid") == MANAGE_CONNECTIONS_SID:
                statement["Resource"] = {
                    "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                    "${AWS::AccountId}:${WebsocketAPI}/api/POST/@connections/*"
                }
                patches[logical_id] = {"Properties": {"Policies": policies}}
    return patches


def merge_template(
    stage: str, chalice_template: Template, stage_env: Mapping[str, str]
) -> Template:
    """The file for `chalice package --merge-template`: the resources, infra/functions.yaml, and
    what is computed from Chalice's own template for this stage, in one stack."""
    template: Template = deep_merge(resources_template(), load_yaml(FUNCTIONS))
    template["Description"] = f"{APP_NAME} {stage}: functions, API, and every resource they use"
    resources = template["Resources"]
    functions: dict[str, str] = {}
    streams: set[str] = set()
    level = stage_env.get("LOG_LEVEL") or "INFO"
    for logical_id, function in serverless_functions(chalice_template).items():
        handler = WEBSOCKET_FUNCTIONS.get(logical_id) or handler_name(function)
        name = function_name(handler)
        functions["api_handler" if handler == "app" else handler] = name
        events = function["Properties"].get("Events", {}).values()
        if any(event["Type"] == "DynamoDB" for event in events):
            streams.add(handler)
        log_group = f"{logical_id}LogGroup"
        resources[log_group] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/{name}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        patch = {
            "DependsOn": [log_group],
            "Properties": {
                "FunctionName": {"Fn::Sub": name},
                "Environment": {"Variables": function_environment(template, handler)},
                "LoggingConfig": monitoring.logging_config(level),
            },
        }
        resources[logical_id] = deep_merge(resources.get(logical_id, {}), patch)
    resources[API] = deep_merge(resources.get(API, {}), api_patch(chalice_template))
    for logical_id, patch in websocket_policy_patch(chalice_template).items():
        resources[logical_id] = deep_merge(resources.get(logical_id, {}), patch)
    added = monitoring.alarms(resources, functions, streams)
    added["Dashboard"] = monitoring.dashboard(resources, functions, streams)
    clash = set(added) & set(resources)
    if clash:
        raise ValueError(f"generated logical ids already in the template: {sorted(clash)}")
    resources.update(added)
    parameters = template["Parameters"]
    # The package is built for one stage: its IAM policy and names say so.
    parameters["Stage"] = {**parameters["Stage"], "Default": stage, "AllowedValues": [stage]}
    warm = int(stage_env.get("WARM_CONCURRENCY", "0") or "0")
    parameters["WarmerSchedule"]["Default"] = "ENABLED" if warm > 0 else "DISABLED"
    return with_allowed_origin(template, stage_env.get("CORS_ALLOW_ORIGIN", "*"))


def write_json(template: Template, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(template, indent=2) + "\n")
    return path
