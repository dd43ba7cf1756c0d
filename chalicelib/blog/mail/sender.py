"""Blog mail: confirmation, welcome and new-post mails through SES, each sent once (the ledger)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.blog.mail import content as mail_content
from chalicelib.blog.mail import mailboxes
from chalicelib.blog.mail.content import Links, MailContent
from chalicelib.blog.mail.deliveries import DeliveryLedger
from chalicelib.blog.mail.fanout import parse_post_mails
from chalicelib.blog.posts.fields import PUBLISHED
from chalicelib.blog.subscribers.addresses import mailbox
from chalicelib.blog.subscribers.service import ACTIVE, PENDING
from chalicelib.core import defaults, telemetry
from chalicelib.core.config import settings
from chalicelib.store import aws, sqs_batches
from chalicelib.store.models import PostModel, SubscriberModel
from chalicelib.store.storage import storage_errors
from chalicelib.store.streams import decode, report_failures

log = logging.getLogger(__name__)

Json = dict[str, Any]

# What the ledger records as a confirmation's message id when its mailbox's limit held it back.
RATE_LIMITED = "rate-limited"


def _period(subscriber: SubscriberModel) -> str:
    """A confirmation's ledger key: per subscription period (items older than period ids count
    by address alone, as their ledger entries do)."""
    return f"{subscriber.email}#{subscriber.period}" if subscriber.period else subscriber.email


class DeliveryFailed(Exception):
    """Some mails of a message could not be sent: the message is retried (sent ones are skipped)."""


class MailService:
    def __init__(
        self,
        *,
        ses: Any = None,
        sender: str | None = None,
        site_url: str | None = None,
        api_url: str | None = None,
        clock: defaults.Clock = defaults.utcnow,
    ) -> None:
        self._ses = ses if ses is not None else aws.client("ses")
        self._sender = sender or settings().mail_sender
        api_url = api_url or settings().api_url
        if not api_url:
            # Until the first deploy tells the URL (the chalice deploy path): mails still go out,
            # with the visible unsubscribe link only.
            log.warning("API_URL is not set: mails go out without one-click unsubscribe headers")
        self.links = Links(site_url or settings().site_url, api_url or None)
        self._ledger = DeliveryLedger(clock=clock)
        self._clock = clock

    # -- confirmation and welcome mails (subscribers stream) ------------------------------------

    def send_welcome_mails(self, records: Iterable[Json]) -> Json:
        """Confirmation and welcome mails from subscriber changes; failures by sequence number."""
        return report_failures(records, self.welcome, "subscriber mail")

    def welcome(self, record: Json) -> str:
        """Handle one subscribers stream record; returns what happened (for logs and tests).

        A pending address that asked for a confirmation mail (once more) gets one; an address
        that became active (confirmed) gets the welcome mail.
        """
        change = decode(record, SubscriberModel, required=("email", "address", "token", "status"))
        new, old = change.new, change.old
        if change.event not in ("INSERT", "MODIFY") or new is None:
            return "ignored"
        if new.status == PENDING and (old is None or old.confirmations != new.confirmations):
            delivery = f"confirm#{_period(new)}#{new.confirmations}"
            content = mail_content.confirmation(self.links, new.token)
            send = partial(self._confirm, delivery, new.address, content)
        elif new.status == ACTIVE and (old is None or old.status != ACTIVE):
            # Before periods had ids, the generation counted them.
            delivery = f"welcome#{new.email}#{new.period or new.generation}"
            content = mail_content.welcome(self.links, new.token)
            send = partial(self._send, "welcome", new.address, content)
        else:
            return "ignored"
        return self._ledger.deliver(delivery, send)

    def _confirm(self, delivery: str, address: str, content: MailContent) -> str:
        """Send a confirmation unless its mailbox had one within the hour; either way the
        ledger then holds the delivery as done (a limited one is not tried again)."""
        if not mailboxes.admit(mailbox(address), delivery, self._clock()):
            log.info("confirmation not sent: its mailbox had one within the hour")
            telemetry.count("Mails", Outcome="rate-limited", Kind="confirmation")
            return RATE_LIMITED
        return self._send("confirmation", address, content)

    # -- new-post mails (SQS) -----------------------------------------------------------------

    def send_post_mails(self, messages: Iterable[tuple[str, str]]) -> Json:
        """SQS messages of (post, subscriber batch); failures reported by message id."""
        return sqs_batches.report_failures(messages, self.post_mails, "post-mail")

    def post_mails(self, body: str) -> dict[str, int]:
        """Mail one post to a batch of subscribers; returns how many mails went where."""
        slug, emails = parse_post_mails(body)
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
            content = mail_content.new_post(
                self.links,
                slug=post.slug,
                title=post.title,
                summary=post.summary or "",
                token=subscriber.token,
            )
            try:
                result = self._ledger.deliver(
                    f"post#{slug}#{email}",
                    partial(self._send, "new-post", subscriber.address, content),
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

    def _send(self, kind: str, address: str, content: MailContent) -> str:
        try:
            message_id = self._send_email(address, content)
        except Exception:
            telemetry.count("Mails", Outcome="failed", Kind=kind)
            raise
        telemetry.count("Mails", Outcome="sent", Kind=kind)
        return message_id

    def _send_email(self, address: str, content: MailContent) -> str:
        response = self._ses.send_raw_email(
            Source=self._sender,
            Destinations=[address],
            RawMessage={"Data": mail_content.mime(content, sender=self._sender, to=address)},
        )
        message_id: str = response["MessageId"]
        return message_id
