"""SubscriptionService apart from HTTP: address checks, no enumeration, double opt-in, tokens,
re-subscribing, rate limits."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from operator import attrgetter

import pytest

from chalicelib.blog.subscribers.addresses import normalise_email
from chalicelib.blog.subscribers.service import SubscriptionService
from chalicelib.core.errors import NotFound, ValidationError
from chalicelib.store.models import SubscriberModel
from tests.helpers import T0
from tests.helpers import ManualClock as Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(aws: None, clock: Clock) -> SubscriptionService:
    numbers = count()
    return SubscriptionService(clock=clock, new_token=lambda: f"token-{next(numbers)}-{'x' * 32}")


def _token(email: str = "ann@example.com") -> str:
    return SubscriberModel.get(email).token


def _subscribed(service: SubscriptionService, email: str = "ann@example.com") -> str:
    """A confirmed subscriber; returns its token."""
    service.subscribe({"email": email})
    service.confirm({"token": _token(email)})
    return _token(email)


@pytest.mark.parametrize(
    ("given", "address", "identity"),
    [
        ("ann@example.com", "ann@example.com", "ann@example.com"),
        ("  Ann@Example.COM ", "Ann@example.com", "ann@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", None),
        ("o'brien@example.ie", "o'brien@example.ie", None),
        ("x@münchen.de", "x@xn--mnchen-3ya.de", None),
        ("a@b-c.io", "a@b-c.io", None),
        ("1234@example.com", "1234@example.com", None),
    ],
)
def test_normalise_email_accepts_practical_addresses(
    given: str, address: str, identity: str | None
) -> None:
    assert normalise_email(given) == (address, identity or address.lower())


@pytest.mark.parametrize(
    "given",
    [
        "",
        "   ",
        "plain",
        "@example.com",
        "ann@",
        "ann@@example.com",
        "ann@example",
        "ann@localhost",
        "ann@example..com",
        "ann@-example.com",
        "ann@example-.com",
        "ann@exa_mple.com",
        "ann@192.168.0.1",
        "ann@[127.0.0.1]",
        ".ann@example.com",
        "ann.@example.com",
        "a..nn@example.com",
        "ann smith@example.com",
        '"ann"@example.com',
        "änn@example.com",
        "ann@exam\nple.com",
        "ann@example.com>,<bob@example.com",
        "a" * 65 + "@example.com",
        "ann@example.123",
        "ann..lee@example.com",
        "a@" + "b" * 64 + ".com",
        "a@" + ("b" * 60 + ".") * 5 + "com",
        42,
        None,
        ["ann@example.com"],
    ],
)
def test_normalise_email_rejects_malformed(given: object) -> None:
    with pytest.raises(ValidationError, match="email"):
        normalise_email(given)


def test_subscribe_answers_pending(service: SubscriptionService) -> None:
    assert service.subscribe({"email": "ann@example.com"}) == {"status": "pending"}


def test_subscribe_stores_a_pending_subscriber_that_expires(service: SubscriptionService) -> None:
    service.subscribe({"email": "Ann@Example.com"})
    item = SubscriberModel.get("ann@example.com")
    assert attrgetter("address", "status", "audience", "generation", "confirmations")(item) == (
        "Ann@example.com",
        "pending",
        None,
        1,
        1,
    )
    assert item.token.startswith("token-0")
    assert item.expires_at == T0 + timedelta(days=7)


def test_confirm_activates_and_is_idempotent(service: SubscriptionService, clock: Clock) -> None:
    service.subscribe({"email": "ann@example.com"})
    clock.now += timedelta(days=6)
    assert service.confirm({"token": _token()}) == {"status": "active"}
    item = SubscriberModel.get("ann@example.com")
    assert attrgetter("status", "audience", "expires_at")(item) == ("active", "active", None)
    assert service.confirm({"token": _token()}) == {"status": "active"}


def test_confirm_expired_token_is_404(service: SubscriptionService, clock: Clock) -> None:
    service.subscribe({"email": "ann@example.com"})
    clock.now += timedelta(days=7, seconds=1)
    with pytest.raises(NotFound, match="confirmation token not found or expired"):
        service.confirm({"token": _token()})
    assert SubscriberModel.get("ann@example.com").status == "pending"


@pytest.mark.parametrize("token", ["unknown-token", "x" * 128, "bad token!"])
def test_confirm_unknown_token_is_404(service: SubscriptionService, token: str) -> None:
    service.subscribe({"email": "ann@example.com"})
    with pytest.raises(NotFound, match="confirmation token not found"):
        service.confirm({"token": token})


def test_confirm_after_unsubscribing_is_404(service: SubscriptionService) -> None:
    token = _subscribed(service)
    service.unsubscribe({"token": token})
    with pytest.raises(NotFound):
        service.confirm({"token": token})


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "token is required"), ({"token": 5}, "token must be a string"), ({"x": 1}, "unknown")],
)
def test_confirm_bad_body_is_400(
    service: SubscriptionService, body: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        service.confirm(body)


def test_sign_ups_within_an_hour_ask_for_one_confirmation(
    service: SubscriptionService, clock: Clock
) -> None:
    for minutes in (0, 1, 30, 59):
        clock.now = T0 + timedelta(minutes=minutes)
        assert service.subscribe({"email": "ann@example.com"}) == {"status": "pending"}
    assert SubscriberModel.get("ann@example.com").confirmations == 1


def test_sign_up_after_an_hour_asks_again_with_the_same_link_for_7_more_days(
    service: SubscriptionService, clock: Clock
) -> None:
    service.subscribe({"email": "ann@example.com"})
    token = _token()
    clock.now = T0 + timedelta(hours=1, seconds=1)
    service.subscribe({"email": "ann@example.com"})
    item = SubscriberModel.get("ann@example.com")
    assert attrgetter("confirmations", "token", "status")(item) == (2, token, "pending")
    assert item.expires_at == clock.now + timedelta(days=7)


def test_sign_up_of_an_active_address_changes_nothing(
    service: SubscriptionService, clock: Clock
) -> None:
    _subscribed(service)
    before = SubscriberModel.get("ann@example.com").attribute_values
    clock.now += timedelta(days=1)
    assert service.subscribe({"email": "ann@example.com"}) == {"status": "pending"}
    assert SubscriberModel.get("ann@example.com").attribute_values == before


def test_subscribe_twice_keeps_one_subscriber_and_its_token(service: SubscriptionService) -> None:
    service.subscribe({"email": "ann@example.com"})
    assert service.subscribe({"email": "ANN@example.com"}) == {"status": "pending"}
    items = list(SubscriberModel.scan())
    assert len(items) == 1
    assert items[0].token.startswith("token-0")
    assert items[0].generation == 1


def test_default_tokens_are_long_and_random(aws: None) -> None:
    service = SubscriptionService()
    for name in ("a", "b"):
        service.subscribe({"email": f"{name}@example.com"})
    tokens = {item.token for item in SubscriberModel.scan()}
    assert len(tokens) == 2
    assert all(len(token) >= 43 for token in tokens)  # 32 random bytes, base64url


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "email is required"), ({"email": "a@b.co", "name": "x"}, "unknown field(s): name")],
)
def test_subscribe_bad_body_is_rejected(
    service: SubscriptionService, body: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        service.subscribe(body)


def test_unsubscribe_marks_inactive(service: SubscriptionService) -> None:
    token = _subscribed(service)
    assert service.unsubscribe({"token": token}) == {"status": "unsubscribed"}
    item = SubscriberModel.get("ann@example.com")
    assert item.status == "unsubscribed"
    assert item.audience is None
    assert item.unsubscribed_at


def test_unsubscribe_pending_address_stops_it(service: SubscriptionService) -> None:
    service.subscribe({"email": "ann@example.com"})
    assert service.unsubscribe({"token": _token()}) == {"status": "unsubscribed"}
    item = SubscriberModel.get("ann@example.com")
    assert attrgetter("status", "expires_at")(item) == ("unsubscribed", None)


def test_unsubscribe_twice_is_idempotent(service: SubscriptionService) -> None:
    token = _subscribed(service)
    service.unsubscribe({"token": token})
    first = SubscriberModel.get("ann@example.com").unsubscribed_at
    assert service.unsubscribe({"token": token}) == {"status": "unsubscribed"}
    assert SubscriberModel.get("ann@example.com").unsubscribed_at == first


@pytest.mark.parametrize("token", ["unknown-token", "x" * 128, "bad token!", "token-0"])
def test_unsubscribe_unknown_token_is_404(service: SubscriptionService, token: str) -> None:
    service.subscribe({"email": "ann@example.com"})
    with pytest.raises(NotFound, match="token not found"):
        service.unsubscribe({"token": token})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "token is required"),
        ({"token": 5}, "token must be a string"),
        ({"token": ""}, "token must not be blank"),
        ({"token": "x" * 129}, "the limit is 128"),
        ({"token": "t", "email": "a@b.co"}, "unknown field"),
    ],
)
def test_unsubscribe_bad_body_is_400(
    service: SubscriptionService, body: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        service.unsubscribe(body)
    assert message in str(raised.value)


def test_resubscribe_after_unsubscribing_is_pending_with_new_token(
    service: SubscriptionService, clock: Clock
) -> None:
    old_token = _subscribed(service)
    service.unsubscribe({"token": old_token})
    clock.now += timedelta(hours=2)
    service.subscribe({"email": "ann@example.com"})
    item = SubscriberModel.get("ann@example.com")
    assert attrgetter("status", "audience", "generation", "confirmations")(item) == (
        "pending",
        None,
        2,
        2,
    )
    assert item.unsubscribed_at is None
    assert item.token != old_token


def test_resubscribe_within_the_hour_sends_nothing(service: SubscriptionService) -> None:
    service.unsubscribe({"token": _subscribed(service)})
    service.subscribe({"email": "ann@example.com"})
    item = SubscriberModel.get("ann@example.com")
    assert attrgetter("status", "confirmations")(item) == ("unsubscribed", 1)


def test_old_token_after_resubscribing_is_404(service: SubscriptionService, clock: Clock) -> None:
    old_token = _subscribed(service)
    service.unsubscribe({"token": old_token})
    clock.now += timedelta(hours=2)
    _subscribed(service)
    with pytest.raises(NotFound):
        service.unsubscribe({"token": old_token})
    assert SubscriberModel.get("ann@example.com").status == "active"
