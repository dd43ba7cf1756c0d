"""The delivery ledger: each mail is sent exactly once, however often its event is redelivered.

Exactly once rests on a claim per mail in the deliveries table, taken before sending:

1. claim: a lease on the delivery, taken only if it is not "sent" and no live lease is held;
2. send;
3. mark it "sent". A redelivered record or message finds "sent" and does nothing.

A failed send deletes the claim and is reported for retry, so it is sent on a later try (never
lost). A duplicate delivery that arrives while the lease is held raises `Busy` and is retried:
by then the first try has either marked the mail "sent" or released it. Once SES has accepted
the mail, step 3 is tried again through throttling and outages (`outages.persistently`), and if
it still fails the mail counts as sent rather than failed: a retry could only send it twice.
The one window we accept: the process dying (a timeout) after the mail service accepted the
mail and before step 3. The lease then expires and the retry sends the mail a second time; SES
offers no idempotency key that would close it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Literal

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.core import defaults, validation
from chalicelib.core.errors import Throttled, Unavailable
from chalicelib.store import leases, outages
from chalicelib.store.models import MailDeliveryModel
from chalicelib.store.storage import conditional, storage_errors

log = logging.getLogger(__name__)

SENDING: Final = "sending"
SENT: Final = "sent"

# Longer than any mail function's timeout, so a live worker never loses its claim.
LEASE = timedelta(minutes=3)
# How long a "sent" record is kept: re-publishing a post within this time mails nobody again.
DELIVERY_RETENTION = timedelta(days=400)

Outcome = Literal["sent", "duplicate"]


class DeliveryLedger:
    def __init__(self, *, clock: defaults.Clock = defaults.utcnow) -> None:
        self._clock = clock

    def deliver(self, delivery_id: str, send: Callable[[], str]) -> Outcome:
        """Send once: "sent" if this call sent the mail, "duplicate" if it had been sent.

        `send` returns the mail service's message id. Raises `leases.Busy` while another
        worker holds the claim, and whatever `send` raised after releasing the claim.
        """
        now = self._clock()
        claim = MailDeliveryModel(delivery_id)
        lease = leases.claim(
            claim,
            MailDeliveryModel.lease_until,
            now=now,
            lease=LEASE,
            condition=MailDeliveryModel.state.does_not_exist()
            | (MailDeliveryModel.state == SENDING),
            done=lambda: _already_sent(delivery_id),
            actions=[MailDeliveryModel.state.set(SENDING), MailDeliveryModel.attempts.add(1)],
            what=f"mail {delivery_id}",
        )
        if lease is None:
            return "duplicate"
        try:
            message_id = send()
        except Exception:
            outages.persistently(lambda: _release(claim, lease), what=f"release mail {delivery_id}")
            raise
        try:
            marked = outages.persistently(
                lambda: self._mark_sent(claim, lease, message_id, now),
                what=f"record mail {delivery_id} as sent",
            )
        except (Throttled, Unavailable):
            # SES has the mail: failing the record now would only have it sent again.
            log.exception("mail %s was sent, but the ledger could not record it", delivery_id)
            return "sent"
        if not marked:
            # Our lease ran out mid-send and another worker took over: it may send again.
            log.warning("mail %s was sent after its claim expired", delivery_id)
        return "sent"

    def _mark_sent(
        self, claim: MailDeliveryModel, lease: int, message_id: str, now: datetime
    ) -> bool:
        """Step 3; False when another worker holds the claim by now. Safe to repeat: a write
        that landed although its answer was lost already carries this message id."""
        with conditional() as write:
            claim.update(
                actions=[
                    MailDeliveryModel.state.set(SENT),
                    MailDeliveryModel.message_id.set(message_id),
                    MailDeliveryModel.sent_at.set(validation.format_time(self._clock())),
                    MailDeliveryModel.lease_until.remove(),
                    MailDeliveryModel.expires_at.set(now + DELIVERY_RETENTION),
                ],
                condition=(MailDeliveryModel.lease_until == lease)
                | (MailDeliveryModel.message_id == message_id),
            )
        return not write.failed


def _already_sent(delivery_id: str) -> bool:
    try:
        with storage_errors():
            return MailDeliveryModel.get(delivery_id, consistent_read=True).state == SENT
    except DoesNotExist:
        # Released between our claim and this read: the retry will claim it.
        return False


def _release(claim: MailDeliveryModel, lease: int) -> None:
    try:
        with storage_errors():
            claim.delete(condition=MailDeliveryModel.lease_until == lease)
    except DeleteError:
        # The lease expires by itself; the retry then claims the mail.
        log.exception("could not release the claim on mail %s", claim.delivery_id)
