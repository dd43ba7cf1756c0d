"""Real time: poke latency in the sandbox, and the DynamoDB calls the poke path adds per batch.

1. **Latency**: `python -m sandbox run` on free loopback ports (tests/e2e.py), one user with a
   WebSocket open, then N writes one after another (`POST /todos`); for each, the time from the
   write's answer to the `todos.changed` frame on the socket. p50 and p95. Goal: p95 <= 1 s.
   (The frame may come before the HTTP answer is read: that counts as 0.)
2. **Cost**: in one process with moto, stream batches of W writes by U users (each with two
   connections) through PokeService, counting the DynamoDB calls it makes (frames go to a stub).

Usage: python benchmarks/realtime.py [--writes 200]. Exits 1 if a poke never came.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def latency(writes: int) -> list[float]:
    from websockets.sync.client import connect  # noqa: PLC0415

    from tests.e2e import call, create_user, running_sandbox  # noqa: PLC0415

    seconds: list[float] = []
    with running_sandbox(Path(tempfile.mkdtemp(prefix="bench-realtime-"))) as sandbox:
        user = create_user(sandbox, "bench")
        url = f"{sandbox.endpoints['ws_url']}/?token={user.token}"
        with connect(url) as socket:
            call(sandbox, "POST", "/todos", user.token, {"title": "warm-up"})
            socket.recv(timeout=10)
            for n in range(writes):
                answer = call(sandbox, "POST", "/todos", user.token, {"title": f"t{n}"})
                answered = time.monotonic()
                assert answer.status_code == 201, answer.text
                at = answer.json()["updated_at"]
                while True:
                    frame = json.loads(socket.recv(timeout=10))
                    if frame.get("at") == at:
                        break
                seconds.append(max(0.0, time.monotonic() - answered))
    return seconds


def cost(writes: int, users: int) -> Counter[str]:
    from moto import mock_aws  # noqa: PLC0415

    from tests.stage import use_stage_environment  # noqa: PLC0415

    use_stage_environment()
    # Metrics as (unshown) log records, not a line of JSON on stdout per poke.
    os.environ["METRICS_OUTPUT"] = "log"
    import boto3  # noqa: PLC0415
    import botocore.client  # noqa: PLC0415

    from chalicelib.realtime.connections import CONNECTION_TTL, ConnectionService  # noqa: PLC0415
    from chalicelib.realtime.pokes import PokeService  # noqa: PLC0415
    from chalicelib.store.models import ConnectionModel  # noqa: PLC0415
    from sandbox.resources import create_tables  # noqa: PLC0415

    calls: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # noqa: SLF001

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        calls[operation] += 1
        return original(self, operation, params)

    with mock_aws():
        create_tables("test", boto3.Session())
        now = int(time.time())
        for u in range(users):
            for device in ("phone", "tablet"):
                ConnectionModel(
                    f"user{u}",
                    f"{device}{u}",
                    endpoint="stub",
                    connected_at=now,
                    expires_at=CONNECTION_TTL,
                ).save()
        records = [
            {
                "eventName": "MODIFY",
                "dynamodb": {
                    "Keys": {"user_id": {"S": f"user{w % users}"}, "todo_id": {"S": str(w)}},
                    "NewImage": {"updated_at": {"S": f"2026-01-01T00:00:{w % 60:02d}.000000Z"}},
                    "SequenceNumber": str(w),
                },
            }
            for w in range(writes)
        ]
        sent: list[str] = []
        stub = lambda endpoint, cid, message: sent.append(cid)  # noqa: E731
        service = PokeService(ConnectionService(lambda: None, send=stub), send=stub)  # type: ignore[arg-type, return-value]
        botocore.client.BaseClient._make_api_call = counting  # type: ignore[attr-defined]  # noqa: SLF001
        try:
            service.poke_devices(records)
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[attr-defined]  # noqa: SLF001
        calls["frames"] = len(sent)
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args(argv)
    for writes, users in ((1, 1), (20, 1), (100, 1), (100, 10)):
        counted = cost(writes, users)
        frames = counted.pop("frames")
        other = sum(counted.values()) - counted["Query"] - counted["DeleteItem"]
        print(
            f"cost: a batch of {writes} writes by {users} user(s), 2 connections each: "
            f"{counted['Query']} Query, {counted['DeleteItem']} DeleteItem, "
            f"{other} other DynamoDB calls; {frames} frames"
        )
    seconds = latency(args.writes)
    ordered = sorted(seconds)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"latency over {len(seconds)} writes (answer -> frame): "
        f"p50 {statistics.median(seconds) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms (goal: p95 <= 1000 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
