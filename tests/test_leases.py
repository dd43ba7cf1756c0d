"""Leases (chalicelib/store/leases.py): one worker at a time holds a unit of work, until it gives
the lease back or the lease runs out; the item's version is no part of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.store import leases
from chalicelib.store.models import PhotoModel

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _photo() -> PhotoModel:
    item = PhotoModel(
        "alice",
        "p1",
        status="pending",
        content_type="image/jpeg",
        size=10,
        created_at="2026-12-06T12:00:00Z",
        created_key="2026-12-06T12:00:00Z#p1",
        updated_at="2026-12-06T12:00:00Z",
    )
    item.save()
    return item


def _claim(item: PhotoModel, now: datetime = NOW, done: bool = False) -> int | None:
    return leases.claim(
        item,
        PhotoModel.lease_until,
        now=now,
        lease=LEASE,
        condition=PhotoModel.status == "pending",
        done=lambda: done,
        what="photo p1",
    )


def _stored() -> PhotoModel:
    return PhotoModel.get("alice", "p1", consistent_read=True)


def test_a_free_item_is_claimed_until_now_plus_the_lease(aws: None) -> None:
    until = _claim(_photo())
    assert until == int((NOW + LEASE).timestamp())
    assert _stored().lease_until == until


def test_a_held_lease_makes_another_worker_busy_naming_the_work(aws: None) -> None:
    item = _photo()
    _claim(item)
    with pytest.raises(leases.Busy) as busy:
        _claim(_stored(), now=NOW + timedelta(minutes=1))
    assert str(busy.value) == "photo p1 is being worked on by another worker"


def test_a_lease_is_held_through_the_second_it_names_and_free_after(aws: None) -> None:
    until = _claim(_photo())
    assert until is not None
    at_expiry = datetime.fromtimestamp(until, UTC)
    with pytest.raises(leases.Busy):
        _claim(_stored(), now=at_expiry)
    assert (
        _claim(_stored(), now=at_expiry + timedelta(seconds=1))
        == until + int(LEASE.total_seconds()) + 1
    )


def test_done_work_is_none_not_busy(aws: None) -> None:
    item = _photo()
    _claim(item)
    assert _claim(_stored(), now=NOW + timedelta(minutes=1), done=True) is None


def test_a_stale_copy_of_the_item_still_claims_and_releases(aws: None) -> None:
    # The worker's copy is older than the stored item (another write bumped its version): the
    # lease's own condition decides, not the version.
    stale = _photo()
    fresh = _stored()
    fresh.update(actions=[PhotoModel.filename.set("cat.jpg")])
    until = _claim(stale)
    assert until is not None
    _stored().update(actions=[PhotoModel.filename.set("dog.jpg")])  # and again while it works
    assert leases.release(stale, PhotoModel.lease_until, until) is True
    assert _stored().lease_until is None


def test_release_gives_back_only_its_own_lease(aws: None) -> None:
    until = _claim(_photo())
    assert until is not None
    assert leases.release(_stored(), PhotoModel.lease_until, until - 1) is False
    assert _stored().lease_until == until  # the holder's lease stays
    assert leases.release(_stored(), PhotoModel.lease_until, until) is True
    assert _stored().lease_until is None
    # Given back, the work can be taken at once, long before the lease would have run out.
    assert _claim(_stored(), now=NOW + timedelta(seconds=1)) is not None
