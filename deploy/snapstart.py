"""Lambda SnapStart in the packaged stack: the stage setting, the API and thumbnail functions'
`live` alias, every caller pointed at that alias, and the check that nothing calls around it.

SnapStart applies to published versions only. A caller of the unqualified function runs
`$LATEST`, which has no snapshot: it works, pays the full cold start, and nothing says so. Chalice
has no setting for SnapStart and its Swagger and permission name the unqualified function, so the
package rewrites them here and `invocation_problems` refuses any invoke target left unqualified.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from deploy import APP_NAME, ROOT
from deploy.template import (
    API,
    API_FUNCTION,
    NO_VALUE,
    Template,
    handler_name,
    serverless_functions,
)

CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
ALIAS: Final = "live"
# By handler name: the API (app.app) and the thumbnail worker. The stream and mail functions
# run in the background, where a cold start costs nobody a wait.
HANDLERS: Final = ("app", "make_thumbnails")
SETTING: Final = "snapstart"
WARMER: Final = "WarmApi"
# Chalice's permission for API Gateway; functions.yaml's second one, for the alias under
# provisioned concurrency, is redundant once the first names the alias.
API_PERMISSION: Final = "APIHandlerInvokePermission"
ALIAS_PERMISSION: Final = "APIHandlerAliasInvokePermission"
# What SnapStart excludes (provisioned concurrency) and what exists only to work around cold
# starts without it (the warmer's schedule).
DROPPED_PARAMETERS: Final = ("ApiProvisionedConcurrency", "WarmerSchedule")
DROPPED_CONDITIONS: Final = ("ApiProvisioned", "WarmerOn")
MAX_EPHEMERAL_MB: Final = 512
EVENT_SOURCE_KINDS: Final = frozenset({"SQS", "DynamoDB", "Kinesis", "MQ", "MSK", "DocumentDB"})


def enabled(stage: str, config_file: Path = CHALICE_CONFIG) -> bool:
    """The stage's `snapstart` setting in .chalice/config.json (absent: off)."""
    stages = json.loads(config_file.read_text()).get("stages", {})
    if stage not in stages:
        raise SystemExit(f"no stage {stage!r} in {config_file}")
    value = stages[stage].get(SETTING, False)
    if not isinstance(value, bool):
        raise SystemExit(f"{config_file}: stages.{stage}.{SETTING} must be true or false")
    return value


def alias_of(logical_id: str) -> dict[str, str]:
    """SAM's reference to the alias AutoPublishAlias makes (its ARN, version included)."""
    return {"Ref": f"{logical_id}.Alias"}


def alias_name(handler: str) -> dict[str, str]:
    """The qualified name lambda:Invoke takes, `<function>:live`."""
    name = APP_NAME + "-${Stage}" + ("" if handler == "app" else f"-{handler}")
    return {"Fn::Sub": f"{name}:{ALIAS}"}


def api_uri(target: Any) -> Template:
    return {
        "Fn::Sub": [
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            "${Target}/invocations",
            {"Target": target},
        ]
    }


def snapstart_functions(chalice_template: Template) -> list[str]:
    """The logical ids of the functions that get SnapStart, as Chalice named them."""
    return sorted(
        logical_id
        for logical_id, function in serverless_functions(chalice_template).items()
        if handler_name(function) in HANDLERS
    )


def _function_patch() -> Template:
    return {
        "SnapStart": {"ApplyOn": "PublishedVersions"},
        "AutoPublishAlias": ALIAS,
        # A new version (and snapshot) for any change, not only code and environment: callers
        # see the alias alone, so a changed timeout or log level must be published to count.
        "AutoPublishAliasAllProperties": True,
        # An old version keeps its snapshot cached, and billed, until Lambda retires it; nothing
        # calls it once the alias has moved.
        "VersionDeletionPolicy": "Delete",
    }


def apply(merge: Template, chalice_template: Template) -> Template:
    """The merge template with SnapStart on the API and thumbnail functions, and every caller
    of theirs (API Gateway's integrations and permission, their event sources through SAM, the
    warmer's target) on the `live` alias. Provisioned concurrency and the warmer's schedule go:
    SnapStart excludes the first and replaces the second."""
    out = copy.deepcopy(merge)
    resources: Template = out["Resources"]
    for logical_id in snapstart_functions(chalice_template):
        function = resources.setdefault(logical_id, {})
        properties = function.setdefault("Properties", {})
        properties.pop("ProvisionedConcurrencyConfig", None)
        properties.update(_function_patch())
    if API_FUNCTION in resources:
        resources.pop(ALIAS_PERMISSION, None)
        resources[API_PERMISSION] = {"Properties": {"FunctionName": alias_of(API_FUNCTION)}}
        paths = resources[API]["Properties"]["DefinitionBody"]["paths"]
        for operations in paths.values():
            for operation in operations.values():
                integration = operation["x-amazon-apigateway-integration"]
                integration["uri"] = api_uri(alias_of(API_FUNCTION))
    warmer = resources.get(WARMER, {}).get("Properties", {})
    for event in warmer.get("Events", {}).values():
        event["Properties"]["State"] = "DISABLED"
    for resource in resources.values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if "API_FUNCTION_NAME" in variables:
            # The warmer's target: off here, and if run by hand it restores from the snapshot.
            variables["API_FUNCTION_NAME"] = alias_name("app")
    for name in DROPPED_PARAMETERS:
        out.get("Parameters", {}).pop(name, None)
    for name in DROPPED_CONDITIONS:
        out.get("Conditions", {}).pop(name, None)
    return out


# -- the check: nothing invokes a SnapStart function around its alias --------------------------


def _sub_names(text: str) -> list[str]:
    return re.findall(r"\$\{(?!!)([^}]+)\}", text)


def _refers(value: dict[str, Any], logical_id: str) -> bool:
    """`Ref`, `Fn::GetAtt` or `Fn::Sub` of the logical id itself (not of its `.Alias`)."""
    attribute = value.get("Fn::GetAtt")
    if isinstance(attribute, str):
        attribute = attribute.split(".", 1)
    sub = value.get("Fn::Sub")
    text = sub[0] if isinstance(sub, list) and sub else sub
    subbed = set(_sub_names(text)) if isinstance(text, str) else set()
    return (
        value.get("Ref") == logical_id
        or (isinstance(attribute, list) and attribute[:1] == [logical_id])
        or bool({logical_id, f"{logical_id}.Arn"} & subbed)
    )


def _mentions(value: Any, logical_id: str, name: str) -> bool:
    """Whether a value can resolve to the unqualified function: a reference to its logical id
    or its name without a `:qualifier`, anywhere inside (every branch of an `Fn::If`)."""
    if isinstance(value, list):
        return any(_mentions(item, logical_id, name) for item in value)
    if isinstance(value, str):
        return re.search(re.escape(name) + r"(?![-\w:])", value) is not None
    return isinstance(value, dict) and (
        _refers(value, logical_id)
        or any(_mentions(item, logical_id, name) for item in value.values())
    )


# Where each resource type names what it invokes (a function invoking another by name, the
# warmer, has it in its environment).
_TARGETS: Final = {
    "AWS::Lambda::Permission": "FunctionName",
    "AWS::Lambda::EventSourceMapping": "FunctionName",
    "AWS::Events::Rule": "Targets",
    "AWS::Scheduler::Schedule": "Target",
    "AWS::SNS::Subscription": "Endpoint",
    "AWS::S3::Bucket": "NotificationConfiguration",
    "AWS::ApiGateway::Method": "Integration",
    "AWS::ApiGatewayV2::Integration": "IntegrationUri",
    "AWS::Serverless::Function": "Environment",
    "AWS::Lambda::Function": "Environment",
}


def _integration_uris(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "x-amazon-apigateway-integration" and isinstance(item, dict):
                yield f"{where} integration", item.get("uri")
            else:
                yield from _integration_uris(item, where)
    elif isinstance(value, list):
        for item in value:
            yield from _integration_uris(item, where)


def _invoke_targets(template: Template) -> Iterator[tuple[str, Any]]:
    """(where, value) for every place that names a function to invoke."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        key = _TARGETS.get(resource.get("Type", ""))
        if key is not None and key in props:
            yield f"{logical_id}.{key}", props[key]
        if "DefinitionBody" in props:
            yield from _integration_uris(props["DefinitionBody"], logical_id)


def _is_on(function: Template) -> bool:
    snapstart = function.get("Properties", {}).get("SnapStart", {})
    return isinstance(snapstart, dict) and snapstart.get("ApplyOn") == "PublishedVersions"


def _names(function: Template) -> list[str]:
    name = function.get("Properties", {}).get("FunctionName")
    if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str):
        return [name["Fn::Sub"]]
    return [name] if isinstance(name, str) else []


def _limits(logical_id: str, function: Template) -> Iterable[str]:
    """What SnapStart cannot be combined with, and SAM's wiring of events to the alias."""
    props = function.get("Properties", {})
    if function.get("Type") == "AWS::Serverless::Function" and not props.get("AutoPublishAlias"):
        yield f"{logical_id}: SnapStart without AutoPublishAlias: no version, no snapshot"
    if props.get("ProvisionedConcurrencyConfig") not in (None, NO_VALUE):
        yield f"{logical_id}: SnapStart cannot be combined with provisioned concurrency"
    if props.get("FileSystemConfigs"):
        yield f"{logical_id}: SnapStart cannot be combined with Amazon EFS"
    size = props.get("EphemeralStorage", {}).get("Size", MAX_EPHEMERAL_MB)
    if not isinstance(size, int) or size > MAX_EPHEMERAL_MB:
        yield f"{logical_id}: SnapStart needs ephemeral storage of at most {MAX_EPHEMERAL_MB} MB"


def invocation_problems(template: Template) -> list[str]:
    """Every way a SnapStart function could be invoked other than through an alias, in a SAM
    template or in the CloudFormation SAM makes of it; an empty list when there is none."""
    found: list[str] = []
    functions = {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") in {"AWS::Serverless::Function", "AWS::Lambda::Function"}
        and _is_on(resource)
    }
    targets = list(_invoke_targets(template))
    for logical_id, function in sorted(functions.items()):
        found += _limits(logical_id, function)
        names = _names(function) or [f"\0{logical_id}"]
        for where, value in targets:
            if any(_mentions(value, logical_id, name) for name in names):
                found.append(f"{where} invokes {logical_id} unqualified, around SnapStart")
    return found
