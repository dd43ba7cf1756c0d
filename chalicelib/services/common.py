"""What services share: the clock and id factory tests replace, and SQS batch reporting."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def report_failures(
    messages: Iterable[tuple[str, str]], handle: Callable[[str], object], what: str
) -> dict[str, Any]:
    """Handle each SQS message (id, body) alone; report the failed ones for Lambda to retry.

    One bad message must not make Lambda retry the whole batch, so nothing escapes: a failure
    is logged and named in `batchItemFailures`.
    """
    failures = []
    for message_id, body in messages:
        try:
            handle(body)
        except Exception:
            log.exception("%s message %s failed; it will be retried", what, message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
