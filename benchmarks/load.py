"""`make load`: a bounded mixed workload against the sandbox, then the invariants of DESIGN.md.

USERS users with DEVICES devices each (default 4 x 4) work for SECONDS (default 60), each
device pausing about THINK seconds (default 1, 0.5 to 1.5 times that) between actions: client-id
creates, keyed POST creates, PATCH and DELETE with If-Match, batches of 5-25 queued writes,
sync pulls, reads and photo uploads. A reader signs up a new address every 3 s and confirms it
from its mail; an editor publishes a post every 10 s. Every write carries an Idempotency-Key (a
batch in each of its requests) and is retried with it on 429/503, a timeout or a dropped connection.

Afterwards: `faults clear` (when the sandbox has faults), a drain (until the event queues are
empty and the checks pass, or DRAIN seconds), then the checks (benchmarks/load_checks.py). It
prints requests, status counts and p50/p95/p99 per route, then each failed invariant by item,
and exits 1 if any failed or any request got a 5xx (but 503), a 400 or no answer.

Loopback only. Without --sandbox-dir it starts a fresh sandbox of its own on free ports (and
stops it); with it, it drives the sandbox running there. Importable: `run(LoadConfig(...))`
returns a LoadResult whose `failures` are the invariants' verdicts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import load_checks as checks  # noqa: E402
from benchmarks.load_clients import Device, Editor, Ledger, Reader, Run, User  # noqa: E402
from benchmarks.load_http import Caller, Recorder  # noqa: E402

PASSWORD = "Passw0rd!!load"  # noqa: S105 - a made-up user of a throwaway sandbox
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class LoadConfig:
    seconds: float = 60.0
    users: int = 4
    devices: int = 4
    think: float = 1.0
    seed: int = 19
    signup_every: float = 3.0
    publish_every: float = 10.0
    timeout: float = 15.0
    drain_seconds: float = 90.0
    # A running sandbox's SANDBOX_DIR; None starts a fresh one for the run.
    sandbox_dir: Path | None = None
    # SANDBOX_FAULTS and SANDBOX_FAULT_SEED for the sandbox it starts ("": the environment's).
    faults: str = ""
    fault_seed: str = ""


@dataclass
class LoadResult:
    config: LoadConfig
    seconds: float
    recorder: Recorder
    failures: list[str] = field(default_factory=list)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        rec = self.recorder
        lines = [
            f"load: {self.config.users} users x {self.config.devices} devices, "
            f"{self.seconds:.0f} s, seed {self.config.seed}, load average "
            + " ".join(f"{x:.2f}" for x in self.load_average),
            f"requests: {rec.requests} ({rec.requests / max(self.seconds, 1e-9):.1f}/s), "
            "statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(rec.status_totals().items())),
            f"{'route':<28} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
            "  statuses",
        ]
        for row in rec.table():
            statuses = " ".join(f"{s}:{n}" for s, n in row["statuses"].items())
            lines.append(
                f"{row['route']:<28} {row['count']:>6} {row['p50'] * 1000:>8.1f} "
                f"{row['p95'] * 1000:>8.1f} {row['p99'] * 1000:>8.1f} {row['max'] * 1000:>8.1f}"
                f"  {statuses}"
            )
        items = sorted(rec.items.items())
        lines.append("requests in batches: " + ", ".join(f"{r} {s}: {n}" for (r, s), n in items))
        if self.failures:
            lines.append(f"invariants: {len(self.failures)} FAILED")
            lines.extend(f"  FAIL {failure}" for failure in self.failures)
        else:
            lines.append("invariants: all hold")
        return "\n".join(lines)


# -- the sandbox ----------------------------------------------------------------------------


def _ready(directory: Path, process: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    import requests  # noqa: PLC0415

    deadline = time.monotonic() + STARTUP_SECONDS
    path = directory / "endpoints.json"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {process.returncode}; see {directory}")
        if path.exists():
            endpoints: dict[str, Any] = json.loads(path.read_text())
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{endpoints['api_url']}/health", timeout=2).ok:
                    return endpoints
        time.sleep(0.2)
    raise RuntimeError(f"no sandbox ready in {directory} after {STARTUP_SECONDS:.0f} s")


@contextlib.contextmanager
def sandbox(config: LoadConfig, out: TextIO) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The sandbox to drive: the running one in config.sandbox_dir, or a fresh one of our own."""
    if config.sandbox_dir is not None:
        yield config.sandbox_dir, _ready(config.sandbox_dir, None)
        return
    with tempfile.TemporaryDirectory(prefix="load-sandbox-") as tmp:
        directory = Path(tmp)
        # Port 0: each server binds a port of its own and endpoints.json names it.
        env = {
            **os.environ,
            "SANDBOX_DIR": tmp,
            "SANDBOX_API_PORT": "0",
            "SANDBOX_SITE_PORT": "0",
            "SANDBOX_AWS_PORT": "0",
            "SANDBOX_WS_PORT": "0",
            "SANDBOX_HOST": "127.0.0.1",
        }
        if config.faults:
            env["SANDBOX_FAULTS"] = config.faults
        if config.fault_seed:
            env["SANDBOX_FAULT_SEED"] = config.fault_seed
        with (directory / "sandbox.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "sandbox", "run", "--fresh"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            endpoints = _ready(directory, process)
            print(
                f"load: started a sandbox (pid {process.pid}) at {endpoints['api_url']}", file=out
            )
            yield directory, endpoints
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def _cli_for(directory: Path) -> Iterator[None]:
    """sandbox.cli's functions find the sandbox through the environment: only for the call."""
    saved = dict(os.environ)
    os.environ["SANDBOX_DIR"] = str(directory)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def sign_in(directory: Path, name: str, *, editor: bool = False) -> User:
    from sandbox.users import create_user, id_token  # noqa: PLC0415

    with _cli_for(directory):
        sub = create_user(name, PASSWORD, editor=editor)
        return User(name, sub, id_token(name, PASSWORD))


def clear_faults(directory: Path) -> str:
    """`python -m sandbox faults clear`: what it said."""
    from sandbox.fault_control import faults  # noqa: PLC0415

    with _cli_for(directory):
        return faults("clear")


def aws_clients(endpoints: dict[str, Any]) -> checks.Aws:
    from sandbox.aws_faults import own_session  # noqa: PLC0415
    from sandbox.env import aws_environment  # noqa: PLC0415

    url = endpoints["aws_endpoint_url"]
    credentials = aws_environment(url, endpoints["region"])
    # The sandbox's own session: the checks read what is there, the fault rules spare them.
    session = own_session(endpoints["region"])
    options = {
        "endpoint_url": url,
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
    }
    return checks.Aws(
        s3=session.client("s3", **options),
        sqs=session.client("sqs", **options),
        bucket=endpoints["media_bucket"],
    )


def photo_bytes(seed: int) -> bytes:
    """A 1600x1200 JPEG with noise in it, so that it compresses like a photo."""
    from PIL import Image  # noqa: PLC0415

    noise = Image.effect_noise((1600, 1200), 40 + seed % 20).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# -- the run --------------------------------------------------------------------------------


def _threads(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    return threads


def _origin_token(caller: Caller) -> str:
    """A sync token taken before the run: pulling from it shows every change of the run."""
    cursor = None
    while True:
        answer = caller.call(
            "setup", "GET", "/todos/sync?limit=100" + (f"&cursor={cursor}" if cursor else "")
        )
        if answer is None or answer.status != 200:
            raise RuntimeError(f"cannot sync: {answer}")
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return str(answer.body["sync_token"])


def run(config: LoadConfig, out: TextIO = sys.stdout) -> LoadResult:
    """One load run: work, clear faults, drain, check; the figures and the verdicts."""
    from sandbox.outbox import read_outbox  # noqa: PLC0415

    rng = random.Random(config.seed)
    tag = f"{rng.getrandbits(32):08x}"
    recorder = Recorder()
    with sandbox(config, out) as (directory, endpoints):
        api, aws_url = endpoints["api_url"], endpoints["aws_endpoint_url"]
        aws = aws_clients(endpoints)

        def outbox() -> list[Any]:
            return read_outbox(aws_url)

        people = [sign_in(directory, f"load-{tag}-{n}@example.com") for n in range(config.users)]
        editor = sign_in(directory, f"editor-{tag}@example.com", editor=True)
        checkers = {u.sub: Caller(api, None, rng, token=u.token, timeout=60) for u in people}
        origins = {sub: _origin_token(c) for sub, c in checkers.items()}
        ledger = Ledger()
        start = time.monotonic()
        work = Run(
            ledger,
            threading.Event(),
            start + config.seconds,
            config.think,
            photo_bytes(config.seed),
            tag,
        )

        def caller(token: str | None) -> Caller:
            return Caller(
                api,
                recorder,
                random.Random(rng.getrandbits(64)),
                token=token,
                timeout=config.timeout,
            )

        clients: list[Callable[[], None]] = [
            Device(
                work,
                user,
                caller(user.token),
                random.Random(rng.getrandbits(64)),
                origins[user.sub],
            ).loop
            for user in people
            for _ in range(config.devices)
        ]
        clients.append(
            Reader(
                work, caller(None), random.Random(rng.getrandbits(64)), outbox, config.signup_every
            ).loop
        )
        clients.append(Editor(work, caller(editor.token), config.publish_every).loop)
        threads = _threads(clients)
        for thread in threads:
            thread.join(max(0.0, work.deadline - time.monotonic()) + config.timeout * 7)
        work.stop.set()
        seconds = time.monotonic() - start
        load = os.getloadavg()
        print(f"load: faults clear: {clear_faults(directory)}", file=out)
        failures = _drain(
            config, checks.Checks(ledger, recorder, checkers, origins, aws, outbox).failures, aws
        )
    return LoadResult(config, seconds, recorder, failures, load)


def _drain(config: LoadConfig, check: Callable[[], list[str]], aws: checks.Aws) -> list[str]:
    """Check until the queues are empty and every invariant holds, or the drain time is up."""
    deadline = time.monotonic() + config.drain_seconds
    while True:
        failures = check()
        if (not failures and checks.drained(aws)) or time.monotonic() > deadline:
            return failures
        time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = LoadConfig()
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--devices", type=int, default=defaults.devices, help="per user")
    parser.add_argument("--think", type=float, default=defaults.think, help="mean pause (s)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--drain", type=float, default=defaults.drain_seconds)
    parser.add_argument("--sandbox-dir", type=Path, help="drive the sandbox running there")
    parser.add_argument("--faults", default="", help="SANDBOX_FAULTS of the sandbox it starts")
    parser.add_argument("--fault-seed", default="", help="SANDBOX_FAULT_SEED of that sandbox")
    args = parser.parse_args(argv)
    config = LoadConfig(
        seconds=args.seconds,
        users=args.users,
        devices=args.devices,
        think=args.think,
        seed=args.seed,
        drain_seconds=args.drain,
        sandbox_dir=args.sandbox_dir,
        faults=args.faults,
        fault_seed=args.fault_seed,
    )
    result = run(config)
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
