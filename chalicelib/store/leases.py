"""Leases: claim a unit of work for a while, or learn that it is done or that someone holds it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.store.storage import conditional


class Busy(Exception):
    """Another worker holds the lease on this unit of work: retry it later."""


def claim(
    item: Model,
    lease_until: NumberAttribute,
    *,
    now: datetime,
    lease: timedelta,
    condition: Condition,
    done: Callable[[], bool],
    actions: Sequence[Any] = (),
    what: str,
) -> int | None:
    """Take the lease on `item` when `condition` holds and no unexpired lease is held.

    Returns the lease's expiry (epoch seconds; a later write may require it still to be ours),
    or None when `done()` says the work needs nobody any more. Raises `Busy` when another
    worker holds the lease. The lease must outlast the worker's timeout, so a live worker
    never loses it; a crashed worker's lease simply expires.
    """
    until = int((now + lease).timestamp())
    free = lease_until.does_not_exist() | (lease_until < int(now.timestamp()))
    with conditional() as write:
        # The lease's own condition decides; a VersionAttribute still counts the write.
        item.update(
            actions=[lease_until.set(until), *actions],
            condition=condition & free,
            add_version_condition=False,
        )
    if not write.failed:
        return until
    if done():
        return None
    raise Busy(f"{what} is being worked on by another worker") from write.error


def release(item: Model, lease_until: NumberAttribute, lease: int) -> bool:
    """Give back a lease `claim` returned, so that a retry can take the work at once rather than
    when the lease expires; False when it was no longer ours."""
    with conditional() as write:
        item.update(
            actions=[lease_until.remove()],
            condition=lease_until == lease,
            add_version_condition=False,
        )
    return not write.failed
