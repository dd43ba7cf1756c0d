"""AWS failures that outlived botocore's retries, as errors a client can act on.

Throttling (DynamoDB's capacity errors, S3's SlowDown, SES's and SQS's Throttling, a
transaction cancelled because one of its items was throttled) is `Throttled` (429); a 5xx, a
timeout or a lost connection is `Unavailable` (503); both tell the client to come back after
Retry-After. Anything else is none of these: a bug, which stays a 500. `persistently` retries a
write that must not be lost to a short outage (the record that a mail went out).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from chalicelib.core.errors import DomainError, Throttled, Unavailable

log = logging.getLogger(__name__)

# The codes AWS services throttle with (botocore's standard retry mode knows them too).
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "LimitExceededException",
    }
)
# A cancelled transaction's reasons that mean a throttled item (the others, a failed condition
# or a transaction in flight on the item, are outcomes the caller branches on).
_TXN_THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
BUSY = "the service is busy; retry after a short pause"
DOWN = "a service this request needs failed; retry after a short pause"
# How often `persistently` tries, and its longest pause between tries (seconds).
PERSIST_ATTEMPTS = 5
PERSIST_MAX_PAUSE = 1.0
# No try of `persistently` starts later than this after its first (seconds).
PERSIST_SECONDS = 5.0


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the botocore error a PynamoDB error wraps, and what each was raised from."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [getattr(current, "cause", None), current.__cause__, current.__context__]


def _cancellation(error: BaseException) -> frozenset[str]:
    """The reason codes of a cancelled transaction (none for any other error), from PynamoDB's
    parsed reasons or from the botocore response."""
    reasons = getattr(error, "cancellation_reasons", None)
    if reasons:
        return frozenset(reason.code for reason in reasons if reason is not None)
    response: Any = getattr(error, "response", None)
    raw = response.get("CancellationReasons", []) if isinstance(response, dict) else []
    return frozenset(str(r.get("Code")) for r in raw if isinstance(r, dict) and r.get("Code"))


def _cancelled(codes: frozenset[str]) -> DomainError | None:
    # Throttling wins: a retry after it is safe whatever else the transaction met.
    return Throttled(BUSY) if codes & _TXN_THROTTLED else None


def _client_error(error: BaseException) -> DomainError | None:
    response: Any = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in THROTTLING_CODES:
        return Throttled(BUSY)
    if isinstance(status, int) and status >= 500:
        return Unavailable(DOWN)
    return None


def domain_error(error: BaseException) -> DomainError | None:
    """The client-facing error of an AWS failure (throttling, 5xx, timeout), else None."""
    from botocore.exceptions import ConnectionError as Disconnected  # noqa: PLC0415
    from botocore.exceptions import HTTPClientError  # noqa: PLC0415 - only on error paths

    for cause in _causes(error):
        codes = _cancellation(cause) - {"None"}
        if codes and not codes & _TXN_THROTTLED:
            return None  # a failed condition or a lost race: the caller branches on it
        found = _cancelled(codes) or _client_error(cause)
        if found is not None:
            return found
        if isinstance(cause, Disconnected | HTTPClientError):
            return Unavailable(DOWN)
    return None


def persistently[T](
    write: Callable[[], T],
    *,
    what: str,
    attempts: int = PERSIST_ATTEMPTS,
    within: float = PERSIST_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`write()`, tried again (with full-jitter pauses) while AWS throttles or fails; the last
    error after `attempts` tries, or once `within` seconds have passed (so the whole stays
    inside a function's timeout: `within` plus one call's budget). For writes whose loss costs
    more than the wait."""
    started = clock()
    for attempt in range(1, attempts):
        try:
            return write()
        except (Throttled, Unavailable) as e:
            if clock() - started >= within:
                raise
            log.warning("%s: %s (try %d of %d)", what, e, attempt, attempts)
        sleep(random.uniform(0, min(PERSIST_MAX_PAUSE, 0.1 * 2**attempt)))
    return write()
