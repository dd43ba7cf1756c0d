"""Sign-up timing: `POST /subscriptions` must take as long whatever the address's state, so that
its timing does not tell whether an address is subscribed (the answer never does).

Everything runs in one process: the sandbox's moto server (sandbox.aws.MotoServer) on a free
loopback port, tables from infra/resources.yaml, and requests as API Gateway proxy events
straight into the Lambda entry point (`app(event, context)`), so each takes the real route,
SubscriptionService and PynamoDB path. Every DynamoDB call waits `--latency-ms` (default 5, an
in-region round trip) first, a sandbox fault rule `dynamodb:*:latency<N>ms:1`: a path with one
call more then shows as it would in AWS, not hidden in moto's Python.

Each round signs up one fresh address per state, in a rotating order; the states are written
straight into the table first: new (no item), pending (asked within the hour: the write is
refused), pending an hour later (asked again: the write lands), active (refused), unsubscribed
(a new period starts). Medians per state, and the ratio of the slowest median to the fastest.
Goal: <= 1.10 with the deployed stages' floor (SIGN_UP_FLOOR_MS, 250 ms); `--floor-ms 0` shows
what the same work alone gives.

Usage: python benchmarks/signup_timing.py [--rounds N] [--latency-ms N] [--floor-ms N]. Exits 1
only if an answer is not 202 {"status": "pending"}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.stage import use_stage_environment  # noqa: E402

use_stage_environment(key="benchmark")
# Metrics as (unshown) log records, not a line of JSON on stdout per request.
os.environ["METRICS_OUTPUT"] = "log"

from app import app  # noqa: E402
from benchmarks.moto_latency import moto_server  # noqa: E402
from chalicelib.core import config  # noqa: E402
from chalicelib.store.models import SubscriberModel  # noqa: E402

GOAL = 1.10


class _Context:
    function_name = "api_handler"
    aws_request_id = "bench"
    memory_limit_in_mb = 512

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def sign_up(address: str) -> float:
    """One POST /subscriptions through the Lambda entry point; its duration in seconds."""
    event = {
        "resource": "/subscriptions",
        "path": "/subscriptions",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/subscriptions",
            "httpMethod": "POST",
            "requestId": str(uuid.uuid4()),
        },
        "body": json.dumps({"email": address}),
        "isBase64Encoded": False,
    }
    start = time.perf_counter()
    answer = app(event, _Context())
    elapsed = time.perf_counter() - start
    if answer["statusCode"] != 202 or json.loads(answer["body"]) != {"status": "pending"}:
        raise SystemExit(f"sign-up of a {address} answered {answer['statusCode']}: {answer}")
    return elapsed


def _item(address: str, status: str, asked: datetime) -> None:
    now = datetime.now(UTC)
    stamp = now.isoformat()
    SubscriberModel(
        address,
        address=address,
        token=uuid.uuid4().hex,
        period=uuid.uuid4().hex,
        status=status,
        generation=1,
        confirmations=1,
        requested_at=int(asked.timestamp()),
        expires_at=now + timedelta(days=7) if status == "pending" else None,
        audience="active" if status == "active" else None,
        created_at=stamp,
        updated_at=stamp,
    ).save()


def _hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


STATES: dict[str, Callable[[str], None]] = {
    "new": lambda address: None,
    "pending": lambda address: _item(address, "pending", _hours_ago(0)),
    "pending, an hour later": lambda address: _item(address, "pending", _hours_ago(2)),
    "active": lambda address: _item(address, "active", _hours_ago(48)),
    "unsubscribed": lambda address: _item(address, "unsubscribed", _hours_ago(48)),
}


def measure(rounds: int) -> dict[str, list[float]]:
    names = list(STATES)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds + 2):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            address = f"reader-{uuid.uuid4().hex[:12]}@example.com"
            STATES[name](address)
            elapsed = sign_up(address)
            if round_ >= 2:  # the first two rounds warm every path
                times[name].append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=5, help="per DynamoDB call (0: none)")
    parser.add_argument("--floor-ms", type=int, default=config.SIGN_UP_FLOOR_MS)
    args = parser.parse_args()
    # The test stage's environment has no floor; deployed stages have the default.
    os.environ["SIGN_UP_FLOOR_MS"] = str(args.floor_ms)
    config.settings.cache_clear()
    with moto_server(args.latency_ms):
        times = measure(args.rounds)
    medians = {name: statistics.median(samples) * 1000 for name, samples in times.items()}
    print(
        f"POST /subscriptions, {args.rounds} per state, {args.latency_ms} ms per DynamoDB call, "
        f"floor {args.floor_ms} ms"
    )
    for name, median in medians.items():
        print(f"  {name:<24} median {median:6.1f} ms")
    ratio = max(medians.values()) / min(medians.values())
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    print(f"  slowest / fastest median: {ratio:.3f} (goal <= {GOAL:.2f}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
