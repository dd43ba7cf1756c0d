"""Blog subscriptions, double opt-in: sign up (no enumeration), confirm, unsubscribe by token.

A sign-up stores a pending subscriber; the subscribers stream then sends the confirmation mail
(one per increase of `confirmations`). Confirming makes the address active, which the stream
answers with the welcome mail. Pending addresses get no post mails and expire by TTL.

Each subscription period (from a sign-up of an address that had none, or had unsubscribed,
until it unsubscribes or its item is deleted) has an id of its own, `period`: the mails of a
period are keyed by it in the delivery ledger, so a new period never meets an old one's.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib.blog.subscribers.addresses import normalise_email
from chalicelib.core import defaults, validation
from chalicelib.core.config import settings
from chalicelib.core.errors import NotFound, ValidationError
from chalicelib.store.models import SubscriberModel
from chalicelib.store.storage import conditional, storage_errors

Json = dict[str, Any]

PENDING: Final = "pending"
ACTIVE: Final = "active"
UNSUBSCRIBED: Final = "unsubscribed"
# The one value of the by_audience index's hash key, set only on active subscribers.
AUDIENCE: Final = "active"

# How long a confirmation link works; an address never confirmed goes away then.
CONFIRM_WITHIN = timedelta(days=7)
# Repeated sign-ups of one address send at most one confirmation mail in this time.
CONFIRMATION_INTERVAL = timedelta(hours=1)
MAX_TOKEN = 128

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_UNKNOWN_TOKEN = "unsubscribe token not found: use the link from your most recent blog mail"  # noqa: S105
_UNKNOWN_CONFIRMATION = "confirmation token not found or expired: subscribe again to get a new link"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class SubscriptionService:
    def __init__(
        self,
        *,
        clock: defaults.Clock = defaults.utcnow,
        new_token: Callable[[], str] = new_token,
        floor: float | None = None,
        timer: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._new_token = new_token
        # Every sign-up answers no sooner than `floor` seconds (the stage's SIGN_UP_FLOOR_MS)
        # after it started. The states do the same work, but a write that lands takes longer
        # than one its condition refuses: the difference hides under the floor.
        self._floor = settings().sign_up_floor_ms / 1000 if floor is None else floor
        self._timer, self._sleep = timer, sleep

    def subscribe(self, data: Json) -> Json:
        """Always the same answer after the same work (one consistent read and one conditional
        write whatever the address's state) and no sooner than the floor, so that neither the
        answer nor how long it takes tells whether an address was subscribed."""
        started = self._timer()
        validation.reject_unknown(data, ("email",))
        if "email" not in data:
            raise ValidationError("email is required")
        address, email = normalise_email(data["email"])
        self._sign_up(email, address)
        self._sleep(max(0.0, self._floor - (self._timer() - started)))
        return {"status": PENDING}

    def _sign_up(self, email: str, address: str) -> None:
        now = self._clock()
        try:
            with storage_errors():
                current = SubscriberModel.get(email, consistent_read=True)
        except DoesNotExist:
            current = None
        with conditional():
            # A lost race (another sign-up of the address in between) changes nothing: the
            # one that won asked for the mail.
            if current is None:
                # The INSERT on the table's stream is what sends the confirmation mail.
                self._new_period(email, address, now).save(
                    condition=SubscriberModel.email.does_not_exist()
                )
            else:
                self._ask_again(email, address, now, restart=current.status == UNSUBSCRIBED)

    def _new_period(self, email: str, address: str, now: datetime) -> SubscriberModel:
        stamp = validation.format_time(now)
        return SubscriberModel(
            email,
            address=address,
            token=self._new_token(),
            period=defaults.new_id(),
            status=PENDING,
            generation=1,
            confirmations=1,
            requested_at=_epoch(now),
            expires_at=now + CONFIRM_WITHIN,
            created_at=stamp,
            updated_at=stamp,
        )

    def _ask_again(self, email: str, address: str, now: datetime, *, restart: bool) -> None:
        """Another confirmation mail for an address that is not active, at most one an hour.

        A pending address gets its link again, valid 7 days from now; one that unsubscribed
        (`restart`) starts a new subscription period with a new token. An active address gets
        the same write, which its condition refuses: the same work, and nothing changes.
        """
        quiet = SubscriberModel.requested_at.does_not_exist() | (
            SubscriberModel.requested_at < _epoch(now - CONFIRMATION_INTERVAL)
        )
        actions: list[Action] = [
            SubscriberModel.confirmations.add(1),
            SubscriberModel.requested_at.set(_epoch(now)),
            SubscriberModel.expires_at.set(now + CONFIRM_WITHIN),
            SubscriberModel.address.set(address),
            SubscriberModel.updated_at.set(validation.format_time(now)),
        ]
        if restart:
            actions += [
                SubscriberModel.status.set(PENDING),
                SubscriberModel.token.set(self._new_token()),
                SubscriberModel.period.set(defaults.new_id()),
                SubscriberModel.generation.add(1),
                SubscriberModel.unsubscribed_at.remove(),
            ]
        SubscriberModel(email).update(
            actions=actions,
            condition=(SubscriberModel.status == (UNSUBSCRIBED if restart else PENDING)) & quiet,
        )

    def confirm(self, data: Json) -> Json:
        """Idempotent: a confirmed token answers "active" ever after; unknown or expired is 404."""
        token = _token(data, "the token parameter of the confirmation link")
        email = _email_of(token, _UNKNOWN_CONFIRMATION)
        now = self._clock()
        with conditional() as write:
            SubscriberModel(email).update(
                actions=[
                    SubscriberModel.status.set(ACTIVE),
                    SubscriberModel.audience.set(AUDIENCE),
                    SubscriberModel.confirmed_at.set(validation.format_time(now)),
                    SubscriberModel.updated_at.set(validation.format_time(now)),
                    SubscriberModel.expires_at.remove(),
                ],
                # TTL deletes late: an expired link must not work in between.
                condition=(SubscriberModel.token == token)
                & (SubscriberModel.status == PENDING)
                & (SubscriberModel.expires_at > now),
            )
        if write.failed:
            _require(email, token, ACTIVE, _UNKNOWN_CONFIRMATION)
        return {"status": ACTIVE}

    def unsubscribe(self, data: Json) -> Json:
        """Idempotent: the same token unsubscribes once and answers the same ever after."""
        token = _token(data, "the token parameter of the unsubscribe link")
        email = _email_of(token, _UNKNOWN_TOKEN)
        stamp = validation.format_time(self._clock())
        with conditional() as write:
            SubscriberModel(email).update(
                actions=[
                    SubscriberModel.status.set(UNSUBSCRIBED),
                    SubscriberModel.audience.remove(),
                    SubscriberModel.expires_at.remove(),
                    SubscriberModel.updated_at.set(stamp),
                    SubscriberModel.unsubscribed_at.set(stamp),
                ],
                # The token may have been replaced by a re-subscription since the lookup.
                condition=(SubscriberModel.token == token)
                & SubscriberModel.status.is_in(ACTIVE, PENDING),
            )
        if write.failed:
            _require(email, token, UNSUBSCRIBED, _UNKNOWN_TOKEN)
        return {"status": UNSUBSCRIBED}


def _token(data: Json, where: str) -> str:
    validation.reject_unknown(data, ("token",))
    if "token" not in data:
        raise ValidationError(f"token is required: {where}")
    return validation.text(data["token"], "token", min_len=1, max_len=MAX_TOKEN, strip=True)


def _email_of(token: str, unknown: str) -> str:
    """The subscriber a token belongs to; 404 when none does."""
    if not _TOKEN.fullmatch(token):
        raise NotFound(unknown)
    with storage_errors():
        keys = list(SubscriberModel.by_token.query(token, limit=1))
    if not keys or not hmac.compare_digest(keys[0].token.encode(), token.encode()):
        raise NotFound(unknown)
    return keys[0].email


def _require(email: str, token: str, status: str, unknown: str) -> None:
    """Quietly succeed when this token already brought its address to `status`; else 404."""
    try:
        with storage_errors():
            item = SubscriberModel.get(email, consistent_read=True)
    except DoesNotExist as e:
        raise NotFound(unknown) from e
    if item.status != status or not hmac.compare_digest(item.token.encode(), token.encode()):
        raise NotFound(unknown)
