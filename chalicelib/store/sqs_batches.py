"""SQS batches: each message handled alone, the failed ones reported for Lambda to retry."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)


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
