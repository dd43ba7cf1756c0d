"""The delivery ledger: its claim (taken, counted, busy while held, given back only while its
own), the record of a sent mail (message id, time, retention), and what a lost claim or a
ledger that cannot record logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.blog.mail.deliveries import DELIVERY_RETENTION, LEASE, DeliveryLedger
from chalicelib.store import outages
from chalicelib.store.leases import Busy
from chalicelib.store.models import MailDeliveryModel
from tests.helpers import T0, ManualClock


def test_failed_send_releases_its_own_claim(aws: None) -> None:
    def fail() -> str:
        raise RuntimeError("the mail service refused")

    with pytest.raises(RuntimeError):
        DeliveryLedger(clock=lambda: T0).deliver("d1", fail)
    assert MailDeliveryModel.count() == 0


def test_failed_send_leaves_the_claim_another_worker_took_over(aws: None) -> None:
    theirs = int((T0 + 2 * LEASE).timestamp())

    def fail_after_losing_the_lease() -> str:
        # Our lease ran out mid-send and another worker claimed the mail.
        MailDeliveryModel("d1").update(
            actions=[MailDeliveryModel.lease_until.set(theirs)], add_version_condition=False
        )
        raise RuntimeError("the mail service timed out")

    with pytest.raises(RuntimeError):
        DeliveryLedger(clock=lambda: T0).deliver("d1", fail_after_losing_the_lease)
    claim = MailDeliveryModel.get("d1", consistent_read=True)
    assert (claim.state, claim.lease_until) == ("sending", theirs)


def test_claim_lasts_the_lease(aws: None) -> None:
    seen: list[float | None] = []

    def send() -> str:
        seen.append(MailDeliveryModel.get("d1", consistent_read=True).lease_until)
        return "m1"

    assert DeliveryLedger(clock=lambda: T0).deliver("d1", send) == "sent"
    assert seen == [int((T0 + LEASE).timestamp())]


# -- the record of a sent mail, a duplicate, a held or released claim ---------------------------

LOGGER = "chalicelib.blog.mail.deliveries"


def _throttled(operation: str) -> UpdateError:
    cause = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
        operation,
    )
    return UpdateError("Failed to update item", cause)


@pytest.fixture
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """`outages.persistently` tries again at once (its pauses are random and at most 1 s)."""
    monkeypatch.setattr(outages, "random", SimpleNamespace(uniform=lambda low, high: 0.0))


def _never_sent() -> str:
    raise AssertionError("a duplicate must not be sent")


def test_sent_mail_is_recorded_with_its_message_id_time_and_retention(aws: None) -> None:
    clock = ManualClock()

    def send() -> str:
        clock.now += timedelta(seconds=2)
        return "m1"

    assert DeliveryLedger(clock=clock).deliver("d1", send) == "sent"
    record = MailDeliveryModel.get("d1", consistent_read=True)
    assert (record.state, record.message_id) == ("sent", "m1")
    assert "lease_until" not in record.attribute_values
    assert record.sent_at == "2026-11-23T10:00:02.000000Z"
    # Kept from the claim on, so that a post published again within it mails nobody again.
    assert record.expires_at == T0 + DELIVERY_RETENTION


def test_claim_marks_the_mail_sending_and_counts_the_attempt(aws: None) -> None:
    # A worker that died mid-send left its claim; its lease has run out.
    MailDeliveryModel("d1", state="sending", attempts=1, lease_until=int(T0.timestamp()) - 1).save()
    seen: list[tuple[str, float]] = []

    def send() -> str:
        claim = MailDeliveryModel.get("d1", consistent_read=True)
        seen.append((claim.state, claim.attempts))
        return "m1"

    assert DeliveryLedger(clock=lambda: T0).deliver("d1", send) == "sent"
    assert seen == [("sending", 2)]


def test_redelivered_sent_mail_is_a_duplicate_read_consistently(aws: None) -> None:
    ledger = DeliveryLedger(clock=lambda: T0)
    ledger.deliver("d1", lambda: "m1")
    reads: list[dict[str, Any]] = []
    events = MailDeliveryModel._get_connection().connection.client.meta.events  # noqa: SLF001

    def record(params: dict[str, Any], **_: Any) -> None:
        reads.append(params)

    events.register("before-parameter-build.dynamodb.GetItem", record)
    try:
        assert ledger.deliver("d1", _never_sent) == "duplicate"
    finally:
        events.unregister("before-parameter-build.dynamodb.GetItem", record)
    # Read just after another worker marked it sent: an eventually consistent read could miss it.
    assert [r.get("ConsistentRead") for r in reads] == [True]


def test_mail_claimed_by_a_live_worker_is_busy(aws: None) -> None:
    MailDeliveryModel("d1", state="sending", lease_until=int((T0 + LEASE).timestamp())).save()
    with pytest.raises(Busy, match=r"^mail d1 is being worked on by another worker$"):
        DeliveryLedger(clock=lambda: T0).deliver("d1", _never_sent)


def test_claim_released_while_we_looked_is_busy_not_a_duplicate(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    MailDeliveryModel("d1", state="sending", lease_until=int((T0 + LEASE).timestamp())).save()
    real = MailDeliveryModel.update

    def update_then_the_holder_releases(self: MailDeliveryModel, **kwargs: Any) -> Any:
        try:
            return real(self, **kwargs)
        finally:
            # The worker holding the claim failed to send and gave it back.
            MailDeliveryModel("d1").delete()

    monkeypatch.setattr(MailDeliveryModel, "update", update_then_the_holder_releases)
    # Not "duplicate": the mail was never sent, so the retry must claim and send it.
    with pytest.raises(Busy):
        DeliveryLedger(clock=lambda: T0).deliver("d1", _never_sent)


def test_mail_sent_after_its_claim_was_taken_over_keeps_the_new_claim_and_warns(
    aws: None, caplog: pytest.LogCaptureFixture
) -> None:
    theirs = int((T0 + 2 * LEASE).timestamp())

    def send_while_losing_the_lease() -> str:
        MailDeliveryModel("d1").update(
            actions=[MailDeliveryModel.lease_until.set(theirs)], add_version_condition=False
        )
        return "m1"

    caplog.set_level(logging.WARNING, LOGGER)
    assert DeliveryLedger(clock=lambda: T0).deliver("d1", send_while_losing_the_lease) == "sent"
    claim = MailDeliveryModel.get("d1", consistent_read=True)
    assert (claim.state, claim.lease_until) == ("sending", theirs)
    assert "message_id" not in claim.attribute_values
    assert caplog.record_tuples == [
        (LOGGER, logging.WARNING, "mail d1 was sent after its claim expired")
    ]


def test_sent_mark_whose_answer_was_lost_is_written_again_without_a_warning(
    aws: None, no_pause: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = MailDeliveryModel.update
    calls: list[int] = []

    def update(self: MailDeliveryModel, **kwargs: Any) -> Any:
        calls.append(1)
        answer = real(self, **kwargs)
        if len(calls) == 2:
            raise _throttled("UpdateItem")  # the mark landed, its answer did not
        return answer

    monkeypatch.setattr(MailDeliveryModel, "update", update)
    caplog.set_level(logging.WARNING, LOGGER)
    assert DeliveryLedger(clock=lambda: T0).deliver("d1", lambda: "m1") == "sent"
    assert len(calls) == 3
    record = MailDeliveryModel.get("d1", consistent_read=True)
    assert (record.state, record.message_id) == ("sent", "m1")
    # The retry is logged, naming the write; no takeover is.
    (retried,) = caplog.records
    assert retried.getMessage().startswith("record mail d1 as sent: ")


def test_sent_mail_the_ledger_cannot_record_counts_as_sent_and_is_logged(
    aws: None, no_pause: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = MailDeliveryModel.update
    calls: list[int] = []

    def update(self: MailDeliveryModel, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise _throttled("UpdateItem")
        return real(self, **kwargs)

    monkeypatch.setattr(MailDeliveryModel, "update", update)
    caplog.set_level(logging.ERROR, LOGGER)
    # Failing it would have it sent again once the claim expires.
    assert DeliveryLedger(clock=lambda: T0).deliver("d1", lambda: "m1") == "sent"
    (logged,) = caplog.records
    assert (logged.levelno, logged.getMessage()) == (
        logging.ERROR,
        "mail d1 was sent, but the ledger could not record it",
    )
    assert logged.exc_info is not None


def test_failed_send_whose_release_is_throttled_is_released_on_a_second_try(
    aws: None, no_pause: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = MailDeliveryModel.delete
    calls: list[int] = []

    def delete(self: MailDeliveryModel, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise DeleteError("Failed to delete item", _throttled("DeleteItem").cause)
        return real(self, **kwargs)

    def fail() -> str:
        raise RuntimeError("the mail service refused")

    monkeypatch.setattr(MailDeliveryModel, "delete", delete)
    caplog.set_level(logging.WARNING)
    with pytest.raises(RuntimeError):
        DeliveryLedger(clock=lambda: T0).deliver("d1", fail)
    assert MailDeliveryModel.count() == 0
    (retried,) = caplog.records
    assert retried.getMessage().startswith("release mail d1: ")
