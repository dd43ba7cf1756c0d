"""`reset`: empty the running sandbox's tables and outbox (and users), or forget its saved state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from sandbox.endpoints import NOT_RUNNING, call_sandbox, connect
from sandbox.settings import SandboxError, sandbox_dir

# boto3's per-service stubs are optional extras; the DynamoDB client is typed loosely.
DynamoDBClient = Any

_BATCH = 25  # BatchWriteItem's limit


def _table_keys(dynamodb: DynamoDBClient, table: str) -> list[str]:
    schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    return [k["AttributeName"] for k in schema]


def _item_keys(dynamodb: DynamoDBClient, table: str, keys: list[str]) -> Iterator[Any]:
    names = {f"#k{i}": key for i, key in enumerate(keys)}
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression=", ".join(names),
        ExpressionAttributeNames=names,
        ConsistentRead=True,
    ):
        yield from page.get("Items", [])


def _delete_all(dynamodb: DynamoDBClient, table: str) -> int:
    # Collected first: deleting while a scan pages through the table can skip items.
    items = list(_item_keys(dynamodb, table, _table_keys(dynamodb, table)))
    for start in range(0, len(items), _BATCH):
        pending: Any = {
            table: [{"DeleteRequest": {"Key": key}} for key in items[start : start + _BATCH]]
        }
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    return len(items)


def _empty_tables(dynamodb: DynamoDBClient) -> list[str]:
    # The tables moto holds, not the template's: the template may have changed since `run`.
    tables = [
        name
        for page in dynamodb.get_paginator("list_tables").paginate()
        for name in page.get("TableNames", [])
    ]
    return [f"{table}: {_delete_all(dynamodb, table)} items deleted" for table in sorted(tables)]


def _delete_users(cognito: Any, pool_id: str) -> str:
    names = [
        user["Username"]
        for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool_id)
        for user in page.get("Users", [])
        if "Username" in user
    ]
    for name in names:
        cognito.admin_delete_user(UserPoolId=pool_id, Username=name)
    return f"user pool {pool_id}: {len(names)} users deleted"


def forget_saved_state() -> list[str]:
    """With no sandbox running, `reset` deletes what the next `run` would restore."""
    from sandbox.state import STATE_DIR, StateStore  # noqa: PLC0415

    store = StateStore(sandbox_dir(os.environ) / STATE_DIR)
    if store.clear():
        return [f"{NOT_RUNNING}; deleted its saved state in {store.directory}"]
    return [f"{NOT_RUNNING}, and there is no saved state in {store.directory}"]


def reset(*, users: bool) -> list[str]:
    """Empty every app table and the outbox (and the user pool with users=True), then save."""
    try:
        endpoints, session = connect()
    except SandboxError as e:
        if NOT_RUNNING not in str(e):
            raise
        return forget_saved_state()
    report = _empty_tables(session.client("dynamodb"))
    if users:
        report.append(_delete_users(session.client("cognito-idp"), endpoints["user_pool_id"]))
    aws = str(endpoints["aws_endpoint_url"])
    cleared = call_sandbox(aws, "outbox/clear", method="POST")
    report.append(f"mail outbox: {cleared['deleted']} mails deleted")
    # Saved now: a crash before the next periodic snapshot must not bring the data back.
    call_sandbox(aws, "snapshot", method="POST")
    return report
