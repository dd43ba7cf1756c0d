"""Lambda steps: the pre-warm after a deploy, event source settings after `chalice deploy`."""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from deploy import APP_NAME
from deploy.template import FUNCTIONS, load_yaml

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# The event source settings infra/functions.yaml gives the packaged stack; `chalice deploy`
# creates its event sources without them.
_SETTINGS: Final = (
    "FunctionResponseTypes",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ScalingConfig",
)


class FunctionError(Exception):
    """A function invocation or an event source update failed."""


def scheduled_event(region: str, *, account: str = "", rule: str | None = None) -> dict[str, Any]:
    """An EventBridge scheduled event as Lambda delivers it (the sandbox's pump sends these too)."""
    resources = [f"arn:aws:events:{region}:{account}:rule/{rule}"] if rule else []
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": {},
    }


def prewarm(client: LambdaClient, warmer: str, region: str) -> dict[str, Any]:
    """Run the warmer once now, rather than up to five minutes after the deploy: it invokes the
    API function WARM_CONCURRENCY times at once. Returns its report."""
    response = client.invoke(
        FunctionName=warmer,
        InvocationType="RequestResponse",
        Payload=json.dumps(scheduled_event(region)).encode(),
    )
    answer: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise FunctionError(f"{warmer} failed: {answer}")
    return answer


def _snake(logical_id: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", logical_id).lower()


def event_source_settings(outputs: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Handler name → update_event_source_mapping arguments, from infra/functions.yaml; the
    on-failure queue's ARN from the resources stack's `<queue>Arn` output."""
    settings: dict[str, dict[str, Any]] = {}
    for logical_id, resource in load_yaml(FUNCTIONS)["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            props = event.get("Properties", {})
            found = {key: props[key] for key in _SETTINGS if key in props}
            destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            if destination is not None:
                output = f"{destination['Fn::GetAtt'][0]}Arn"
                if output not in outputs:
                    raise FunctionError(f"the resources stack has no output {output}")
                found["DestinationConfig"] = {"OnFailure": {"Destination": outputs[output]}}
            if "FunctionResponseTypes" in found:
                settings[_snake(logical_id)] = found
    return settings


def tune_event_sources(
    client: LambdaClient,
    stage: str,
    outputs: Mapping[str, str],
    *,
    attempts: int = 10,
    delay: float = 3.0,
) -> list[str]:
    """Give the event sources `chalice deploy` created the packaged stack's failure settings.
    Returns the UUIDs updated."""
    updated: list[str] = []
    for handler, settings in event_source_settings(outputs).items():
        function = f"{APP_NAME}-{stage}-{handler}"
        mappings = client.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
        if not mappings:
            raise FunctionError(f"{function} has no event source: run `chalice deploy` first")
        for mapping in mappings:
            for attempt in range(attempts):
                try:
                    client.update_event_source_mapping(UUID=mapping["UUID"], **settings)
                    break
                except ClientError as e:
                    # A mapping Chalice just created is still "Creating" for a few seconds.
                    code = e.response.get("Error", {}).get("Code")
                    if code != "ResourceInUseException" or attempt == attempts - 1:
                        raise
                    print(f"{function}: event source busy, retrying", file=sys.stderr)
                    time.sleep(delay)
            updated.append(mapping["UUID"])
    return updated


def tune_logging(
    awslambda: LambdaClient, logs: Any, stage: str, handlers: list[str], *, level: str, days: int
) -> list[str]:
    """What the packaged stack sets and `chalice deploy` cannot: each function's JSON log format
    at the stage's level (deploy/monitoring.py) and its log group's retention. Returns the
    functions updated."""
    from deploy.monitoring import logging_config  # noqa: PLC0415

    updated: list[str] = []
    for handler in handlers:
        suffix = "" if handler == "api_handler" else f"-{handler}"
        name = f"{APP_NAME}-{stage}{suffix}"
        config: Any = logging_config(level)
        awslambda.update_function_configuration(FunctionName=name, LoggingConfig=config)
        group = f"/aws/lambda/{name}"
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)
        updated.append(name)
    return updated
