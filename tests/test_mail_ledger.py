"""The delivery ledger's claim: a failed send gives back only a claim that is still its own."""

from __future__ import annotations

import pytest

from chalicelib.blog.mail.deliveries import LEASE, DeliveryLedger
from chalicelib.store.models import MailDeliveryModel
from tests.helpers import T0


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
