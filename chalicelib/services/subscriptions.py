"""Blog subscriptions: address checks, subscribe without enumeration, unsubscribe by token."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any, Final

from pynamodb.exceptions import DoesNotExist

from chalicelib import validation
from chalicelib.errors import NotFound, ValidationError
from chalicelib.models import SubscriberModel
from chalicelib.services import defaults
from chalicelib.services.storage import conditional, storage_errors

Json = dict[str, Any]

ACTIVE: Final = "active"
UNSUBSCRIBED: Final = "unsubscribed"
# The one value of the by_audience index's hash key, set only on active subscribers.
AUDIENCE: Final = "active"

MAX_EMAIL = 254
MAX_LOCAL_PART = 64
MAX_TOKEN = 128

# RFC 5322 dot-atom, ASCII only: quoted local parts and SMTPUTF8 addresses are refused (SES
# does not deliver to non-ASCII local parts anyway).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")

_NOT_AN_ADDRESS = "email must be an e-mail address such as name@example.com"
_UNKNOWN_TOKEN = "unsubscribe token not found: use the link from your most recent blog mail"  # noqa: S105


def new_token() -> str:
    return secrets.token_urlsafe(32)


def normalise_email(value: object) -> tuple[str, str]:
    """The address to mail (local part as typed, domain lowercased and IDNA-encoded) and the
    identity it is stored under (the whole address lowercased: Ann@ and ann@ are one subscriber).
    """
    text = validation.text(value, "email", min_len=1, max_len=MAX_EMAIL, strip=True)
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(_NOT_AN_ADDRESS)
    if len(local) > MAX_LOCAL_PART or not _LOCAL_PART.fullmatch(local):
        raise ValidationError(
            f"{_NOT_AN_ADDRESS}: the part before @ may hold letters, digits, dots (not two in a "
            "row, nor first or last) and !#$%&'*+/=?^_`{|}~- only"
        )
    try:
        ascii_domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError as e:
        raise ValidationError(f"{_NOT_AN_ADDRESS}: {domain!r} is not a valid domain name") from e
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(f"{_NOT_AN_ADDRESS}: {domain!r} is not a valid domain name")
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_EMAIL:
        raise ValidationError(f"email is {len(address)} characters; the limit is {MAX_EMAIL}")
    return address, address.lower()


class SubscriptionService:
    def __init__(
        self,
        *,
        clock: defaults.Clock = defaults.utcnow,
        new_token: Callable[[], str] = new_token,
    ) -> None:
        self._clock = clock
        self._new_token = new_token

    def subscribe(self, data: Json) -> Json:
        """Always the same answer, so the API never tells whether an address was subscribed."""
        validation.reject_unknown(data, ("email",))
        if "email" not in data:
            raise ValidationError("email is required")
        address, email = normalise_email(data["email"])
        stamp = validation.format_time(self._clock())
        item = SubscriberModel(
            email,
            address=address,
            token=self._new_token(),
            status=ACTIVE,
            generation=1,
            audience=AUDIENCE,
            created_at=stamp,
            updated_at=stamp,
        )
        with conditional() as write:
            # The INSERT on the table's stream is what sends the welcome mail.
            item.save(condition=SubscriberModel.email.does_not_exist())
        if write.failed:
            self._resubscribe(email, address, stamp)
        return {"status": "pending"}

    def _resubscribe(self, email: str, address: str, stamp: str) -> None:
        """Re-activate an address that unsubscribed, with a new token and a new welcome mail.

        An active address is left alone: no second welcome mail, no new token.
        """
        with conditional():
            SubscriberModel(email).update(
                actions=[
                    SubscriberModel.status.set(ACTIVE),
                    SubscriberModel.audience.set(AUDIENCE),
                    SubscriberModel.address.set(address),
                    SubscriberModel.token.set(self._new_token()),
                    SubscriberModel.generation.add(1),
                    SubscriberModel.updated_at.set(stamp),
                    SubscriberModel.unsubscribed_at.remove(),
                ],
                condition=SubscriberModel.status == UNSUBSCRIBED,
            )

    def unsubscribe(self, data: Json) -> Json:
        """Idempotent: the same token unsubscribes once and answers the same ever after."""
        validation.reject_unknown(data, ("token",))
        if "token" not in data:
            raise ValidationError("token is required: the token parameter of the unsubscribe link")
        token = validation.text(data["token"], "token", min_len=1, max_len=MAX_TOKEN, strip=True)
        if not _TOKEN.fullmatch(token):
            raise NotFound(_UNKNOWN_TOKEN)
        with storage_errors():
            keys = list(SubscriberModel.by_token.query(token, limit=1))
        if not keys or not hmac.compare_digest(keys[0].token.encode(), token.encode()):
            raise NotFound(_UNKNOWN_TOKEN)
        email = keys[0].email
        stamp = validation.format_time(self._clock())
        with conditional() as write:
            SubscriberModel(email).update(
                actions=[
                    SubscriberModel.status.set(UNSUBSCRIBED),
                    SubscriberModel.audience.remove(),
                    SubscriberModel.updated_at.set(stamp),
                    SubscriberModel.unsubscribed_at.set(stamp),
                ],
                # The token may have been replaced by a re-subscription since the lookup.
                condition=(SubscriberModel.token == token) & (SubscriberModel.status == ACTIVE),
            )
        if write.failed:
            self._check_unsubscribed(email, token)
        return {"status": UNSUBSCRIBED}

    @staticmethod
    def _check_unsubscribed(email: str, token: str) -> None:
        """Quietly succeed when this token already unsubscribed its address; else 404."""
        try:
            with storage_errors():
                item = SubscriberModel.get(email, consistent_read=True)
        except DoesNotExist as e:
            raise NotFound(_UNKNOWN_TOKEN) from e
        if item.status != UNSUBSCRIBED or not hmac.compare_digest(
            item.token.encode(), token.encode()
        ):
            raise NotFound(_UNKNOWN_TOKEN)
