"""DynamoDB stream records: decoded into models, handled one by one, failures reported."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

log = logging.getLogger(__name__)

Json = dict[str, Any]


class PoisonRecord(ValueError):
    """The record or message cannot be understood; retrying it will not help."""


@dataclass(frozen=True)
class Change[M: Model]:
    """One stream record: INSERT, MODIFY or REMOVE, with the item before and after."""

    event: str
    new: M | None
    old: M | None


def decode[M: Model](record: Any, model: type[M], required: Iterable[str] = ()) -> Change[M]:
    """The record's images as `model` instances; `required` attributes must be in the new one."""
    event, new_image, old_image = _images(record)
    new, old = _item(model, new_image), _item(model, old_image)
    missing = [name for name in required if new is not None and getattr(new, name) is None]
    if missing:
        raise PoisonRecord(f"stream record image lacks {', '.join(missing)}")
    return Change(event, new, old)


def _images(record: Any) -> tuple[str, Json | None, Json | None]:
    try:
        change = record["dynamodb"]
        event = record["eventName"]
        images = (change.get("NewImage"), change.get("OldImage"))
    except (TypeError, KeyError, AttributeError) as e:
        raise PoisonRecord("not a DynamoDB stream record") from e
    if not isinstance(event, str) or not all(i is None or isinstance(i, dict) for i in images):
        raise PoisonRecord("stream record images are not attribute maps")
    return event, images[0], images[1]


def _item[M: Model](model: type[M], image: Json | None) -> M | None:
    if image is None:
        return None
    try:
        return model.from_raw_data(image)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise PoisonRecord(f"stream record image is not a {model.__name__}: {e}") from e


def sequence_number(record: Any) -> str | None:
    try:
        number = record["dynamodb"]["SequenceNumber"]
    except (TypeError, KeyError):
        return None
    return number if isinstance(number, str) else None


def report_failures(records: Iterable[Json], handle: Callable[[Json], object], what: str) -> Json:
    """Handle each record alone; report the failed ones by sequence number for retry."""
    failures = []
    for record in records:
        number = sequence_number(record)
        try:
            handle(record)
        except Exception:
            log.exception("%s for stream record %s failed; it will be retried", what, number)
            if number is None:
                # Lambda cannot retry what it cannot name; reporting it would fail the batch.
                continue
            failures.append({"itemIdentifier": number})
    return {"batchItemFailures": failures}
