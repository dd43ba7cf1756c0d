"""New-post fan-out: on a post's transition to published, queue its mails per subscriber batch.

The queue's messages are `{"slug", "emails": [up to 50 subscriber ids]}`; this module writes
them and `parse_post_mails` reads them back for the mail worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from chalicelib.blog.posts.fields import PUBLISHED
from chalicelib.blog.subscribers.service import AUDIENCE
from chalicelib.core.config import settings
from chalicelib.store import aws
from chalicelib.store.models import PostModel, SubscriberModel
from chalicelib.store.storage import storage_errors
from chalicelib.store.streams import PoisonRecord, decode, report_failures

log = logging.getLogger(__name__)

Json = dict[str, Any]

EMAILS_PER_MESSAGE = 50
MESSAGES_PER_BATCH = 10
_BATCH_ATTEMPTS = 3


class EnqueueFailed(Exception):
    """SQS kept refusing some messages of a batch: the stream record is retried."""


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parse_post_mails(body: str) -> tuple[str, list[str]]:
    """The slug and the distinct subscriber ids of one queued message."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as e:
        raise PoisonRecord("post-mail message is not JSON") from e
    slug = data.get("slug") if isinstance(data, dict) else None
    emails = data.get("emails") if isinstance(data, dict) else None
    if (
        not isinstance(slug, str)
        or not isinstance(emails, list)
        or not all(isinstance(e, str) for e in emails)
        or len(emails) > EMAILS_PER_MESSAGE
    ):
        raise PoisonRecord("post-mail message must be {slug, emails: [up to 50 addresses]}")
    return slug, list(dict.fromkeys(emails))


class FanOutService:
    def __init__(self, *, sqs: Any = None, queue_name: str | None = None) -> None:
        self._sqs = sqs if sqs is not None else aws.client("sqs")
        self._queue_name = queue_name or settings().post_mails_queue_name
        self._queue_url: str | None = None

    def announce_posts(self, records: Iterable[Json]) -> Json:
        """Posts stream records; failures reported by sequence number."""
        return report_failures(records, self.announce, "post announcement")

    def announce(self, record: Json) -> str:
        """Handle one posts stream record; returns what happened (for logs and tests)."""
        change = decode(record, PostModel, required=("slug",))
        if change.event not in ("INSERT", "MODIFY") or change.new is None:
            return "ignored"
        was_published = change.old is not None and change.old.status == PUBLISHED
        if change.new.status != PUBLISHED or was_published:
            return "ignored"
        slug = change.new.slug
        messages = (
            json.dumps({"slug": slug, "emails": emails})
            for emails in _chunks(self._active_subscribers(), EMAILS_PER_MESSAGE)
        )
        count = 0
        for batch in _chunks(messages, MESSAGES_PER_BATCH):
            self._enqueue(batch)
            count += len(batch)
        log.info("post %s: queued %d mail batches", slug, count)
        return f"queued {count}"

    @staticmethod
    def _active_subscribers() -> Iterator[str]:
        # Paged Query of the sparse index (never a Scan); eventually consistent, so the send
        # step checks each subscriber again.
        with storage_errors():
            for row in SubscriberModel.by_audience.query(AUDIENCE, page_size=1000):
                yield row.email

    def _enqueue(self, bodies: list[str]) -> None:
        pending = {str(i): body for i, body in enumerate(bodies)}
        for _ in range(_BATCH_ATTEMPTS):
            response = self._sqs.send_message_batch(
                QueueUrl=self._post_mails_queue(),
                Entries=[{"Id": i, "MessageBody": body} for i, body in pending.items()],
            )
            pending = {f["Id"]: pending[f["Id"]] for f in response.get("Failed", [])}
            if not pending:
                return
        raise EnqueueFailed(f"SQS refused {len(pending)} of {len(bodies)} post-mail messages")

    def _post_mails_queue(self) -> str:
        if self._queue_url is None:
            url: str = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
            self._queue_url = url
        return self._queue_url
