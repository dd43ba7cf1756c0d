"""The mail services apart from Lambda: the exactly-once ledger, failures and leases, fan-out,
content."""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.blog.mail.fanout import FanOutService
from chalicelib.blog.mail.sender import MailService
from chalicelib.store.leases import Busy
from chalicelib.store.models import MailDeliveryModel, PostModel, SubscriberModel
from chalicelib.store.streams import PoisonRecord
from sandbox.faults import Faults, InjectedCrash, with_faults
from sandbox.resources import Mail
from tests.events import sent_mails
from tests.helpers import ManualClock as Clock


class FakeSES:
    """Records mails (parsed from their raw MIME); fails the next `fail` sends."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[EmailMessage] = []
        self.sources: list[str] = []
        self.fail = fail

    def send_raw_email(self, **kwargs: Any) -> dict[str, str]:
        if self.fail:
            self.fail -= 1
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendRawEmail"
            )
        message = email.message_from_bytes(kwargs["RawMessage"]["Data"], policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert kwargs["Destinations"] == [message["To"]]
        self.sent.append(message)
        self.sources.append(kwargs["Source"])
        return {"MessageId": f"m{len(self.sent)}"}

    def to(self) -> list[str]:
        return [str(m["To"]) for m in self.sent]

    def _part(self, n: int, kind: str) -> str:
        part = self.sent[n].get_body(preferencelist=(kind,))
        assert isinstance(part, EmailMessage)
        return str(part.get_content())

    def html(self, n: int = 0) -> str:
        return self._part(n, "html")

    def text(self, n: int = 0) -> str:
        return self._part(n, "plain")


@pytest.fixture
def ses() -> FakeSES:
    return FakeSES()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(mail: Mail, ses: FakeSES, clock: Clock) -> MailService:
    return MailService(
        ses=ses,
        site_url="https://blog.example.com/",
        api_url="https://api.example.com",
        clock=clock,
    )


@pytest.fixture
def fanout(mail: Mail) -> FanOutService:
    return FanOutService()


def _image(**values: Any) -> dict[str, Any]:
    return {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in values.items()}


def _subscriber_image(email: str = "ann@example.com", **extra: Any) -> dict[str, Any]:
    values = {
        "email": email,
        "address": email,
        "token": "tok",
        "status": "active",
        "generation": 1,
        **extra,
    }
    return _image(**values)


def _record(
    name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None, seq: str = "1"
) -> dict[str, Any]:
    change: dict[str, Any] = {"SequenceNumber": seq, "Keys": {}}
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    return {"eventName": name, "dynamodb": change}


def _subscriber(email: str, status: str = "active", token: str = "tok") -> None:
    SubscriberModel(
        email,
        address=email,
        token=token,
        status=status,
        generation=1,
        audience="active" if status == "active" else None,
        created_at="t",
        updated_at="t",
    ).save()


def _post(slug: str = "hello", status: str = "published", title: str = "Hello") -> None:
    PostModel(
        slug,
        title=title,
        summary="Sum",
        status=status,
        author="ed",
        created_at="t",
        updated_at="t",
    ).save()


# -- welcome: which records send ------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "outcome"),
    [
        (_record("INSERT", _subscriber_image()), "sent"),
        (_record("INSERT", _subscriber_image(status="unsubscribed")), "ignored"),
        (_record("MODIFY", _subscriber_image(), _subscriber_image()), "ignored"),
        (
            _record(
                "MODIFY", _subscriber_image(generation=2), _subscriber_image(status="unsubscribed")
            ),
            "sent",
        ),
        (
            _record("MODIFY", _subscriber_image(status="unsubscribed"), _subscriber_image()),
            "ignored",
        ),
        (_record("REMOVE", None, _subscriber_image()), "ignored"),
        (_record("INSERT", _subscriber_image(status="pending", confirmations=1)), "sent"),
        (
            _record(
                "MODIFY",
                _subscriber_image(status="pending", confirmations=2),
                _subscriber_image(status="pending", confirmations=1),
            ),
            "sent",
        ),
        (
            _record(
                "MODIFY",
                _subscriber_image(status="pending", confirmations=1),
                _subscriber_image(status="pending", confirmations=1),
            ),
            "ignored",
        ),
        (_record("MODIFY", _subscriber_image(), _subscriber_image(status="pending")), "sent"),
    ],
    ids=[
        "insert",
        "insert-inactive",
        "edit",
        "resubscribe",
        "unsubscribe",
        "remove",
        "sign-up",
        "sign-up-again",
        "pending-edit",
        "confirmed",
    ],
)
def test_welcome_sends_only_on_sign_up_and_confirmation(
    service: MailService, record: dict[str, Any], outcome: str
) -> None:
    assert service.welcome(record) == outcome


def test_welcome_redelivered_is_a_duplicate(service: MailService, ses: FakeSES) -> None:
    record = _record("INSERT", _subscriber_image())
    assert service.welcome(record) == "sent"
    assert service.welcome(record) == "duplicate"
    assert ses.to() == ["ann@example.com"]


def test_welcome_each_generation_gets_its_own_mail(service: MailService, ses: FakeSES) -> None:
    service.welcome(_record("INSERT", _subscriber_image()))
    back = _record(
        "MODIFY", _subscriber_image(generation=2), _subscriber_image(status="unsubscribed")
    )
    assert service.welcome(back) == "sent"
    assert len(ses.sent) == 2


@pytest.mark.parametrize(
    "record",
    [
        {"eventName": "INSERT"},
        {"dynamodb": {}},
        "not a record",
        _record("INSERT", {"status": {"S": "active"}}),
        _record("INSERT", _subscriber_image(generation="x")),
        {"eventName": "INSERT", "dynamodb": {"NewImage": ["x"]}},
    ],
)
def test_welcome_poison_record_raises_poison(service: MailService, record: Any) -> None:
    with pytest.raises(PoisonRecord):
        service.welcome(record)


def test_send_welcome_mails_reports_failures_by_sequence_number(
    service: MailService, ses: FakeSES
) -> None:
    records = [
        _record("INSERT", _subscriber_image("a@example.com"), seq="10"),
        _record("INSERT", _image(email="b@example.com", status="active"), seq="11"),
        {"eventName": "INSERT", "dynamodb": {"NewImage": 5}},  # no sequence number to report
        _record("INSERT", _subscriber_image("c@example.com"), seq="13"),
    ]
    assert service.send_welcome_mails(records) == {"batchItemFailures": [{"itemIdentifier": "11"}]}
    assert ses.to() == ["a@example.com", "c@example.com"]


# -- the claim ------------------------------------------------------------------------------


def test_failed_send_releases_the_claim_and_is_retried(service: MailService, ses: FakeSES) -> None:
    ses.fail = 1
    record = _record("INSERT", _subscriber_image(), seq="7")
    assert service.send_welcome_mails([record]) == {"batchItemFailures": [{"itemIdentifier": "7"}]}
    assert MailDeliveryModel.count() == 0
    assert service.send_welcome_mails([record]) == {"batchItemFailures": []}
    assert ses.to() == ["ann@example.com"]


def test_sent_delivery_is_recorded(service: MailService) -> None:
    service.welcome(_record("INSERT", _subscriber_image()))
    (item,) = list(MailDeliveryModel.scan())
    assert item.delivery_id == "welcome#ann@example.com#1"
    assert (item.state, item.message_id, item.attempts) == ("sent", "m1", 1)
    assert item.lease_until is None
    assert item.expires_at is not None


def test_claim_held_by_another_worker_is_busy(service: MailService, clock: Clock) -> None:
    MailDeliveryModel(
        "welcome#ann@example.com#1",
        state="sending",
        lease_until=int((clock.now + timedelta(minutes=1)).timestamp()),
    ).save()
    with pytest.raises(Busy):
        service.welcome(_record("INSERT", _subscriber_image()))


def test_expired_claim_of_a_crashed_worker_is_taken_over(
    service: MailService, ses: FakeSES, clock: Clock
) -> None:
    MailDeliveryModel(
        "welcome#ann@example.com#1",
        state="sending",
        lease_until=int((clock.now - timedelta(seconds=1)).timestamp()),
        attempts=1,
    ).save()
    assert service.welcome(_record("INSERT", _subscriber_image())) == "sent"
    assert ses.to() == ["ann@example.com"]
    assert MailDeliveryModel.get("welcome#ann@example.com#1").attempts == 2


def test_sent_delivery_is_never_sent_again_even_after_lease_time(
    service: MailService, ses: FakeSES, clock: Clock
) -> None:
    record = _record("INSERT", _subscriber_image())
    service.welcome(record)
    clock.now += timedelta(days=30)
    assert service.welcome(record) == "duplicate"
    assert len(ses.sent) == 1


# -- fan-out --------------------------------------------------------------------------------


def _post_image(status: str, slug: str = "hello") -> dict[str, Any]:
    return _image(slug=slug, title="Hello", status=status)


@pytest.mark.parametrize(
    ("record", "queued"),
    [
        (_record("INSERT", _post_image("published")), True),
        (_record("INSERT", _post_image("draft")), False),
        (_record("MODIFY", _post_image("published"), _post_image("draft")), True),
        (_record("MODIFY", _post_image("published"), _post_image("published")), False),
        (_record("MODIFY", _post_image("draft"), _post_image("published")), False),
        (_record("REMOVE", None, _post_image("published")), False),
    ],
    ids=["create-published", "create-draft", "publish", "edit", "unpublish", "delete"],
)
def test_announce_only_on_transition_to_published(
    fanout: FanOutService, mail: Mail, record: dict[str, Any], queued: bool
) -> None:
    _subscriber("ann@example.com")
    fanout.announce(record)
    messages = boto3.client("sqs").receive_message(QueueUrl=mail.queue_url).get("Messages", [])
    assert bool(messages) is queued


def test_announce_batches_active_subscribers_by_fifty(fanout: FanOutService, mail: Mail) -> None:
    emails = [f"r{n:03}@example.com" for n in range(120)]
    for address in emails:
        _subscriber(address)
    _subscriber("gone@example.com", status="unsubscribed")
    assert fanout.announce(_record("INSERT", _post_image("published"))) == "queued 3"
    sqs = boto3.client("sqs")
    bodies = []
    while got := sqs.receive_message(QueueUrl=mail.queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        bodies += [json.loads(m["Body"]) for m in got]
    assert sorted(len(b["emails"]) for b in bodies) == [20, 50, 50]
    assert sorted(e for b in bodies for e in b["emails"]) == emails
    assert {b["slug"] for b in bodies} == {"hello"}


def test_announce_with_no_subscribers_queues_nothing(fanout: FanOutService) -> None:
    assert fanout.announce(_record("INSERT", _post_image("published"))) == "queued 0"


# -- post mails -----------------------------------------------------------------------------


def _message(*emails: str, slug: str = "hello") -> str:
    return json.dumps({"slug": slug, "emails": list(emails)})


def test_post_mails_send_once_per_subscriber(service: MailService, ses: FakeSES) -> None:
    _post()
    _subscriber("a@example.com")
    _subscriber("b@example.com")
    body = _message("a@example.com", "b@example.com")
    assert service.post_mails(body) == {"sent": 2, "duplicate": 0, "skipped": 0}
    assert service.post_mails(body) == {"sent": 0, "duplicate": 2, "skipped": 0}
    assert ses.to() == ["a@example.com", "b@example.com"]


def test_post_mails_skip_unsubscribed_and_unknown(service: MailService, ses: FakeSES) -> None:
    _post()
    _subscriber("a@example.com")
    _subscriber("b@example.com", status="unsubscribed")
    result = service.post_mails(_message("a@example.com", "b@example.com", "c@example.com"))
    assert result == {"sent": 1, "duplicate": 0, "skipped": 2}
    assert ses.to() == ["a@example.com"]


@pytest.mark.parametrize("post", ["missing", "draft"])
def test_post_mails_for_a_post_no_longer_published_send_nothing(
    service: MailService, ses: FakeSES, post: str
) -> None:
    if post == "draft":
        _post(status="draft")
    _subscriber("a@example.com")
    assert service.post_mails(_message("a@example.com"))["sent"] == 0
    assert ses.sent == []


def test_post_mails_one_failure_does_not_block_the_others(
    service: MailService, ses: FakeSES
) -> None:
    _post()
    for name in ("a", "b", "c"):
        _subscriber(f"{name}@example.com")
    ses.fail = 1
    result = service.send_post_mails(
        [("m1", _message("a@example.com", "b@example.com", "c@example.com"))]
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert ses.to() == ["b@example.com", "c@example.com"]
    assert service.send_post_mails(
        [("m1", _message("a@example.com", "b@example.com", "c@example.com"))]
    ) == {"batchItemFailures": []}
    assert sorted(ses.to()) == ["a@example.com", "b@example.com", "c@example.com"]


@pytest.mark.parametrize(
    "body",
    [
        "{",
        "[]",
        '{"slug": "hello"}',
        '{"slug": 5, "emails": []}',
        '{"slug": "hello", "emails": [1]}',
        json.dumps({"slug": "hello", "emails": [f"{n}@x.io" for n in range(51)]}),
    ],
)
def test_post_mails_poison_message_raises_poison(service: MailService, body: str) -> None:
    with pytest.raises(PoisonRecord):
        service.post_mails(body)


# -- content --------------------------------------------------------------------------------


def test_unsubscribe_url_encodes_the_token(service: MailService) -> None:
    url = service.links.unsubscribe("a+b/c=&d")
    assert url == "https://blog.example.com/unsubscribe.html?token=a%2Bb%2Fc%3D%26d"


def test_welcome_mail_has_text_and_html_with_the_link(service: MailService, ses: FakeSES) -> None:
    service.welcome(_record("INSERT", _subscriber_image(token="t&<k>")))
    link = "https://blog.example.com/unsubscribe.html?token=t%26%3Ck%3E"
    assert link in ses.text()
    assert f'href="{link}"' in ses.html()
    assert ses.sources == ["blog@example.com"]
    one_click = "https://api.example.com/subscriptions/unsubscribe?token=t%26%3Ck%3E"
    assert ses.sent[0]["List-Unsubscribe"] == f"<{one_click}>"
    assert ses.sent[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_confirmation_mail_links_to_confirm_and_has_no_unsubscribe_header(
    service: MailService, ses: FakeSES
) -> None:
    service.welcome(_record("INSERT", _subscriber_image(status="pending", confirmations=1)))
    link = "https://blog.example.com/confirm.html?token=tok"
    assert link in ses.text()
    assert f'href="{link}"' in ses.html()
    assert ses.sent[0]["Subject"] == "Confirm your subscription to the MyTodoList blog"
    assert ses.sent[0]["List-Unsubscribe"] is None


def test_confirmation_redelivered_is_a_duplicate(service: MailService, ses: FakeSES) -> None:
    record = _record("INSERT", _subscriber_image(status="pending", confirmations=1))
    assert [service.welcome(record) for _ in range(3)] == ["sent", "duplicate", "duplicate"]
    assert len(ses.sent) == 1


def test_post_mail_escapes_everything_interpolated(service: MailService, ses: FakeSES) -> None:
    _post(title='<img src=x onerror="alert(1)">')
    _subscriber("a@example.com", token='"><script>')
    service.post_mails(_message("a@example.com"))
    page = ses.html()
    assert "<img" not in page
    assert "<script>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "token=%22%3E%3Cscript%3E" in page


def test_post_mail_subject_is_one_line(service: MailService, ses: FakeSES) -> None:
    _post(title="Two\nlines")
    _subscriber("a@example.com")
    service.post_mails(_message("a@example.com"))
    assert ses.sent[0]["Subject"] == "New post: Two lines"


def test_real_ses_accepts_the_mail(mail: Mail, clock: Clock) -> None:
    service = MailService(clock=clock)  # the test stage's settings, moto's SES
    assert service.welcome(_record("INSERT", _subscriber_image())) == "sent"
    assert [m.to for m in sent_mails()] == [["ann@example.com"]]


# -- under faults: throttling after SES took the mail, crashes, duplicate deliveries ------------


def _throttled_update(fail: Callable[[int], bool]) -> Callable[..., Any]:
    """MailDeliveryModel.update that DynamoDB throttles on the calls `fail` picks (1 = claim)."""
    real = MailDeliveryModel.update
    calls: list[int] = []

    def update(self: MailDeliveryModel, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if fail(len(calls)):
            cause = ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "UpdateItem",
            )
            raise UpdateError("Failed to update item", cause)
        return real(self, *args, **kwargs)

    return update


def test_sent_mail_is_recorded_through_throttling_and_never_sent_again(
    service: MailService, ses: FakeSES, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The claim (call 1) lands; recording "sent" is throttled twice, then lands.
    monkeypatch.setattr(MailDeliveryModel, "update", _throttled_update(lambda n: n in (2, 3)))
    record = _record("INSERT", _subscriber_image())
    assert service.welcome(record) == "sent"
    assert MailDeliveryModel.get("welcome#ann@example.com#1").state == "sent"
    monkeypatch.undo()
    assert service.welcome(record) == "duplicate"
    assert ses.to() == ["ann@example.com"]


def test_sent_mail_the_ledger_cannot_record_is_not_reported_as_failed(
    service: MailService, ses: FakeSES, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MailDeliveryModel, "update", _throttled_update(lambda n: n > 1))
    record = _record("INSERT", _subscriber_image(), seq="9")
    # Reporting it failed would have it sent again once the claim expires.
    assert service.send_welcome_mails([record]) == {"batchItemFailures": []}
    monkeypatch.undo()
    with pytest.raises(Busy):
        service.welcome(record)
    assert ses.to() == ["ann@example.com"]


def test_failed_send_whose_release_is_throttled_is_still_retried_at_once(
    service: MailService, ses: FakeSES, monkeypatch: pytest.MonkeyPatch
) -> None:
    ses.fail = 1
    real = MailDeliveryModel.delete
    calls: list[int] = []

    def delete(self: MailDeliveryModel, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            cause = ClientError({"Error": {"Code": "ThrottlingException", "Message": "s"}}, "D")
            raise DeleteError("Failed to delete item", cause)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MailDeliveryModel, "delete", delete)
    record = _record("INSERT", _subscriber_image(), seq="3")
    assert service.send_welcome_mails([record]) == {"batchItemFailures": [{"itemIdentifier": "3"}]}
    # Released on its second try: the retry claims the mail now, not when the lease expires.
    assert service.send_welcome_mails([record]) == {"batchItemFailures": []}
    assert ses.to() == ["ann@example.com"]


def _faulted(spec: str, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`handler` as the sandbox's pump invokes it under the lambda fault rule `spec`."""
    faults = Faults(seed="1")
    faults.set(spec)
    invoke = with_faults("h", lambda event, context: handler(event["Records"]), faults)
    return lambda records: invoke({"Records": records}, None)


def test_welcome_crashed_after_ses_took_it_comes_again_and_is_not_sent_again(
    service: MailService, ses: FakeSES
) -> None:
    crashing = _faulted("lambda:*:crash:1", service.send_welcome_mails)
    record = _record("INSERT", _subscriber_image())
    with pytest.raises(InjectedCrash):
        crashing([record])
    # Lambda delivers the batch again, as after a timeout.
    assert service.send_welcome_mails([record]) == {"batchItemFailures": []}
    assert ses.to() == ["ann@example.com"]


def test_post_mails_delivered_twice_send_each_mail_once(service: MailService, ses: FakeSES) -> None:
    _post()
    _subscriber("a@example.com")
    _subscriber("b@example.com")
    twice = _faulted("lambda:*:duplicate:1", service.send_post_mails)
    message = ("m1", _message("a@example.com", "b@example.com"))
    assert twice([message]) == {"batchItemFailures": []}
    assert ses.to() == ["a@example.com", "b@example.com"]
