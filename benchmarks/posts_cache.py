"""Blog read cache: DynamoDB calls and latency of warm public reads, cached against uncached.

Everything runs in one process: moto in-process (`mock_aws`), tables from infra/resources.yaml
(`sandbox.resources.create_tables("test")`), 20 published posts (plus 5 drafts) seeded through
PostService, and requests through `chalice.test.Client` with the test stage's environment, so
each request takes the real route, PostService and PynamoDB path.

1. **Calls**: after one warming `GET /posts` (the only miss), 1,000 more `GET /posts` within the
   cache TTL; DynamoDB API calls are counted where PynamoDB makes them
   (`Connection._make_api_call`). Goal: <= 20 for the 1,000. Same for `GET /posts/{slug}`.
2. **Latency**: pairs of one uncached request (the container's cache cleared just before, as a
   write would) and one cached request, interleaved with alternating order; medians over the
   pairs, and the ratio cached / uncached (information: against moto in-process the uncached
   side has no network round trip, so in AWS the ratio is smaller still).

Usage: python benchmarks/posts_cache.py [--requests N] [--pairs N]. Exits 0 whatever the
figures (it is a measurement); exits 1 only if a response is not what the seed data says.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.stage import use_stage_environment  # noqa: E402

use_stage_environment(key="benchmark")

from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402
from pynamodb.connection.base import Connection  # noqa: E402

from app import app  # noqa: E402
from chalicelib import blog  # noqa: E402
from chalicelib.blog.posts.service import CACHE_TTL_SECONDS  # noqa: E402
from sandbox.resources import create_tables  # noqa: E402

CALLS_GOAL = 20
PUBLISHED = 20
DRAFTS = 5


class CallCounter:
    """Counts DynamoDB API calls at the one door every PynamoDB call goes through."""

    def __init__(self) -> None:
        self.count = 0
        self._original = Connection._make_api_call  # noqa: SLF001

    def install(self) -> None:
        original = self._original

        def counting(conn: Connection, operation: str, kwargs: dict[Any, Any]) -> dict[Any, Any]:
            self.count += 1
            return original(conn, operation, kwargs)

        Connection._make_api_call = counting  # type: ignore[method-assign,assignment]  # noqa: SLF001


def _seed() -> None:
    posts = blog.post_service()
    for n in range(PUBLISHED):
        posts.create(
            "editor",
            {"title": f"Post {n}", "summary": "s" * 200, "body": "# Hi\n\n" + "text " * 400},
        )
        posts.update(f"post-{n}", {"status": "published"})
    for n in range(DRAFTS):
        posts.create("editor", {"title": f"Draft {n}", "body": "draft"})


def _get(client: Client, path: str, expect: Callable[[Any], bool]) -> float:
    started = time.perf_counter()
    response = client.http.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200 or not expect(response.json_body):
        raise SystemExit(f"unexpected response to GET {path}: {response.status_code}")
    return elapsed


def _calls_for(
    client: Client, counter: CallCounter, path: str, n: int, expect: Callable[[Any], bool]
) -> tuple[int, float]:
    blog.post_service().clear_cache()
    _get(client, path, expect)  # the one miss that warms the cache
    before = counter.count
    started = time.perf_counter()
    for _ in range(n):
        _get(client, path, expect)
    return counter.count - before, time.perf_counter() - started


def _latency(
    client: Client, path: str, pairs: int, expect: Callable[[Any], bool]
) -> tuple[float, float]:
    cached: list[float] = []
    uncached: list[float] = []
    service = blog.post_service()
    _get(client, path, expect)
    for i in range(pairs):
        for side in ("uncached", "cached") if i % 2 == 0 else ("cached", "uncached"):
            if side == "uncached":
                service.clear_cache()
                uncached.append(_get(client, path, expect))
            else:
                _get(client, path, expect)  # make sure the entry is there (after a clear)
                cached.append(_get(client, path, expect))
    return statistics.median(cached), statistics.median(uncached)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counter = CallCounter()
    with mock_aws():
        create_tables("test")
        counter.install()
        _seed()

        def is_list(body: Any) -> bool:
            return len(body["items"]) == PUBLISHED and "body_html" not in body["items"][0]

        def is_post(body: Any) -> bool:
            return bool(body["slug"] == "post-7" and body["body_html"])

        with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            routes = {
                "GET /posts": ("/posts", is_list),
                "GET /posts/{slug}": ("/posts/post-7", is_post),
            }
            calls = {
                name: _calls_for(client, counter, path, args.requests, expect)
                for name, (path, expect) in routes.items()
            }
            latency = {
                name: _latency(client, path, args.pairs, expect)
                for name, (path, expect) in routes.items()
            }
    print(
        f"Blog read cache: {PUBLISHED} published posts (+{DRAFTS} drafts), moto in-process, "
        f"chalice.test.Client; cache TTL {CACHE_TTL_SECONDS:.0f} s; {date.today().isoformat()}"
    )
    print()
    print(f"{'':<18}{'calls / ' + str(args.requests):>14}{'goal':>7}{'':>6}{'req/s':>8}")
    for name, (count, elapsed) in calls.items():
        verdict = "PASS" if count <= CALLS_GOAL else "FAIL"
        print(
            f"{name:<18}{count:>14}{'<=' + str(CALLS_GOAL):>7}{verdict:>6}"
            f"{args.requests / elapsed:>8.0f}"
        )
    print()
    print(f"{f'medians of {args.pairs} pairs':<24}{'cached':>10}{'uncached':>10}{'ratio':>8}")
    for name, (hit, miss) in latency.items():
        print(f"{name:<24}{hit * 1000:>8.2f}ms{miss * 1000:>8.2f}ms{hit / miss:>8.2f}")
    print()
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
