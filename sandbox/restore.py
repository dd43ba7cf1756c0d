"""Puts a saved Snapshot back into moto; a section it cannot restore is reported, not fatal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3

from sandbox.capture import MAIL_FIELDS, moto_backend
from sandbox.state import Snapshot, StateError, StateStore, from_json

_BATCH = 25  # BatchWriteItem's limit


def write_items(session: boto3.Session, table: str, items: list[Any]) -> None:
    client = session.client("dynamodb")
    for start in range(0, len(items), _BATCH):
        chunk = [{"PutRequest": {"Item": from_json(i)}} for i in items[start : start + _BATCH]]
        pending: Any = {table: chunk}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def restore_users(region: str, pool_id: str, users: list[dict[str, Any]]) -> None:
    from moto.cognitoidp.models import CognitoIdpUser  # noqa: PLC0415

    pool = moto_backend("cognito-idp", region).user_pools[pool_id]
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

    backend = moto_backend("ses", region)
    for mail in mails:
        kind = mail.get("kind")
        if kind not in MAIL_FIELDS:
            continue
        # Constructors take the fields in data.json's order, the id named message_id.
        fields = [mail[k] for k in MAIL_FIELDS[kind]]
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
