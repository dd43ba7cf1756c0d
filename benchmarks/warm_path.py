"""Warm path: the API's requests through the Lambda entry point against the raw PynamoDB calls
they make, on the same moto store.

One process, a moto server on 127.0.0.1 (a free port; tables from infra/resources.yaml through
`sandbox.resources.create_tables("test")`), the test stage's environment. "ours" calls
`app.app(event, context)` with an API Gateway REST proxy event whose claims the Cognito
authorizer verified, so each request takes routing, auth, validation, the service, PynamoDB,
the response and the per-request log and metric line. "raw" makes the same DynamoDB calls with
PynamoDB directly, on the same models and connections:

1. keyed `POST /todos` (a new Idempotency-Key each time) vs one TransactWrite of the todo and
   its idempotency record;
2. `GET /todos?limit=20` vs one Query of 21 items on the by_created index;
3. `GET /todos/{id}` vs one consistent GetItem.

Each sample times `--batch` calls of one side; samples alternate sides (order flipping every
round) after an untimed warm-up, and the figure is the ratio of median throughputs (ours / raw).
Goal: >= 0.8 for each. Usage: python benchmarks/warm_path.py [--rounds N] [--batch N].
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cold_start import rest_event, start_moto  # noqa: E402
from tests.stage import use_stage_environment  # noqa: E402

USER = "warm-path-user"
GOAL = 0.8


class Context:
    function_name = "mytodolist-bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def event(method: str, path: str, resource: str, **extra: Any) -> dict[str, Any]:
    base = rest_event(USER, os.environ["USER_POOL_ARN"])
    base.update({"httpMethod": method, "path": path, "resource": resource, **extra})
    base["requestContext"].update({"httpMethod": method, "resourcePath": resource})
    return base


def sides() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    from pynamodb.transactions import TransactWrite  # noqa: PLC0415

    from app import app  # noqa: PLC0415
    from chalicelib.store.models import IdempotencyModel, TodoModel  # noqa: PLC0415

    context = Context()
    body = json.dumps({"title": "Buy milk", "tags": ["home"]})

    def call(request: dict[str, Any], status: int) -> dict[str, Any]:
        response: dict[str, Any] = app(request, context)
        if response["statusCode"] != status:
            raise SystemExit(f"{request['httpMethod']} {request['path']}: {response}")
        return response

    def post() -> Any:
        headers = {**rest_event(USER, "x:x:x:x/p")["headers"], "Content-Type": "application/json"}
        headers["Idempotency-Key"] = uuid.uuid4().hex
        multi = {k: [v] for k, v in headers.items()}
        return call(
            event("POST", "/todos", "/todos", headers=headers, multiValueHeaders=multi, body=body),
            201,
        )

    first = json.loads(post()["body"])
    get_one = event(
        "GET", f"/todos/{first['id']}", "/todos/{todo_id}", pathParameters={"todo_id": first["id"]}
    )
    page = event(
        "GET",
        "/todos",
        "/todos",
        queryStringParameters={"limit": "20"},
        multiValueQueryStringParameters={"limit": ["20"]},
    )
    connection = TodoModel._get_connection().connection  # noqa: SLF001

    def raw_post() -> None:
        todo_id = uuid.uuid4().hex
        stamp = "2026-12-01T00:00:00.000000Z"
        item = TodoModel(
            USER,
            todo_id,
            title="Buy milk",
            tags=["home"],
            created_at=stamp,
            updated_at=stamp,
            created_key=f"{stamp}#{todo_id}",
            updated_key=f"{stamp}#{todo_id}",
        )
        record = IdempotencyModel(
            f"todos:{USER}:{uuid.uuid4().hex}",
            request_hash="h",
            response="{}",
            created_at=stamp,
            expires_at=datetime.now(UTC) + timedelta(hours=24),
        )
        with TransactWrite(connection=connection) as tx:
            tx.save(item, condition=TodoModel.todo_id.does_not_exist())
            tx.save(record, condition=IdempotencyModel.key.does_not_exist())

    def raw_page() -> None:
        list(
            TodoModel.by_created.query(
                USER, scan_index_forward=False, consistent_read=True, limit=21, page_size=21
            )
        )

    def raw_get() -> None:
        TodoModel.get(USER, first["id"], consistent_read=True)

    return {
        "keyed POST /todos": (post, raw_post),
        "GET /todos (page of 20)": (lambda: call(page, 200), raw_page),
        "GET /todos/{id}": (lambda: call(get_one, 200), raw_get),
    }


def timed(work: Callable[[], Any], batch: int) -> float:
    started = time.perf_counter()
    for _ in range(batch):
        work()
    return (time.perf_counter() - started) / batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=40, help="samples per side (default 40)")
    parser.add_argument("--batch", type=int, default=5, help="calls per sample (default 5)")
    args = parser.parse_args(argv)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server, port = start_moto()
    # The per-request metric lines would flood the terminal: measured, but written nowhere.
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    try:
        use_stage_environment(f"http://127.0.0.1:{port}")
        from sandbox.resources import create_tables  # noqa: PLC0415

        create_tables("test")
        results: list[tuple[str, float, float]] = []
        for name, (ours, raw) in sides().items():
            for work in (ours, raw):
                timed(work, args.batch)  # untimed warm-up: connections, caches
            samples: dict[str, list[float]] = {"ours": [], "raw": []}
            for n in range(args.rounds):
                order = [("ours", ours), ("raw", raw)]
                for side, work in order if n % 2 == 0 else order[::-1]:
                    samples[side].append(timed(work, args.batch))
            ours_ms = statistics.median(samples["ours"]) * 1000
            raw_ms = statistics.median(samples["raw"]) * 1000
            results.append((name, ours_ms, raw_ms))
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
        server.stop()
    print(f"Warm path: {args.rounds} samples of {args.batch} calls per side, medians per call")
    print(f"{'':28}{'ours ms':>9}{'raw ms':>9}{'ratio':>8}  goal      result")
    for name, ours_ms, raw_ms in results:
        ratio = raw_ms / ours_ms
        verdict = "PASS" if ratio >= GOAL else "FAIL"
        print(f"{name:28}{ours_ms:9.2f}{raw_ms:9.2f}{ratio:7.2f}x  >= {GOAL:.2f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
