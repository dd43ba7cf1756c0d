"""The WebSocket contract: asyncapi.yaml is valid AsyncAPI 3.0 (the specification's own JSON
Schema, from the @asyncapi/specs package, checked by jsonschema), and what the app sends on a
socket matches its message schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from tests.conftest import ROOT

DOC: dict[str, Any] = yaml.safe_load((ROOT / "asyncapi.yaml").read_text())
# @asyncapi/specs 6.11.1, schemas/3.0.0-without-$id.json (Apache-2.0).
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "asyncapi-3.0.0.json").read_text())


def test_asyncapi_document_is_valid_asyncapi_3() -> None:
    Draft7Validator(SCHEMA).validate(DOC)


def test_asyncapi_validation_catches_a_broken_document() -> None:
    broken = json.loads(json.dumps(DOC))
    broken["operations"]["sendPing"]["action"] = "publish"  # AsyncAPI 2's word, not 3's
    with pytest.raises(ValidationError):
        Draft7Validator(SCHEMA).validate(broken)


def test_asyncapi_references_resolve() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = DOC
                for part in ref.removeprefix("#/").split("/"):
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(DOC)


def payload_schema(name: str) -> Draft7Validator:
    schema = DOC["components"]["messages"][name]["payload"]
    return Draft7Validator(schema, format_checker=FormatChecker())


@pytest.mark.parametrize(
    ("message", "frame"),
    [
        ("todosChanged", {"type": "todos.changed", "at": "2026-11-23T10:00:00.000000Z"}),
        ("pong", {"type": "pong"}),
        ("error", {"type": "error", "message": "send a JSON object"}),
        ("ping", {"action": "ping"}),
    ],
)
def test_asyncapi_message_schemas_accept_what_the_app_sends(
    message: str, frame: dict[str, Any]
) -> None:
    payload_schema(message).validate(frame)


def test_asyncapi_poke_schema_refuses_a_poke_with_data() -> None:
    with pytest.raises(ValidationError):
        payload_schema("todosChanged").validate(
            {"type": "todos.changed", "at": "2026-11-23T10:00:00Z", "todo": {}}
        )


def test_asyncapi_examples_match_their_schemas() -> None:
    for name, message in DOC["components"]["messages"].items():
        for example in message.get("examples", []):
            payload_schema(name).validate(example["payload"])
