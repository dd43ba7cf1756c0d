"""The PynamoDB models and infra/resources.yaml describe the same tables."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.models import Model

from chalicelib.store.models import ALL_MODELS
from sandbox.resources import table_definitions


def _pairs(entries: Any, kind: str) -> set[tuple[str, str]]:
    return {(e["AttributeName"], e[kind]) for e in entries}


def _model_schema(model: type[Model]) -> dict[str, Any]:
    schema = model._get_schema()  # noqa: SLF001 - PynamoDB's own view of keys and indexes
    return {
        "attributes": _pairs(schema["attribute_definitions"], "AttributeType"),
        "keys": _pairs(schema["key_schema"], "KeyType"),
        "lsi": {
            i["index_name"]: _pairs(i["key_schema"], "KeyType")
            for i in schema.get("local_secondary_indexes", [])
        },
        "gsi": {
            i["index_name"]: _pairs(i["key_schema"], "KeyType")
            for i in schema.get("global_secondary_indexes", [])
        },
    }


def _template_schema(table: dict[str, Any]) -> dict[str, Any]:
    return {
        "attributes": _pairs(table["AttributeDefinitions"], "AttributeType"),
        "keys": _pairs(table["KeySchema"], "KeyType"),
        "lsi": {
            i["IndexName"]: _pairs(i["KeySchema"], "KeyType")
            for i in table.get("LocalSecondaryIndexes", [])
        },
        "gsi": {
            i["IndexName"]: _pairs(i["KeySchema"], "KeyType")
            for i in table.get("GlobalSecondaryIndexes", [])
        },
    }


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_matches_template_table(model: type[Model]) -> None:
    suffix = model.Meta.table_name.removeprefix("mytodolist-test-")
    tables = {t["TableName"]: t for t in table_definitions("test").values()}
    table = tables[f"mytodolist-test-{suffix}"]
    assert _model_schema(model) == _template_schema(table)


def test_every_template_table_has_a_model() -> None:
    modelled = {m.Meta.table_name for m in ALL_MODELS}
    declared = {t["TableName"] for t in table_definitions("test").values()}
    assert declared == modelled
