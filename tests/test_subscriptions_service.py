"""SubscriptionService apart from HTTP: address checks, no enumeration, tokens, re-subscribing."""

from __future__ import annotations

from itertools import count

import pytest

from chalicelib.errors import NotFound, ValidationError
from chalicelib.models import SubscriberModel
from chalicelib.services.subscriptions import SubscriptionService, normalise_email


@pytest.fixture
def service(aws: None) -> SubscriptionService:
    numbers = count()
    return SubscriptionService(new_token=lambda: f"token-{next(numbers)}-{'x' * 32}")


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


def test_subscribe_stores_an_active_subscriber(service: SubscriptionService) -> None:
    service.subscribe({"email": "Ann@Example.com"})
    item = SubscriberModel.get("ann@example.com")
    assert (item.address, item.status, item.audience, item.generation) == (
        "Ann@example.com",
        "active",
        "active",
        1,
    )
    assert item.token.startswith("token-0")


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
    service.subscribe({"email": "ann@example.com"})
    token = SubscriberModel.get("ann@example.com").token
    assert service.unsubscribe({"token": token}) == {"status": "unsubscribed"}
    item = SubscriberModel.get("ann@example.com")
    assert item.status == "unsubscribed"
    assert item.audience is None
    assert item.unsubscribed_at


def test_unsubscribe_twice_is_idempotent(service: SubscriptionService) -> None:
    service.subscribe({"email": "ann@example.com"})
    token = SubscriberModel.get("ann@example.com").token
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


def test_resubscribe_after_unsubscribing_reactivates_with_new_token(
    service: SubscriptionService,
) -> None:
    service.subscribe({"email": "ann@example.com"})
    old_token = SubscriberModel.get("ann@example.com").token
    service.unsubscribe({"token": old_token})
    service.subscribe({"email": "ann@example.com"})
    item = SubscriberModel.get("ann@example.com")
    assert (item.status, item.audience, item.generation) == ("active", "active", 2)
    assert item.unsubscribed_at is None
    assert item.token != old_token


def test_old_token_after_resubscribing_is_404(service: SubscriptionService) -> None:
    service.subscribe({"email": "ann@example.com"})
    old_token = SubscriberModel.get("ann@example.com").token
    service.unsubscribe({"token": old_token})
    service.subscribe({"email": "ann@example.com"})
    with pytest.raises(NotFound):
        service.unsubscribe({"token": old_token})
    assert SubscriberModel.get("ann@example.com").status == "active"
