"""Cold start of the Lambda handler, as ratios against baselines measured in the same run.

Every sample is a fresh Python process; the A/B pairs are interleaved (and the order within a
pair alternates) so that noise on a busy machine hits both sides alike. Reported: medians, and
for each goal the median of the per-pair ratios (each pair ran back to back, so a noisy moment
slows both of its sides; a ratio of two medians mixes samples from different moments), never
absolute times. Three comparisons:

1. `import app` versus importing a hello-world Chalice app, in CPU time of the child (so the
   interpreter's own start-up is excluded, and so are other processes on a busy machine); its
   wall time and the whole subprocess's are shown too.
2. `import app` plus the first authenticated `GET /todos?limit=2` through the Lambda entry point
   (`app.app(event, context)`, API Gateway REST proxy event with verified Cognito claims)
   against a moto server, its cursor key read from Secrets Manager as deployed stages do (the
   page is shorter than the seed, so the response carries a signed cursor), versus the
   hello-world import plus `import pynamodb` and one Query
   through a minimal PynamoDB model on the same server and table.
3. The SnapStart restore path: `import app` and the before-snapshot hook run untimed (Lambda
   does both once per published version, before the snapshot); timed from the restore (the
   after-restore hook) to the answer of the same first `GET /todos`, versus 2.'s cold path.

Also printed: which heavy packages `import app` loads (none of boto3, PIL, moto, pytest), and
which of our modules pull in a heavy one (tools/importtime.py).

Usage: python benchmarks/cold_start.py [--runs N]. Exits 1 if a ratio misses its goal
(`import app` <= 1.2x hello-world, restore <= 0.3x cold, first request <= 1.25x), if a child
fails, or if the request does not return the seeded todos.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stage import stage_environment as test_stage_environment  # noqa: E402

USER = "bench-user-0001"
SEEDED_TODOS = 5
PAGE = 2  # smaller than the seed: the response carries a signed cursor
IMPORT_GOAL = 1.2
REQUEST_GOAL = 1.25
RESTORE_GOAL = 0.3
# The API function's name as Lambda gives it: chalicelib picks its call budget and its
# before-snapshot preload by it.
FUNCTION_NAME = "mytodolist-test"
HEAVY = (
    "boto3",
    "botocore",
    "s3transfer",
    "pynamodb",
    "urllib3",
    "PIL",
    "moto",
    "pytest",
    "yaml",
    "jwt",
    "cryptography",
    "requests",
)
MUST_NOT_LOAD = ("boto3", "PIL", "moto", "pytest")

HELLO_APP = """\
from chalice import Chalice

app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
"""

# Each child: imports for the measurement itself first (identical on both sides), then the
# timed section, then one JSON line on stdout. argv[1] is a JSON object of parameters.
_PRELUDE = """\
import json, sys, time
P = json.loads(sys.argv[1])
HEAVY = P["heavy"]
def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
"""

# Importing is all CPU: timed in CPU time of the process, which other processes on a busy
# machine do not inflate the way they inflate wall time (shown too, for information).
CHILD_IMPORT = (
    _PRELUDE
    + """\
c0, t0 = time.process_time(), time.perf_counter()
import app
c1, t1 = time.process_time(), time.perf_counter()
print(json.dumps({"ms": (c1 - c0) * 1000, "wall": (t1 - t0) * 1000, "loaded": loaded(),
                  "modules": len(sys.modules)}))
"""
)

_CONTEXT = """\
class Context:
    function_name = "mytodolist-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:mytodolist-test"
    memory_limit_in_mb = "512"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/mytodolist-test"
    log_stream_name = "2025/01/01/[$LATEST]0123456789abcdef"
    def get_remaining_time_in_millis(self):
        return 10_000
event = P["event"]
context = Context()
"""

CHILD_OURS_REQUEST = (
    _PRELUDE
    + _CONTEXT
    + """\
t0 = time.perf_counter()
import app
after_import = loaded()
response = app.app(event, context)
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1000, "loaded": after_import, "after": loaded(),
                  "response": response}))
"""
)

# Lambda's part, played by tests/snapshot_runtime.py installed as `snapshot_restore_py`.
CHILD_RESTORE_REQUEST = (
    _PRELUDE
    + _CONTEXT
    + """\
import snapshot_restore_py as runtime
import app
registered = (len(runtime.before), len(runtime.after))
runtime.snapshot()
t0 = time.perf_counter()
runtime.restore()
response = app.app(event, context)
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1000, "registered": registered, "response": response}))
"""
)

CHILD_BASELINE_REQUEST = (
    _PRELUDE
    + """\
t0 = time.perf_counter()
import app
import pynamodb
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model
class Todo(Model):
    class Meta:
        table_name = P["table"]
        region = P["region"]
    user_id = UnicodeAttribute(hash_key=True)
    todo_id = UnicodeAttribute(range_key=True)
items = list(Todo.query(P["user"], consistent_read=True, limit=51))
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1000, "items": len(items)}))
"""
)


@dataclass
class Sample:
    inner_ms: float
    wall_ms: float
    result: dict[str, Any]


Check = Callable[[dict[str, Any]], None]


def start_moto() -> tuple[Any, int]:
    """moto's threaded server on a port it binds itself (0), and that port: a port found free
    first and bound later could be taken in between."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - parent only

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server, int(server.get_host_and_port()[1])


def stage_environment(endpoint: str, scratch: Path) -> dict[str, str]:
    """The test stage's variables from .chalice/config.json plus moto's endpoint and fake keys."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(test_stage_environment(endpoint))
    env.update(
        {
            # Bytecode is cached (the untimed warm-up writes it) for both sides, as in the
            # Lambda package, which ships .pyc files (deploy/package.py): without them every
            # cold start would compile the app, which no one would measure on purpose.
            "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
            # Keep the developer's ~/.aws out of both sides.
            "AWS_CONFIG_FILE": str(scratch / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "aws-credentials"),
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            # As Lambda sets it for a function without SnapStart (the restore path: snap-start).
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        }
    )
    return env


def snapshot_runtime(scratch: Path) -> Path:
    """A directory whose `snapshot_restore_py` is the tests' stand-in for Lambda's."""
    directory = scratch / "snapstart-runtime"
    directory.mkdir()
    shutil.copy2(ROOT / "tests" / "snapshot_runtime.py", directory / "snapshot_restore_py.py")
    return directory


def rest_event(user: str, pool_arn: str) -> dict[str, Any]:
    """An API Gateway REST proxy event for GET /todos, claims verified by the Cognito authorizer."""
    pool_id = pool_arn.rsplit("/", 1)[-1]
    region = pool_arn.split(":")[3]
    headers = {
        "Accept": "application/json",
        "Authorization": "eyJraWQiOiJiZW5jaCJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "cold-start-benchmark",
        "X-Forwarded-For": "127.0.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    claims = {
        "sub": user,
        "token_use": "id",
        "cognito:username": user,
        "email": f"{user}@example.com",
        "email_verified": "true",
        "iss": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        "aud": "bench-app-client",
        "auth_time": "1735689600",
        "iat": "Wed Jan 01 00:00:00 UTC 2025",
        "exp": "Wed Jan 01 01:00:00 UTC 2025",
    }
    return {
        "resource": "/todos",
        "path": "/todos",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/todos",
            "httpMethod": "GET",
            "extendedRequestId": "bench=",
            "requestTime": "01/Jan/2025:00:00:00 +0000",
            "path": "/api/todos",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "api",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1735689600000,
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "cold-start-benchmark"},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
            "authorizer": {"claims": claims},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def run_child(code: str, params: dict[str, Any], cwd: Path, env: dict[str, str]) -> Sample:
    argv = [sys.executable, "-c", code, json.dumps(params)]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(
            f"child failed (exit {proc.returncode}) in {cwd}:\n{proc.stderr}\n{proc.stdout}"
        )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return Sample(inner_ms=float(result["ms"]), wall_ms=wall, result=result)


def check_todos_response(result: dict[str, Any]) -> None:
    response = result["response"]
    if response.get("statusCode") != 200:
        raise SystemExit(f"GET /todos did not return 200: {response}")
    page = json.loads(response["body"])
    items = page.get("items")
    # A page shorter than the seed: its next_cursor is signed with the key from Secrets Manager.
    if not isinstance(items, list) or len(items) != PAGE or not page.get("next_cursor"):
        raise SystemExit(f"GET /todos?limit={PAGE} did not return a page and a cursor: {response}")


def check_restored_response(result: dict[str, Any]) -> None:
    if result["registered"] != [1, 1]:
        raise SystemExit(f"import app registered {result['registered']} SnapStart hooks, not 1+1")
    check_todos_response(result)


def check_baseline_query(result: dict[str, Any]) -> None:
    if result["items"] != SEEDED_TODOS:
        raise SystemExit(f"baseline query returned {result['items']} items, not {SEEDED_TODOS}")


@dataclass
class Side:
    code: str
    cwd: Path
    params: dict[str, Any]
    check: Check | None = None

    def run(self, env: dict[str, str]) -> Sample:
        sample = run_child(self.code, self.params, self.cwd, env)
        if self.check is not None:
            self.check(sample.result)
        return sample


def compare(ours: Side, base: Side, env: dict[str, str], runs: int) -> tuple[list[Sample], ...]:
    """One untimed warm-up each (byte-code caches, moto), then `runs` interleaved pairs."""
    ours.run(env)
    base.run(env)
    a: list[Sample] = []
    b: list[Sample] = []
    for i in range(runs):
        if i % 2 == 0:
            a.append(ours.run(env))
            b.append(base.run(env))
        else:
            b.append(base.run(env))
            a.append(ours.run(env))
    return a, b


def seed(env: dict[str, str]) -> str:
    """Create the test stage's tables on the moto server and a few todos for USER."""
    os.environ.update(env)  # the models read table names and region when first imported
    sys.path.insert(0, str(ROOT))
    # Loaded by name: the parent only seeds data, and `mypy benchmarks/cold_start.py` then
    # checks this script without following into the app's modules (`make typecheck` does).
    resources = importlib.import_module("sandbox.resources")
    todos = importlib.import_module("chalicelib.todos.service")

    names: dict[str, str] = resources.create_tables("test")
    service = todos.TodoService(cursor_secret=b"x" * 32)
    for n in range(SEEDED_TODOS):
        service.create(USER, {"title": f"benchmark todo {n}", "tags": ["bench"]})
    # As deployed: the API reads the cursor key from Secrets Manager on first use.
    boto3 = importlib.import_module("boto3")
    secrets = boto3.client("secretsmanager", region_name=env["AWS_REGION"])
    arn = secrets.create_secret(Name="mytodolist/test/cursor-secret", SecretString="k" * 64)["ARN"]
    env.pop("CURSOR_SECRET", None)
    env["CURSOR_SECRET_ARN"] = arn
    return names["TodosTable"]


def median(samples: list[Sample], wall: bool = False) -> float:
    return statistics.median(s.wall_ms if wall else s.inner_ms for s in samples)


def paired_ratio(ours: list[Sample], base: list[Sample]) -> float:
    """The median over the interleaved pairs of ours / baseline (CPU time of the child)."""
    return statistics.median(a.inner_ms / b.inner_ms for a, b in zip(ours, base, strict=True))


def row(
    label: str, ours: float, base: float, goal: float | None, ratio: float | None = None
) -> str:
    ratio = ours / base if ratio is None else ratio
    goal_text = f"<= {goal:.2f}x" if goal is not None else "(info)"
    verdict = ("PASS" if ratio <= goal else "FAIL") if goal is not None else ""
    return f"{label:<44}{ours:>9.1f}{base:>11.1f}{ratio:>8.2f}x  {goal_text:<9}{verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="samples per side (default 15)")
    args = parser.parse_args(argv)
    runs: int = max(1, args.runs)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    started = time.perf_counter()
    server, port = start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
            scratch = Path(tmp)
            hello_dir = scratch / "hello"
            hello_dir.mkdir()
            (hello_dir / "app.py").write_text(HELLO_APP)
            env = stage_environment(f"http://127.0.0.1:{port}", scratch)
            table = seed(env)

            heavy: dict[str, Any] = {"heavy": list(HEAVY)}
            imp_ours, imp_base = compare(
                Side(CHILD_IMPORT, ROOT, heavy), Side(CHILD_IMPORT, hello_dir, heavy), env, runs
            )
            event = rest_event(USER, env["USER_POOL_ARN"])
            event["queryStringParameters"] = {"limit": str(PAGE)}
            event["multiValueQueryStringParameters"] = {"limit": [str(PAGE)]}
            req_ours, req_base = compare(
                Side(CHILD_OURS_REQUEST, ROOT, {**heavy, "event": event}, check_todos_response),
                Side(
                    CHILD_BASELINE_REQUEST,
                    hello_dir,
                    {**heavy, "table": table, "region": env["AWS_REGION"], "user": USER},
                    check_baseline_query,
                ),
                env,
                runs,
            )
            # The restore child alone finds the stand-in runtime: elsewhere the hooks are off.
            restore_env = {
                **env,
                "PYTHONPATH": str(snapshot_runtime(scratch)),
                "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
            }
            restore_params = {**heavy, "event": event}
            res_ours, res_cold = compare(
                Side(CHILD_RESTORE_REQUEST, ROOT, restore_params, check_restored_response),
                Side(CHILD_OURS_REQUEST, ROOT, restore_params, check_todos_response),
                restore_env,
                runs,
            )
            blamed = heavy_imports(env)
    finally:
        server.stop()
    elapsed = time.perf_counter() - started

    loaded = imp_ours[-1].result["loaded"]
    forbidden = [m for m in loaded if m in MUST_NOT_LOAD]
    print(
        f"Cold start: {runs} fresh processes per side, interleaved; medians in ms, "
        "ratios the median of the pairs' "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} cores, {date.today()})"
    )
    print(f"{'':<44}{'ours':>9}{'baseline':>11}{'ratio':>9}  {'goal':<9}result")
    results = [
        row(
            "1. import app / hello-world import (CPU)",
            median(imp_ours),
            median(imp_base),
            IMPORT_GOAL,
            paired_ratio(imp_ours, imp_base),
        ),
        row(
            "   same, wall time",
            statistics.median(s.result["wall"] for s in imp_ours),
            statistics.median(s.result["wall"] for s in imp_base),
            None,
        ),
        row(
            "   same, whole subprocess (wall)",
            median(imp_ours, wall=True),
            median(imp_base, wall=True),
            None,
        ),
        row(
            "2. import + first GET /todos / hello+query",
            median(req_ours),
            median(req_base),
            REQUEST_GOAL,
            paired_ratio(req_ours, req_base),
        ),
        row(
            "   same, whole subprocess (wall)",
            median(req_ours, wall=True),
            median(req_base, wall=True),
            None,
        ),
        row(
            "3. restore + first GET /todos / cold path",
            median(res_ours),
            median(res_cold),
            RESTORE_GOAL,
            paired_ratio(res_ours, res_cold),
        ),
    ]
    print("\n".join(results))
    print()
    print(
        f"modules after `import app`: {imp_ours[-1].result['modules']} "
        f"(hello-world: {imp_base[-1].result['modules']})"
    )
    print(f"heavy packages after `import app`: {', '.join(loaded) or 'none'}")
    if forbidden:
        print(f"  FAIL: `import app` loads {', '.join(forbidden)} (see STYLE.md, Cold start)")
    after_request = req_ours[-1].result["after"]
    print(f"heavy packages after the first GET /todos: {', '.join(after_request) or 'none'}")
    for module, who in sorted(blamed.items()):
        print(f"  FAIL: {who} imports {module} at `import app` (tools/importtime.py)")
    print(f"total {elapsed:.0f} s")
    missed = [line for line in results if line.endswith("FAIL")]
    return 1 if missed or forbidden or blamed else 0


def heavy_imports(env: dict[str, str]) -> dict[str, str]:
    """Heavy module -> the module of ours that pulls it in at `import app`."""
    importtime = importlib.import_module("tools.importtime")
    tree = importtime.parse(importtime.report("import app", ROOT, env))
    blamed: dict[str, str] = importtime.heavy_imports(tree)
    return blamed


if __name__ == "__main__":
    sys.exit(main())
