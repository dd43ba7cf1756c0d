"""At most one confirmation mail an hour to a mailbox, however many of its addresses sign up
(ann@, ann+1@, a.nn@ at Gmail): the per-address limit alone would let a stranger fill someone's
inbox with sub-addresses. The mail still goes to the address exactly as given.

A mailbox's window is one item in the deliveries table (`mailbox#<mailbox>`), held by the
delivery that took it: that delivery may retry within the window, any other waits it out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from chalicelib.store.models import MailDeliveryModel
from chalicelib.store.storage import conditional

WINDOW: Final = timedelta(hours=1)
HELD: Final = "window"


def window_id(mailbox: str) -> str:
    return f"mailbox#{mailbox}"


def admit(mailbox: str, delivery_id: str, now: datetime) -> bool:
    """Whether delivery `delivery_id` may mail `mailbox` now: True when it takes the mailbox's
    window (free or expired) or already holds it, False while another delivery holds it."""
    until = int((now + WINDOW).timestamp())
    window = MailDeliveryModel
    with conditional() as write:
        MailDeliveryModel(window_id(mailbox)).update(
            actions=[
                window.state.set(HELD),
                window.holder.set(delivery_id),
                window.lease_until.set(until),
                # TTL tidies the table; the condition below never waits for it.
                window.expires_at.set(now + 2 * WINDOW),
            ],
            condition=window.delivery_id.does_not_exist()
            | (window.lease_until < int(now.timestamp()))
            | (window.holder == delivery_id),
        )
    return not write.failed
