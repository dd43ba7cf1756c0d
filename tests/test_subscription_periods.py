"""Subscription periods and mailboxes end to end: a subscriber deleted by any means (TTL, an
operator, after unsubscribing) and signed up again gets every mail of its new period; a mailbox
gets one confirmation an hour however many of its addresses sign up; a sign-up does the same
work whatever the address's state."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client
from pynamodb.connection.base import Connection

from chalicelib.blog.mail import mailboxes
from chalicelib.blog.mail.sender import MailService
from chalicelib.blog.subscribers.addresses import mailbox
from chalicelib.blog.subscribers.service import SubscriptionService
from chalicelib.core.errors import ValidationError
from chalicelib.store.models import MailDeliveryModel, SubscriberModel
from sandbox.resources import Mail
from tests.events import sent_mails, stream_batch
from tests.helpers import ManualClock

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def blog(client: Client, mail: Mail) -> Client:
    return client


def _post(client: Client, path: str, body: dict[str, str]) -> Any:
    response = client.http.post(path, headers=JSON, body=json.dumps(body))
    assert response.status_code in (200, 202), response.body
    return response


def _subscribe(client: Client, address: str) -> None:
    _post(client, "/subscriptions", {"email": address})


def _confirm(client: Client, address: str) -> None:
    _post(client, "/subscriptions/confirm", {"token": SubscriberModel.get(address.lower()).token})


def _unsubscribe(client: Client, address: str) -> None:
    token = SubscriberModel.get(address.lower()).token
    _post(client, "/subscriptions/unsubscribe", {"token": token})


def _mails(client: Client, *, replays: int = 1) -> list[tuple[str, str]]:
    """Run every record of the subscribers stream so far through the handler (`replays` times,
    as Lambda may), then what was sent: (to, first word of the subject)."""
    event = stream_batch("SubscribersTable")
    for _ in range(replays):
        result = client.lambda_.invoke("send_welcome_mails", copy.deepcopy(event)).payload
        assert result == {"batchItemFailures": []}
    return [(m.to[0], m.subject.split()[0]) for m in sent_mails()]


def _an_hour_passes(address: str) -> None:
    """As if the mailbox's confirmation window had been taken over an hour ago."""
    window = MailDeliveryModel.get(mailboxes.window_id(mailbox(address)))
    window.update(actions=[MailDeliveryModel.lease_until.add(-3601)])


def _deleted_by_ttl(client: Client, address: str) -> None:
    """A pending sign-up whose link expired, removed by DynamoDB's TTL (a REMOVE record)."""
    SubscriberModel.get(address.lower()).delete()


def _deleted_by_operator(client: Client, address: str) -> None:
    """An active subscriber an operator deleted by hand."""
    _confirm(client, address)
    SubscriberModel.get(address.lower()).delete()


def _unsubscribed_then_purged(client: Client, address: str) -> None:
    _confirm(client, address)
    _unsubscribe(client, address)
    SubscriberModel.get(address.lower()).delete()


def _unsubscribed(client: Client, address: str) -> None:
    _confirm(client, address)
    _unsubscribe(client, address)
    # The per-address limit: the last confirmation was asked for over an hour ago.
    SubscriberModel.get(address.lower()).update(actions=[SubscriberModel.requested_at.add(-3601)])


ENDINGS: dict[str, Callable[[Client, str], None]] = {
    "pending-expired-by-ttl": _deleted_by_ttl,
    "active-deleted-by-an-operator": _deleted_by_operator,
    "unsubscribed-then-purged": _unsubscribed_then_purged,
    "unsubscribed-and-kept": _unsubscribed,
}


@pytest.mark.parametrize("end", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_new_period_gets_its_confirmation_and_welcome_whatever_ended_the_last(
    blog: Client, end: Callable[[Client, str], None]
) -> None:
    address = "Ann@example.com"
    _subscribe(blog, address)
    first = _mails(blog)
    assert first == [(address, "Confirm")]
    end(blog, address)
    _mails(blog)  # the old period's records, welcome included where it was confirmed
    before = len(sent_mails())
    _an_hour_passes(address)
    _subscribe(blog, address)
    _confirm(blog, address)
    # Every record of both periods, delivered three times over: each mail once.
    assert _mails(blog, replays=3)[before:] == [(address, "Confirm"), (address, "Welcome")]


def test_periods_have_ids_of_their_own(blog: Client) -> None:
    _subscribe(blog, "ann@example.com")
    first = SubscriberModel.get("ann@example.com").period
    SubscriberModel.get("ann@example.com").delete()
    _subscribe(blog, "ann@example.com")
    second = SubscriberModel.get("ann@example.com").period
    assert first
    assert second
    assert first != second


def test_a_subscriber_from_before_period_ids_keeps_its_ledger_keys(mail: Mail) -> None:
    # Its confirmation was recorded as confirm#<email>#1 before periods had ids: not sent again.
    clock = ManualClock()
    service = MailService(ses=_NoSES(), site_url="https://s", api_url="https://a", clock=clock)
    MailDeliveryModel("confirm#old@example.com#1", state="sent").save()
    image = {
        "email": {"S": "old@example.com"},
        "address": {"S": "old@example.com"},
        "token": {"S": "tok"},
        "status": {"S": "pending"},
        "confirmations": {"N": "1"},
    }
    record = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": image}}
    assert service.welcome(record) == "duplicate"


class _NoSES:
    def send_raw_email(self, **kwargs: Any) -> dict[str, str]:
        raise AssertionError("no mail may be sent")


# -- one mailbox, one confirmation an hour ---------------------------------------------------


@pytest.mark.parametrize(
    ("address", "box"),
    [
        ("victim@gmail.com", "victim@gmail.com"),
        ("Victim+1@Gmail.com", "victim@gmail.com"),
        ("v.ictim@gmail.com", "victim@gmail.com"),
        ("v.i.c.t.i.m+news@googlemail.com", "victim@gmail.com"),
        ("victim+a+b@example.org", "victim@example.org"),
        ("v.ictim@example.org", "v.ictim@example.org"),
        ("+tag@example.org", "+tag@example.org"),
    ],
)
def test_mailbox_is_the_address_as_providers_deliver_it(address: str, box: str) -> None:
    assert mailbox(address) == box


SIBLINGS = ["victim@gmail.com", "victim+1@gmail.com", "v.ictim@gmail.com", "victim+news@gmail.com"]


def test_sub_addresses_of_one_mailbox_get_one_confirmation_an_hour(blog: Client) -> None:
    for address in SIBLINGS:
        _subscribe(blog, address)
    assert _mails(blog, replays=2) == [("victim@gmail.com", "Confirm")]
    # An hour on, a sibling asking again gets its own link, mailed exactly as given.
    SubscriberModel.get("v.ictim@gmail.com").update(
        actions=[SubscriberModel.requested_at.add(-3601)]
    )
    _an_hour_passes("victim@gmail.com")
    _subscribe(blog, "v.ictim@gmail.com")
    assert _mails(blog)[1:] == [("v.ictim@gmail.com", "Confirm")]
    token = SubscriberModel.get("v.ictim@gmail.com").token
    assert token in sent_mails()[-1].body


def test_other_mailboxes_are_not_held_back(blog: Client) -> None:
    for address in ("ann@example.com", "bob@example.com", "ann@example.org", "a.nn@example.com"):
        _subscribe(blog, address)
    assert len(_mails(blog)) == 4


class _CountingSES:
    def __init__(self, fail: int = 0) -> None:
        self.sent: list[str] = []
        self.fail = fail

    def send_raw_email(self, **kwargs: Any) -> dict[str, str]:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("SES is down")
        self.sent.append(kwargs["Destinations"][0])
        return {"MessageId": f"m{len(self.sent)}"}


def _pending(address: str, confirmations: int = 1, seq: str = "1") -> dict[str, Any]:
    image = {
        "email": {"S": address.lower()},
        "address": {"S": address},
        "token": {"S": f"tok-{address}"},
        "period": {"S": "p1"},
        "status": {"S": "pending"},
        "confirmations": {"N": str(confirmations)},
    }
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": seq, "NewImage": image}}


def test_a_confirmation_whose_send_failed_keeps_its_mailbox_window(mail: Mail) -> None:
    clock = ManualClock()
    ses = _CountingSES(fail=1)
    service = MailService(ses=ses, site_url="https://s", api_url="https://a", clock=clock)
    with pytest.raises(RuntimeError):
        service.welcome(_pending("victim@gmail.com"))
    # The sibling is held back meanwhile; the failed one, retried, goes out.
    assert service.welcome(_pending("victim+x@gmail.com")) == "sent"
    assert service.welcome(_pending("victim@gmail.com")) == "sent"
    assert ses.sent == ["victim@gmail.com"]
    clock.now += mailboxes.WINDOW + timedelta(seconds=1)
    assert service.welcome(_pending("victim+x@gmail.com", confirmations=2)) == "sent"
    assert ses.sent == ["victim@gmail.com", "victim+x@gmail.com"]


# -- the same work for every state -----------------------------------------------------------


@pytest.fixture
def operations() -> Iterator[list[str]]:
    """The DynamoDB operations PynamoDB makes meanwhile, in order."""
    made: list[str] = []
    original = Connection._make_api_call  # noqa: SLF001

    def record(self: Connection, operation: str, data: dict[str, Any], *a: Any, **k: Any) -> Any:
        made.append(operation)
        return original(self, operation, data, *a, **k)

    Connection._make_api_call = record  # type: ignore[method-assign,assignment]  # noqa: SLF001
    try:
        yield made
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]  # noqa: SLF001


def _state(service: SubscriptionService, state: str) -> None:
    if state == "new":
        return
    service.subscribe({"email": "ann@example.com"})
    token = SubscriberModel.get("ann@example.com").token
    if state in ("active", "unsubscribed"):
        service.confirm({"token": token})
    if state == "unsubscribed":
        service.unsubscribe({"token": token})
    if state == "pending, an hour later":
        SubscriberModel.get("ann@example.com").update(
            actions=[SubscriberModel.requested_at.add(-3601)]
        )


@pytest.mark.parametrize(
    "state", ["new", "pending", "pending, an hour later", "active", "unsubscribed"]
)
def test_sign_up_makes_one_read_and_one_conditional_write_whatever_the_state(
    aws: None, operations: list[str], state: str
) -> None:
    service = SubscriptionService()
    _state(service, state)
    operations.clear()
    assert service.subscribe({"email": "ann@example.com"}) == {"status": "pending"}
    write = "PutItem" if state == "new" else "UpdateItem"
    assert operations == ["GetItem", write]


class _Stopwatch:
    """A monotonic timer that the work moves by `work` seconds; records the sleeps asked for."""

    def __init__(self, work: float) -> None:
        self.now = 100.0
        self.work = work
        self.slept: list[float] = []

    def timer(self) -> float:
        # Read twice, before and after the work: the second reading is `work` later.
        reading, self.now = self.now, self.now + self.work
        return reading

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.mark.parametrize(("work", "pause"), [(0.03, 0.22), (0.1, 0.15), (0.4, 0.0)])
def test_sign_up_answers_no_sooner_than_the_floor(aws: None, work: float, pause: float) -> None:
    watch = _Stopwatch(work)
    service = SubscriptionService(floor=0.25, timer=watch.timer, sleep=watch.sleep)
    assert service.subscribe({"email": "ann@example.com"}) == {"status": "pending"}
    assert watch.slept == [pytest.approx(pause)]


def test_sign_up_floor_is_the_stage_setting(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import config  # noqa: PLC0415

    monkeypatch.setenv("SIGN_UP_FLOOR_MS", "40")
    config.settings.cache_clear()
    try:
        watch = _Stopwatch(0.01)
        SubscriptionService(timer=watch.timer, sleep=watch.sleep).subscribe({"email": "a@b.co"})
        assert watch.slept == [pytest.approx(0.03)]
    finally:
        config.settings.cache_clear()


def test_malformed_sign_up_is_400_at_once(aws: None) -> None:
    watch = _Stopwatch(0.01)
    service = SubscriptionService(floor=0.25, timer=watch.timer, sleep=watch.sleep)
    with pytest.raises(ValidationError):
        service.subscribe({"email": "not an address"})
    assert watch.slept == []
