"""Checks of a package before it ships: sizes, environment size, event wiring, cfn-lint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from chalicelib.core.config import PLACEHOLDER
from deploy import snapstart
from deploy.package import Package
from deploy.template import (
    API,
    API_FUNCTION,
    API_OUTPUT_FOR_VARIABLE,
    OUTPUT_FOR_VARIABLE,
    STAGE_VARIABLES,
    Template,
    serverless_functions,
)

MAX_ZIP_BYTES: Final = 30 * 1000 * 1000
MAX_UNZIPPED_BYTES: Final = 80 * 1000 * 1000
# Lambda's limit on a function's environment: every key and value together.
MAX_ENVIRONMENT_BYTES: Final = 4 * 1024

# Worst cases for what CloudFormation fills in, for the environment size estimate.
_PSEUDO: Final = {
    "AWS::Region": "ap-southeast-5",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": "x" * 128,
}
_NAME_PROPERTIES: Final = ("TableName", "QueueName", "BucketName", "FunctionName", "Name")
_STREAM_SUFFIX: Final = "/stream/2026-01-01T00:00:00.000"
_UNKNOWN: Final = 256


def zip_sizes(path: Path) -> tuple[int, int]:
    """Bytes of the zip file, and of its contents unzipped."""
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return path.stat().st_size, unzipped


def _sub_parts(text: str) -> list[str]:
    return re.findall(r"\$\{(?!!)([^}]+)\}", text)


class _Estimator:
    """The longest a value can be once CloudFormation resolves it (intrinsics included)."""

    def __init__(self, template: Template) -> None:
        self._template = template

    def length(self, value: Any) -> int:  # noqa: PLR0911 - one return per intrinsic
        if isinstance(value, str):
            return len(value.encode())
        if isinstance(value, (int, float, bool)):
            return len(json.dumps(value))
        if not (isinstance(value, dict) and len(value) == 1):
            return _UNKNOWN
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._ref(str(argument))
        if function == "Fn::GetAtt":
            return self._attribute(str(argument[0]), str(argument[1]))
        if function == "Fn::Sub":
            return self._sub(argument)
        if function == "Fn::If":
            return max(self.length(argument[1]), self.length(argument[2]))
        if function == "Fn::Join":
            separator, items = argument
            return sum(self.length(i) for i in items) + len(separator) * max(len(items) - 1, 0)
        return _UNKNOWN

    def _ref(self, name: str) -> int:
        if name in _PSEUDO:
            return len(_PSEUDO[name])
        parameter = self._template.get("Parameters", {}).get(name)
        if parameter is not None:
            choices = [str(v) for v in parameter.get("AllowedValues", [])]
            return max((len(c) for c in choices), default=64)
        return self._physical_name(name)

    def _physical_name(self, logical_id: str) -> int:
        resource = self._template["Resources"].get(logical_id)
        if resource is None:
            return _UNKNOWN
        props = resource.get("Properties", {})
        for key in _NAME_PROPERTIES:
            if key in props:
                return self.length(props[key])
        if resource["Type"] == "AWS::SecretsManager::Secret":
            return self._arn("secretsmanager", 64)
        return 128

    def _arn(self, service: str, name_length: int) -> int:
        prefix = f"arn:{_PSEUDO['AWS::Partition']}:{service}:{_PSEUDO['AWS::Region']}:"
        return len(prefix) + len(_PSEUDO["AWS::AccountId"]) + 1 + 16 + name_length

    def _attribute(self, logical_id: str, attribute: str) -> int:
        name = self._physical_name(logical_id)
        if attribute == "StreamArn":
            return self._arn("dynamodb", len("table/") + name + len(_STREAM_SUFFIX))
        if attribute == "Arn":
            return self._arn("service", name)
        if attribute in {"QueueName", "Name"}:
            return name
        if attribute == "DomainName":
            return len("d111111abcdef8.cloudfront.net")
        return _UNKNOWN

    def _sub(self, argument: Any) -> int:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        total = len(re.sub(r"\$\{(?!!)[^}]+\}", "", text).encode())
        for part in _sub_parts(text):
            if part in variables:
                total += self.length(variables[part])
            elif "." in part and part not in _PSEUDO:
                logical_id, attribute = part.split(".", 1)
                total += self._attribute(logical_id, attribute)
            else:
                total += self._ref(part)
        return total


def environment_bytes(template: Template, variables: dict[str, Any]) -> int:
    estimate = _Estimator(template)
    return sum(len(k.encode()) + estimate.length(v) for k, v in variables.items())


def _ref_target(value: Any) -> str | None:
    """The logical id an ARN value points at: Fn::GetAtt [X, ...] or Fn::Sub "${X.Arn}"."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        parts = _sub_parts(value["Fn::Sub"])
        if len(parts) == 1 and parts[0].endswith(".Arn"):
            return parts[0].removesuffix(".Arn")
    return None


def _event_problems(template: Template, where: str, event: Template) -> Iterable[str]:
    resources = template["Resources"]

    def kind(logical_id: str | None) -> str | None:
        return resources.get(logical_id, {}).get("Type") if logical_id else None

    props = event.get("Properties", {})
    reports = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
    if event["Type"] in {"SQS", "DynamoDB"} and not reports:
        yield f"{where}: no ReportBatchItemFailures"
    if event["Type"] == "SQS" and kind(_ref_target(props.get("Queue"))) != "AWS::SQS::Queue":
        yield f"{where}: the queue is not one of the stack's queues"
    if event["Type"] == "DynamoDB":
        stream = props.get("Stream")
        is_stream = isinstance(stream, dict) and stream.get("Fn::GetAtt", [None, None])[1]
        if kind(_ref_target(stream)) != "AWS::DynamoDB::Table" or is_stream != "StreamArn":
            yield f"{where}: the stream is not Fn::GetAtt of one of the stack's tables"
        for setting in (
            "BisectBatchOnFunctionError",
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
        ):
            if setting not in props:
                yield f"{where}: no {setting}"
        destination = props.get("DestinationConfig", {}).get("OnFailure", {})
        if kind(_ref_target(destination.get("Destination"))) != "AWS::SQS::Queue":
            yield f"{where}: no on-failure queue"
    if event["Type"] == "Schedule" and "State" not in props:
        yield f"{where}: the schedule's state is not set per stage"


def _wiring_problems(template: Template) -> Iterable[str]:
    for logical_id, function in serverless_functions(template).items():
        for event_id, event in function["Properties"].get("Events", {}).items():
            yield from _event_problems(template, f"{logical_id}.{event_id}", event)
    body = template["Resources"][API]["Properties"]["DefinitionBody"]
    for name, scheme in body.get("securityDefinitions", {}).items():
        authorizer = scheme.get("x-amazon-apigateway-authorizer", {})
        if authorizer.get("type") == "cognito_user_pools":
            arns = authorizer.get("providerARNs")
            if arns != [{"Fn::GetAtt": ["UserPool", "Arn"]}]:
                yield f"authorizer {name}: providerARNs is {arns}, not the stack's user pool"


def _environment_problems(template: Template) -> Iterable[str]:
    shared = set(OUTPUT_FOR_VARIABLE) | STAGE_VARIABLES
    for logical_id, function in serverless_functions(template).items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        own = set(API_OUTPUT_FOR_VARIABLE) if logical_id == API_FUNCTION else set()
        for name in sorted((shared | own) - set(variables)):
            yield f"{logical_id}: no {name} in its environment"
        for name in sorted((set(API_OUTPUT_FOR_VARIABLE) - own) & set(variables)):
            yield f"{logical_id}: {name} belongs to the API function alone"
        for name, value in variables.items():
            if PLACEHOLDER in json.dumps(value):
                yield f"{logical_id}: {name} is still a placeholder"
        size = environment_bytes(template, variables)
        if size > MAX_ENVIRONMENT_BYTES:
            yield f"{logical_id}: environment up to {size} bytes, over {MAX_ENVIRONMENT_BYTES}"


def problems(package: Package) -> list[str]:
    """Everything wrong with a package; an empty list when it may ship."""
    found: list[str] = []
    zipped, unzipped = zip_sizes(package.zip_path)
    if zipped > MAX_ZIP_BYTES:
        found.append(f"{package.zip_path}: {zipped} bytes zipped, over {MAX_ZIP_BYTES}")
    if unzipped > MAX_UNZIPPED_BYTES:
        found.append(f"{package.zip_path}: {unzipped} bytes unzipped, over {MAX_UNZIPPED_BYTES}")
    template = package.template()
    found += _wiring_problems(template)
    found += _environment_problems(template)
    found += snapstart.invocation_problems(template)
    return found


def cfn_lint(*templates: Path) -> list[str]:
    """cfn-lint's findings (errors, warnings, informational) on the given templates."""
    cfn_lint_bin = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(  # noqa: S603 - our own venv's cfn-lint on our own files
        [str(cfn_lint_bin), "--format", "parseable", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit bits 2, 4 and 8 say errors, warnings and notes were found; anything else is a crash.
    if result.returncode & ~0b1110 or (result.returncode and not result.stdout.strip()):
        raise RuntimeError(f"cfn-lint failed to run: {result.stderr or result.stdout}")
    return [line for line in result.stdout.splitlines() if line.strip()]
