"""Blog mail: welcome and new-post mails through SES, each delivered exactly once.

Exactly once rests on a claim per mail in the deliveries table, taken before sending:

1. claim: a conditional write sets the delivery to "sending" with a lease, only if it does not
   exist or its lease has expired;
2. send through SES;
3. mark it "sent". A redelivered record or message finds "sent" and does nothing.

A failed send deletes the claim and is reported for retry, so it is sent on a later try (never
lost). A duplicate delivery that arrives while the lease is held is reported for retry too: by
then the first try has either marked the mail "sent" or released it. The one window we accept:
a crash (or timeout) after SES accepted the mail and before step 3. The lease then expires and
the retry sends the mail a second time; SES offers no idempotency key that would close it.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any, Final
from urllib.parse import quote, urlencode

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from chalicelib import validation as v
from chalicelib.config import settings
from chalicelib.models import MailDeliveryModel, PostModel, SubscriberModel
from chalicelib.services import aws, common
from chalicelib.services.posts import PUBLISHED
from chalicelib.services.storage import is_condition_failure, storage_errors
from chalicelib.services.subscriptions import ACTIVE, AUDIENCE

log = logging.getLogger(__name__)

Json = dict[str, Any]
# A DynamoDB attribute map as streams deliver it: {"name": {"S": "value"}, ...}.
Image = dict[str, Any]

BLOG_NAME: Final = "the MyTodoList blog"
SENDING: Final = "sending"
SENT: Final = "sent"

# Longer than any mail function's timeout, so a live worker never loses its claim.
LEASE = timedelta(minutes=3)
# How long a "sent" record is kept: re-publishing a post within this time mails nobody again.
DELIVERY_RETENTION = timedelta(days=400)
EMAILS_PER_MESSAGE = 50
MESSAGES_PER_BATCH = 10
_BATCH_ATTEMPTS = 3


class PoisonRecord(ValueError):
    """The record or message cannot be understood; retrying it will not help."""


class DeliveryBusy(Exception):
    """Another worker holds the claim on this mail: retry later."""


class DeliveryFailed(Exception):
    """Some mails of a message could not be sent: the message is retried (sent ones are skipped)."""


def _string(image: Image, name: str) -> str:
    value = image.get(name)
    if not isinstance(value, dict) or not isinstance(value.get("S"), str):
        raise PoisonRecord(f"image has no string attribute {name!r}")
    text: str = value["S"]
    return text


def _number(image: Image, name: str, default: int) -> int:
    value = image.get(name)
    if value is None:
        return default
    try:
        return int(value["N"])
    except (TypeError, KeyError, ValueError) as e:
        raise PoisonRecord(f"image attribute {name!r} is not a whole number") from e


def _status(image: Image | None) -> str | None:
    value = (image or {}).get("status")
    return value.get("S") if isinstance(value, dict) else None


def _images(record: Json) -> tuple[str, Image | None, Image | None]:
    """The event name and the new and old images of a stream record."""
    try:
        change = record["dynamodb"]
        name = record["eventName"]
    except (TypeError, KeyError) as e:
        raise PoisonRecord("not a DynamoDB stream record") from e
    new, old = change.get("NewImage"), change.get("OldImage")
    if not isinstance(name, str) or not all(i is None or isinstance(i, dict) for i in (new, old)):
        raise PoisonRecord("stream record images are not attribute maps")
    return name, new, old


def _sequence_number(record: Any) -> str | None:
    try:
        number = record["dynamodb"]["SequenceNumber"]
    except (TypeError, KeyError):
        return None
    return number if isinstance(number, str) else None


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class MailService:
    def __init__(
        self,
        *,
        ses: Any = None,
        sqs: Any = None,
        sender: str | None = None,
        site_url: str | None = None,
        queue_name: str | None = None,
        clock: common.Clock = common.utcnow,
    ) -> None:
        # Built on first use: the welcome function never needs SQS, the fan-out never SES.
        self._ses_client = ses
        self._sqs_client = sqs
        self._sender = sender or settings().mail_sender
        self._site_url = (site_url or settings().site_url).rstrip("/")
        self._queue_name = queue_name or settings().post_mails_queue_name
        self._queue_url: str | None = None
        self._clock = clock

    @property
    def _ses(self) -> Any:
        if self._ses_client is None:
            self._ses_client = aws.client("ses")
        return self._ses_client

    @property
    def _sqs(self) -> Any:
        if self._sqs_client is None:
            self._sqs_client = aws.client("sqs")
        return self._sqs_client

    # -- welcome mails (subscribers stream) ---------------------------------------------------

    def send_welcome_mails(self, records: Iterable[Json]) -> Json:
        """One welcome mail per new (or returning) subscriber; failures by sequence number."""
        return _stream_batch(records, self.welcome, "welcome mail")

    def welcome(self, record: Json) -> str:
        """Handle one subscribers stream record; returns what happened (for logs and tests)."""
        name, new, old = _images(record)
        started = new is not None and _status(new) == ACTIVE
        if name == "MODIFY":
            # A re-subscription; edits of an active subscriber send nothing.
            started = started and _status(old) != ACTIVE
        elif name != "INSERT":
            started = False
        if not started or new is None:
            return "ignored"
        email = _string(new, "email")
        address = _string(new, "address")
        token = _string(new, "token")
        generation = _number(new, "generation", 1)
        content = self._welcome_content(token)
        return self._deliver(
            f"welcome#{email}#{generation}", partial(self._send, address, *content)
        )

    # -- new-post fan-out (posts stream) ------------------------------------------------------

    def announce_posts(self, records: Iterable[Json]) -> Json:
        """On a post's transition to published, queue its mails in batches of subscribers."""
        return _stream_batch(records, self.announce, "post announcement")

    def announce(self, record: Json) -> str:
        name, new, old = _images(record)
        if name not in ("INSERT", "MODIFY") or new is None:
            return "ignored"
        if _status(new) != PUBLISHED or _status(old) == PUBLISHED:
            return "ignored"
        slug = _string(new, "slug")
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

    def _active_subscribers(self) -> Iterator[str]:
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
        raise DeliveryFailed(f"SQS refused {len(pending)} of {len(bodies)} post-mail messages")

    def _post_mails_queue(self) -> str:
        if self._queue_url is None:
            url: str = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
            self._queue_url = url
        return self._queue_url

    # -- new-post mails (SQS) -----------------------------------------------------------------

    def send_post_mails(self, messages: Iterable[tuple[str, str]]) -> Json:
        """SQS messages of (post, subscriber batch); failures reported by message id."""
        return common.report_failures(messages, self.post_mails, "post-mail")

    def post_mails(self, body: str) -> dict[str, int]:
        """Mail one post to a batch of subscribers; returns how many mails went where."""
        slug, emails = _parse_post_mails(body)
        try:
            with storage_errors():
                post = PostModel.get(slug, consistent_read=True)
        except DoesNotExist:
            log.info("post %s was deleted before its mails went out", slug)
            return {"sent": 0, "skipped": len(emails)}
        if post.status != PUBLISHED:
            log.info("post %s was unpublished before its mails went out", slug)
            return {"sent": 0, "skipped": len(emails)}
        with storage_errors():
            # Read now, not when queued: whoever unsubscribed since then gets nothing.
            found = {s.email: s for s in SubscriberModel.batch_get(emails, consistent_read=True)}
        outcome = {"sent": 0, "duplicate": 0, "skipped": 0}
        errors = 0
        for email in emails:
            subscriber = found.get(email)
            if subscriber is None or subscriber.status != ACTIVE:
                outcome["skipped"] += 1
                continue
            content = self._post_content(post, subscriber.token)
            try:
                result = self._deliver(
                    f"post#{slug}#{email}", partial(self._send, subscriber.address, *content)
                )
            except Exception:
                # The others still go out; the message is retried for this one.
                log.exception("mail about post %s to a subscriber failed", slug)
                errors += 1
                continue
            outcome[result] += 1
        if errors:
            raise DeliveryFailed(f"{errors} of {len(emails)} mails about post {slug} failed")
        return outcome

    # -- exactly-once delivery ----------------------------------------------------------------

    def _deliver(self, delivery_id: str, send: Callable[[], str]) -> str:
        """Send once: "sent" if this call sent the mail, "duplicate" if it had been sent."""
        now = self._clock()
        lease = int((now + LEASE).timestamp())
        claim = MailDeliveryModel(delivery_id)
        free = MailDeliveryModel.delivery_id.does_not_exist() | (
            (MailDeliveryModel.state == SENDING)
            & (MailDeliveryModel.lease_until < int(now.timestamp()))
        )
        try:
            with storage_errors():
                claim.update(
                    actions=[
                        MailDeliveryModel.state.set(SENDING),
                        MailDeliveryModel.lease_until.set(lease),
                        MailDeliveryModel.attempts.add(1),
                    ],
                    condition=free,
                )
        except UpdateError as e:
            if not is_condition_failure(e):
                raise
            if self._already_sent(delivery_id):
                return "duplicate"
            raise DeliveryBusy(f"mail {delivery_id} is being sent by another worker") from e
        try:
            message_id = send()
        except Exception:
            self._release(claim, lease)
            raise
        try:
            with storage_errors():
                claim.update(
                    actions=[
                        MailDeliveryModel.state.set(SENT),
                        MailDeliveryModel.message_id.set(message_id),
                        MailDeliveryModel.sent_at.set(v.format_time(self._clock())),
                        MailDeliveryModel.lease_until.remove(),
                        MailDeliveryModel.expires_at.set(now + DELIVERY_RETENTION),
                    ],
                    condition=MailDeliveryModel.lease_until == lease,
                )
        except UpdateError as e:
            if not is_condition_failure(e):
                raise
            # Our lease ran out mid-send and another worker took over: it may send again.
            log.warning("mail %s was sent after its claim expired", delivery_id)
        return "sent"

    @staticmethod
    def _already_sent(delivery_id: str) -> bool:
        try:
            with storage_errors():
                return MailDeliveryModel.get(delivery_id, consistent_read=True).state == SENT
        except DoesNotExist:
            # Released between our claim and this read: the retry will claim it.
            return False

    @staticmethod
    def _release(claim: MailDeliveryModel, lease: int) -> None:
        try:
            with storage_errors():
                claim.delete(condition=MailDeliveryModel.lease_until == lease)
        except DeleteError:
            # The lease expires by itself; the retry then claims the mail.
            log.exception("could not release the claim on mail %s", claim.delivery_id)

    # -- content ------------------------------------------------------------------------------

    def _send(self, address: str, subject: str, text: str, page: str) -> str:
        response = self._ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [address]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": text, "Charset": "UTF-8"},
                    "Html": {"Data": page, "Charset": "UTF-8"},
                },
            },
        )
        message_id: str = response["MessageId"]
        return message_id

    def unsubscribe_url(self, token: str) -> str:
        return f"{self._site_url}/unsubscribe.html?{urlencode({'token': token})}"

    def post_url(self, slug: str) -> str:
        return f"{self._site_url}/post.html?slug={quote(slug, safe='')}"

    def _welcome_content(self, token: str) -> tuple[str, str, str]:
        unsubscribe = self.unsubscribe_url(token)
        subject = f"Welcome to {BLOG_NAME}"
        text = (
            f"Thank you for subscribing to {BLOG_NAME}.\n"
            "You will get one mail whenever a new post is published.\n\n"
            f"Not you, or changed your mind? Unsubscribe: {unsubscribe}\n"
        )
        page = (
            f"<p>Thank you for subscribing to {html.escape(BLOG_NAME)}.</p>"
            "<p>You will get one mail whenever a new post is published.</p>"
            f'<p>Not you, or changed your mind? <a href="{html.escape(unsubscribe)}">'
            "Unsubscribe</a>.</p>"
        )
        return subject, text, page

    def _post_content(self, post: PostModel, token: str) -> tuple[str, str, str]:
        unsubscribe = self.unsubscribe_url(token)
        link = self.post_url(post.slug)
        title = " ".join(post.title.split())
        summary = post.summary or ""
        text = (
            f"{title}\n\n"
            + (f"{summary}\n\n" if summary else "")
            + f"Read it: {link}\n\n--\nYou get this mail because you subscribed to {BLOG_NAME}."
            f"\nUnsubscribe: {unsubscribe}\n"
        )
        page = (
            f"<h1>{html.escape(title)}</h1>"
            + (f"<p>{html.escape(summary)}</p>" if summary else "")
            + f'<p><a href="{html.escape(link)}">Read it on the blog</a></p>'
            f"<hr><p>You get this mail because you subscribed to {html.escape(BLOG_NAME)}. "
            f'<a href="{html.escape(unsubscribe)}">Unsubscribe</a>.</p>'
        )
        return f"New post: {title}", text, page


def _parse_post_mails(body: str) -> tuple[str, list[str]]:
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


def _stream_batch(records: Iterable[Json], handle: Callable[[Json], str], what: str) -> Json:
    """Handle each record alone; report the failed ones by sequence number for retry."""
    failures = []
    for record in records:
        number = _sequence_number(record)
        try:
            handle(record)
        except Exception:
            log.exception("%s for stream record %s failed; it will be retried", what, number)
            if number is None:
                # Lambda cannot retry what it cannot name; reporting it would fail the batch.
                continue
            failures.append({"itemIdentifier": number})
    return {"batchItemFailures": failures}
