"""Offline sync: a batch of 25 creates against 25 single PUTs, and Queries per sync page.

Everything runs in one process: the sandbox's moto server (sandbox.aws.MotoServer) on a free
loopback port, tables from infra/resources.yaml, and requests as API Gateway proxy events
straight into the Lambda entry point (`app(event, context)`), with the claims API Gateway's
Cognito authorizer would pass, so each request takes the real route, TodoService and PynamoDB
path. Every DynamoDB call waits `--latency-ms` (default 5, an in-region round trip) first, a
sandbox fault rule `dynamodb:*:latency<N>ms:1`: without it the figures measure moto's Python,
not the design, which is about round trips.

1. **Push**: rounds of 25 `PUT /todos/{id}` (If-None-Match: *) one by one, and of one
   `POST /todos/batch` with the same 25 creates (fresh ids each round), interleaved; medians,
   and the ratio batch / singles. Goal: <= 0.5.
2. **Pull**: 1,000 changes, then `GET /todos/sync?limit=100` from a token older than all of
   them, counting the DynamoDB calls PynamoDB makes. Goal: exactly 10 Queries (one per page).
3. **Cost per write of an Idempotency-Key**: the DynamoDB calls of each write (POST, PUT create
   and replace, PATCH, DELETE, a batch of 25 creates) without a key, with a new key, and of its
   keyed retry (a replay). Goal: the key adds no call; the write's own transaction carries it
   (a single PutItem becomes one TransactWriteItems).

Usage: python benchmarks/offline_sync.py [--rounds N] [--latency-ms N] [--moto-transactions]
(moto's own TransactWriteItems, which deep-copies the tables it touches: the figure before
sandbox.transactions). Exits 1 only if an answer is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.stage import use_stage_environment  # noqa: E402

use_stage_environment(key="benchmark")
# Metrics as (unshown) log records, not a line of JSON on stdout per request.
os.environ["METRICS_OUTPUT"] = "log"

from pynamodb.connection.base import Connection  # noqa: E402

from app import app  # noqa: E402
from benchmarks.moto_latency import moto_server  # noqa: E402
from sandbox import transactions  # noqa: E402

USER = "bench-user"
# The pull counts the changes of a user of its own: the push's todos are not in its sync.
PULL_USER = "bench-puller"
BATCH = 25


class _Context:
    function_name = "api_handler"
    aws_request_id = "bench"
    memory_limit_in_mb = 512

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def invoke(
    method: str, path: str, resource: str, body: Any = None, user: str = USER, **headers: str
) -> Any:
    todo_id = path.rsplit("/", 1)[-1]
    query = None
    if "?" in path:
        path, raw = path.split("?", 1)
        query = {k: [v] for k, v in (p.split("=", 1) for p in raw.split("&"))}
    event = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json", **headers},
        "multiValueHeaders": {},
        "queryStringParameters": {k: v[0] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "pathParameters": {"todo_id": todo_id} if "{todo_id}" in resource else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "requestId": str(uuid.uuid4()),
            "authorizer": {"claims": {"sub": user}},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
    answer = app(event, _Context())
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None


def singles() -> float:
    start = time.perf_counter()
    for _ in range(BATCH):
        status, _ = invoke(
            "PUT",
            f"/todos/{uuid.uuid4()}",
            "/todos/{todo_id}",
            {"title": "t"},
            **{"if-none-match": "*"},
        )
        assert status == 201, status
    return time.perf_counter() - start


def batch(user: str = USER) -> float:
    requests = [
        {
            "id": str(n),
            "method": "PUT",
            "url": f"/todos/{uuid.uuid4()}",
            "headers": {"If-None-Match": "*"},
            "body": {"title": "t"},
        }
        for n in range(BATCH)
    ]
    start = time.perf_counter()
    status, body = invoke("POST", "/todos/batch", "/todos/batch", {"requests": requests}, user=user)
    elapsed = time.perf_counter() - start
    assert status == 200, body
    assert [r["status"] for r in body["responses"]] == [201] * BATCH, body
    return elapsed


@contextmanager
def counted() -> Iterator[dict[str, int]]:
    """The DynamoDB calls PynamoDB makes inside the block, by operation."""
    calls: dict[str, int] = {}
    real = Connection._make_api_call  # noqa: SLF001

    def counting(self: Connection, operation: str, *args: Any, **kwargs: Any) -> Any:
        calls[operation] = calls.get(operation, 0) + 1
        return real(self, operation, *args, **kwargs)

    Connection._make_api_call = counting  # type: ignore[method-assign,assignment]  # noqa: SLF001
    try:
        yield calls
    finally:
        Connection._make_api_call = real  # type: ignore[method-assign]  # noqa: SLF001


def pull_queries(changes: int) -> tuple[int, dict[str, int]]:
    _, first = invoke("GET", "/todos/sync?limit=100", "/todos/sync", user=PULL_USER)
    while first["next_cursor"]:
        _, first = invoke(
            "GET",
            f"/todos/sync?limit=100&cursor={first['next_cursor']}",
            "/todos/sync",
            user=PULL_USER,
        )
    token = first["sync_token"]
    for _ in range(changes // BATCH):
        batch(PULL_USER)
    with counted() as calls:
        items = 0
        cursor = ""
        while True:
            url = f"/todos/sync?limit=100&token={token}" + (f"&cursor={cursor}" if cursor else "")
            status, page = invoke("GET", url, "/todos/sync", user=PULL_USER)
            assert status == 200, page
            items += len(page["items"])
            if not page["next_cursor"]:
                break
            cursor = page["next_cursor"]
    return items, calls


def push(rounds: int) -> None:
    batch(), singles()  # warm both paths
    single_times: list[float] = []
    batch_times: list[float] = []
    for round_ in range(rounds):
        pair = (singles, batch) if round_ % 2 else (batch, singles)
        for run in pair:
            (single_times if run is singles else batch_times).append(run())
    s, b = statistics.median(single_times), statistics.median(batch_times)
    print(
        f"push: 25 single PUTs median {s * 1000:.1f} ms, one batch of 25 {b * 1000:.1f} ms,"
        f" ratio {b / s:.2f} (goal <= 0.5)"
    )
    with counted() as single_calls:
        singles()
    with counted() as batch_calls:
        batch()
    print(f"push: DynamoDB calls of 25 single PUTs {single_calls}, of one batch {batch_calls}")


KEYED_WRITES: list[tuple[str, str, str, Any, dict[str, str]]] = [
    ("POST /todos", "POST", "/todos", {"title": "t"}, {}),
    ("PUT create", "PUT", "/todos/{new}", {"title": "t"}, {"if-none-match": "*"}),
    ("PUT replace", "PUT", "/todos/{old}", {"title": "u"}, {"if-match": "*"}),
    ("PATCH", "PATCH", "/todos/{old}", {"done": True}, {}),
    ("DELETE", "DELETE", "/todos/{old}", None, {}),
]


def _keyed_write(label: str, key: str | None) -> tuple[dict[str, int], dict[str, int]]:
    """One write's calls (a fresh todo where it needs one) and, with a key, its retry's."""
    _, label_method, path, body, headers = next(w for w in KEYED_WRITES if w[0] == label)
    old = str(uuid.uuid4())
    invoke("PUT", f"/todos/{old}", "/todos/{todo_id}", {"title": "t"}, **{"if-none-match": "*"})
    url = path.replace("{new}", str(uuid.uuid4())).replace("{old}", old)
    resource = "/todos" if url == "/todos" else "/todos/{todo_id}"
    keyed = {**headers, **({"idempotency-key": key} if key else {})}
    with counted() as first:
        status, _ = invoke(label_method, url, resource, body, **keyed)
    assert status < 300, (label, status)
    retry: dict[str, int] = {}
    if key:
        with counted() as retry:
            status, _ = invoke(label_method, url, resource, body, **keyed)
        assert status < 300, (label, status)
    return first, retry


def _keyed_batch(key: bool) -> tuple[dict[str, int], dict[str, int]]:
    requests = [
        {
            "id": str(n),
            "method": "PUT",
            "url": f"/todos/{uuid.uuid4()}",
            "headers": {
                "If-None-Match": "*",
                **({"Idempotency-Key": str(uuid.uuid4())} if key else {}),
            },
            "body": {"title": "t"},
        }
        for n in range(BATCH)
    ]
    calls = []
    for _ in range(2 if key else 1):
        with counted() as made:
            status, body = invoke("POST", "/todos/batch", "/todos/batch", {"requests": requests})
        assert status == 200, body
        assert [r["status"] for r in body["responses"]] == [201] * BATCH, body
        calls.append(made)
    return calls[0], calls[1] if key else {}


def write_costs() -> None:
    """The DynamoDB calls of each write without and with an Idempotency-Key, and of a replay."""

    def shown(calls: dict[str, int]) -> str:
        return ", ".join(f"{n} {op}" for op, n in sorted(calls.items())) or "-"

    print("cost per write: DynamoDB calls without a key | with a new key | its retry (replay)")
    for label, *_ in KEYED_WRITES:
        plain, _ = _keyed_write(label, None)
        keyed, replay = _keyed_write(label, str(uuid.uuid4()))
        print(f"  {label:12} {shown(plain):30} | {shown(keyed):35} | {shown(replay)}")
    plain, _ = _keyed_batch(False)
    keyed, replay = _keyed_batch(True)
    print(f"  {'batch of 25':12} {shown(plain):30} | {shown(keyed):35} | {shown(replay)}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--latency-ms", type=int, default=5, help="per DynamoDB call (0: none)")
    parser.add_argument(
        "--moto-transactions", action="store_true", help="moto's own, table-copying transactions"
    )
    args = parser.parse_args()
    with moto_server(args.latency_ms):
        if args.moto_transactions:
            from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

            DynamoDBBackend.transact_write_items = transactions.moto_transact_write_items()  # type: ignore[method-assign]
        print(
            f"DynamoDB latency {args.latency_ms} ms per call; transactions: "
            + ("moto's own" if args.moto_transactions else "sandbox.transactions")
        )
        push(args.rounds)
        items, calls = pull_queries(1000)
        print(f"pull: {items} changes at limit=100 took {calls} (goal: exactly 10 Query)")
        write_costs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
