"""Reads moto's data into a Snapshot: buckets through the AWS API, the rest from moto's backends.

Users (their passwords), queued messages and sent mails cannot be read through the API without
changing them, so they are read from moto's backends, which run in this process. So are the
tables: a Scan through the API deep-copies and serialises every item while holding the
DynamoDB lock, about a second at a few thousand todos, every few seconds while the sandbox is
busy; read directly, under the same lock, it takes a tenth of that.
"""

from __future__ import annotations

from typing import Any

import boto3

from sandbox.atomic import dynamodb_lock
from sandbox.state import Snapshot, digest_of, to_json

ACCOUNT = "123456789012"  # moto's default account


def moto_backend(service: str, region: str) -> Any:
    """moto's backend of one service, in this process."""
    from moto.backends import get_backend  # noqa: PLC0415 - moto only where it runs

    return get_backend(service)[ACCOUNT][region]  # type: ignore[call-overload]


def capture_tables(region: str) -> dict[str, list[Any]]:
    """Every table's items, as a consistent Scan would return them (in its order)."""
    from moto.dynamodb.models.utilities import dynamo_to_dict  # noqa: PLC0415

    tables = moto_backend("dynamodb", region).tables
    with dynamodb_lock():
        # Plain copies under the lock: an update changes an item in place.
        items = {
            name: [dynamo_to_dict(item.attrs) for item in table.all_items()]
            for name, table in sorted(tables.items())
        }
    return {name: [to_json(item) for item in found] for name, found in items.items()}


def capture_users(region: str, pool_id: str) -> list[dict[str, Any]]:
    pool = moto_backend("cognito-idp", region).user_pools[pool_id]
    return [
        {
            "username": user.username,
            "sub": user.id,
            "password": user.password,
            "status": user.status,
            "enabled": user.enabled,
            "attributes": [dict(a) for a in user.attributes],
            "groups": sorted(group.group_name for group in user.groups),
            "created": user.create_date.isoformat(),
        }
        for user in list(pool.users.values())
    ]


class ObjectReader:
    """Reads every bucket's objects; an object whose ETag it has seen is not downloaded again."""

    def __init__(self, session: boto3.Session) -> None:
        self._s3 = session.client("s3")
        self._seen: dict[tuple[str, str, str], dict[str, Any]] = {}

    def capture(self, snapshot: Snapshot) -> None:
        seen: dict[tuple[str, str, str], dict[str, Any]] = {}
        for bucket in sorted(b["Name"] for b in self._s3.list_buckets().get("Buckets", [])):
            entries = snapshot.objects.setdefault(bucket, [])
            pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for summary in (o for page in pages for o in page.get("Contents", [])):
                ident = (bucket, summary["Key"], summary["ETag"])
                entry = self._seen.get(ident)
                if entry is None:
                    got = self._s3.get_object(Bucket=bucket, Key=summary["Key"])
                    body = got["Body"].read()
                    entry = {
                        "key": summary["Key"],
                        "blob": digest_of(body),
                        "content_type": got.get("ContentType", "binary/octet-stream"),
                        "metadata": got.get("Metadata", {}),
                    }
                    snapshot.blobs[entry["blob"]] = body
                seen[ident] = entry
                entries.append(entry)
        self._seen = seen


def capture_messages(region: str) -> dict[str, list[dict[str, Any]]]:
    # Messages in flight count as queued: after a restart they are delivered again, as SQS would.
    return {
        name: [{"body": m.body} for m in list(queue._messages)]  # noqa: SLF001 - no API peeks
        for name, queue in sorted(moto_backend("sqs", region).queues.items())
    }


MAIL_FIELDS = {
    "Message": ("id", "source", "subject", "body", "destinations"),
    "RawMessage": ("id", "source", "destinations", "raw_data"),
    "TemplateMessage": ("id", "source", "template", "template_data", "destinations"),
}


def capture_mails(region: str) -> list[dict[str, Any]]:
    """The sent mails, oldest first, each as moto's data.json shows it plus its kind."""
    mails = []
    for message in list(moto_backend("ses", region).sent_messages):
        kind = type(message).__name__
        if kind in MAIL_FIELDS:
            mails.append({"kind": kind, **{k: getattr(message, k) for k in MAIL_FIELDS[kind]}})
    return mails


def outbox_data(region: str) -> dict[str, Any]:
    """The outbox in the shape of moto's data.json ("ses" → kind → list), for sandbox.outbox."""
    ses: dict[str, list[dict[str, Any]]] = {}
    for mail in capture_mails(region):
        kind = mail.pop("kind")
        ses.setdefault(kind, []).append(mail)
    return {"ses": ses}


def clear_outbox(region: str) -> int:
    backend = moto_backend("ses", region)
    count = len(backend.sent_messages)
    backend.sent_messages.clear()
    return count
