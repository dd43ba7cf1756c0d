"""Reads moto's data into a Snapshot and puts a Snapshot back; the component that saves it.

Tables and buckets are read through the AWS API. Users (their passwords), queued messages and
sent mails cannot be read through it without changing them, so they are read from moto's
backends, which run in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3

from sandbox.state import (
    Snapshot,
    StateError,
    StateStore,
    digest_of,
    from_json,
    same_content,
    to_json,
)

log = logging.getLogger("sandbox.state")

ACCOUNT = "123456789012"  # moto's default account
_BATCH = 25  # BatchWriteItem's limit


def _backend(service: str, region: str) -> Any:
    from moto.backends import get_backend  # noqa: PLC0415 - moto only where it runs

    return get_backend(service)[ACCOUNT][region]  # type: ignore[call-overload]


# -- capture ----------------------------------------------------------------------------------


def _scan(client: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page.get("Items", [])


def capture_tables(session: boto3.Session) -> dict[str, list[Any]]:
    client = session.client("dynamodb")
    names = [n for p in client.get_paginator("list_tables").paginate() for n in p["TableNames"]]
    return {name: [to_json(item) for item in _scan(client, name)] for name in sorted(names)}


def capture_users(region: str, pool_id: str) -> list[dict[str, Any]]:
    pool = _backend("cognito-idp", region).user_pools[pool_id]
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
        for name, queue in sorted(_backend("sqs", region).queues.items())
    }


_MAIL_FIELDS = {
    "Message": ("id", "source", "subject", "body", "destinations"),
    "RawMessage": ("id", "source", "destinations", "raw_data"),
    "TemplateMessage": ("id", "source", "template", "template_data", "destinations"),
}


def capture_mails(region: str) -> list[dict[str, Any]]:
    """The sent mails, oldest first, each as moto's data.json shows it plus its kind."""
    mails = []
    for message in list(_backend("ses", region).sent_messages):
        kind = type(message).__name__
        if kind in _MAIL_FIELDS:
            mails.append({"kind": kind, **{k: getattr(message, k) for k in _MAIL_FIELDS[kind]}})
    return mails


def outbox_data(region: str) -> dict[str, Any]:
    """The outbox in the shape of moto's data.json ("ses" → kind → list), for sandbox.outbox."""
    ses: dict[str, list[dict[str, Any]]] = {}
    for mail in capture_mails(region):
        kind = mail.pop("kind")
        ses.setdefault(kind, []).append(mail)
    return {"ses": ses}


def clear_outbox(region: str) -> int:
    backend = _backend("ses", region)
    count = len(backend.sent_messages)
    backend.sent_messages.clear()
    return count


# -- restore ----------------------------------------------------------------------------------


def write_items(session: boto3.Session, table: str, items: list[Any]) -> None:
    client = session.client("dynamodb")
    for start in range(0, len(items), _BATCH):
        chunk = [{"PutRequest": {"Item": from_json(i)}} for i in items[start : start + _BATCH]]
        pending: Any = {table: chunk}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def restore_users(region: str, pool_id: str, users: list[dict[str, Any]]) -> None:
    from moto.cognitoidp.models import CognitoIdpUser  # noqa: PLC0415

    pool = _backend("cognito-idp", region).user_pools[pool_id]
    for saved in users:
        user = CognitoIdpUser(
            pool_id, saved["username"], saved["password"], saved["status"], saved["attributes"]
        )
        # The sub is the user's id everywhere in the app's data: it must not change.
        user.id = saved["sub"]
        user.update_attributes([{"Name": "sub", "Value": saved["sub"]}])
        user.enabled = bool(saved.get("enabled", True))
        if saved.get("created"):
            user.create_date = datetime.fromisoformat(saved["created"])
        pool.users[user.username] = user
        for name in saved.get("groups", []):
            group = pool.groups.get(name)
            if group is not None:
                group.users.add(user)
                user.groups.add(group)


def restore_messages(session: boto3.Session, messages: dict[str, list[dict[str, Any]]]) -> None:
    sqs = session.client("sqs")
    for queue, saved in messages.items():
        if not saved:
            continue
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        for message in saved:
            sqs.send_message(QueueUrl=url, MessageBody=message["body"])


def restore_mails(region: str, mails: list[dict[str, Any]]) -> None:
    from moto.ses import models  # noqa: PLC0415

    backend = _backend("ses", region)
    for mail in mails:
        kind = mail.get("kind")
        if kind not in _MAIL_FIELDS:
            continue
        # Constructors take the fields in data.json's order, the id named message_id.
        fields = [mail[k] for k in _MAIL_FIELDS[kind]]
        backend.sent_messages.append(getattr(models, kind)(*fields))


class Restorer:
    """Puts a saved snapshot back. A section that cannot be restored is reported and skipped:
    an old or damaged snapshot never keeps the sandbox from starting."""

    def __init__(self, store: StateStore, session: boto3.Session, region: str) -> None:
        self._store = store
        self._session = session
        self._region = region
        self.problems: list[str] = []
        self.saved_at: str | None = None
        self.snapshot: Snapshot | None = None
        try:
            loaded = store.load()
        except StateError as e:
            moved = store.set_aside()
            self.problems.append(f"{e}; starting fresh (the old state is kept in {moved})")
            loaded = None
        if loaded is not None:
            self.snapshot, self.saved_at = loaded

    def _guard(self, what: str, restore: Callable[[], None]) -> None:
        try:
            restore()
        except Exception as e:  # the saved data may come from an older template or moto
            self.problems.append(f"could not restore {what}: {type(e).__name__}: {e}")

    def table(self, name: str) -> None:
        if self.snapshot is not None and self.snapshot.tables.get(name):
            items = self.snapshot.tables[name]
            self._guard(f"table {name}", lambda: write_items(self._session, name, items))

    def bucket(self, name: str) -> None:
        if self.snapshot is None or not self.snapshot.objects.get(name):
            return
        s3 = self._session.client("s3")

        def restore() -> None:
            assert self.snapshot is not None
            for entry in self.snapshot.objects[name]:
                s3.put_object(
                    Bucket=name,
                    Key=entry["key"],
                    Body=self._store.blob(entry["blob"]),
                    ContentType=entry["content_type"],
                    Metadata=entry.get("metadata") or {},
                )

        self._guard(f"bucket {name}", restore)

    def rest(self, pool_id: str) -> None:
        """Users, queued messages and sent mails, once the pool and the queues exist."""
        saved = self.snapshot
        if saved is None:
            return
        self._guard("queued messages", lambda: restore_messages(self._session, saved.messages))
        self._guard("users", lambda: restore_users(self._region, pool_id, saved.users))
        self._guard("sent mails", lambda: restore_mails(self._region, saved.mails))


# -- the component ----------------------------------------------------------------------------


class Snapshotter:
    """A sandbox component: saves a snapshot every `period` seconds when something changed,
    and once more when it stops."""

    name = "snapshots"

    def __init__(
        self,
        store: StateStore,
        session: boto3.Session,
        region: str,
        pool_id: str,
        period: float,
    ) -> None:
        self.store = store
        self._session = session
        self._region = region
        self._pool_id = pool_id
        self._period = period
        self._objects = ObjectReader(session)
        self._last: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def capture(self) -> Snapshot:
        snapshot = Snapshot(
            tables=capture_tables(self._session),
            users=capture_users(self._region, self._pool_id),
            messages=capture_messages(self._region),
            mails=capture_mails(self._region),
        )
        self._objects.capture(snapshot)
        return snapshot

    def save(self) -> bool:
        """Take a snapshot and write it if it differs from the last one; whether it wrote."""
        with self._lock:
            snapshot = self.capture()
            sections = snapshot.sections()
            if self._last is not None and same_content(sections, self._last):
                return False
            self.store.save(snapshot)
            self._last = sections
            return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sandbox-snapshots", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.save()
            except Exception:
                # A failed snapshot keeps the previous one; the next period tries again.
                log.exception("saving the sandbox's state failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.save()
