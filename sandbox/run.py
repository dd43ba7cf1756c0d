"""`python -m sandbox run`: start the sandbox, print its URLs, serve until a signal, stop it."""

from __future__ import annotations

import gc
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from sandbox import logs
from sandbox.server import Sandbox
from sandbox.settings import ROOT, SandboxError, SandboxSettings
from sandbox.state import STATE_DIR

# How often a thread that computes lets another have the GIL (Python's default is 0.005 s).
SWITCH_INTERVAL = 0.001
DEFAULT_SWITCH_INTERVAL = sys.getswitchinterval()


def python_command(executable: str = sys.executable, root: Path = ROOT) -> str:
    """How to run this Python in the hint: the repo's venv by path, else plain `python`."""
    path = Path(executable)
    if path.is_relative_to(root):
        return str(path.relative_to(root))
    return "python"


def _faults_lines(faults: dict[str, Any], cli: str) -> list[str]:
    if not faults.get("rules"):
        return []
    return [
        f"  faults      {faults['rules']} (seed {faults['seed']}; "
        f"`{cli} faults` shows what they injected)"
    ]


def banner(
    endpoints: dict[str, Any], endpoints_file: Path, python: str, state: Sequence[str] = ()
) -> str:
    cli = f"{python} -m sandbox"
    api = endpoints["api_url"]
    return "\n".join(
        [
            f"MyTodoList sandbox (stage {endpoints['stage']}, region {endpoints['region']})",
            f"  API         {api}",
            f"  site        {endpoints['site_url']}",
            f"  WebSocket   {endpoints['ws_url']}/?token=$TOKEN",
            f"  AWS (moto)  {endpoints['aws_endpoint_url']}",
            f"  user pool   {endpoints['user_pool_id']} (app client "
            f"{endpoints['user_pool_client_id']})",
            f"  endpoints   {endpoints_file}",
            *(f"  state       {line}" for line in state),
            *_faults_lines(endpoints.get("faults") or {}, cli),
            f"Create a user:  {cli} user create me@example.com 'Passw0rd!!' [--editor]",
            f"Get a token:    TOKEN=$({cli} token me@example.com 'Passw0rd!!'); "
            f'curl -H "Authorization: $TOKEN" {api}/todos',
            f"Sent mail:      {cli} mail",
            "Press Ctrl-C to stop.",
        ]
    )


def freeze_after_full_collection(phase: str, info: dict[str, int]) -> None:
    """Freeze what survived a full collection, so that the next one walks only newer objects.

    moto keeps every item and stream record it was given: under load each full collection
    walked all of them and stopped every thread for 40-470 ms (12 times in a 60 s load run).
    What survived one is the sandbox's data, which dies (if ever) by reference counting; a
    reference cycle alive at that moment and dropped later stays in memory.
    """
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def run(settings: SandboxSettings, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Start the sandbox, serve until Ctrl-C or SIGTERM, then stop it; the exit status."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(settings, err)
    logs.configure(err)
    try:
        try:
            endpoints = sandbox.start()
        except SandboxError as e:
            print(f"sandbox: {e}", file=err)
            return 1
        # moto's backends are a great many long-lived objects; frozen, the garbage collector
        # stops walking them on every full collection (and at exit, which took seconds).
        gc.freeze()
        gc.callbacks.append(freeze_after_full_collection)
        # The API's threads and moto's hand each AWS call back and forth (a batch makes dozens in
        # a row); each hand-over may wait a whole switch interval for the GIL while another
        # thread computes. 1 ms instead of Python's 5 halves a busy sandbox's batch latency.
        sys.setswitchinterval(SWITCH_INTERVAL)
        text = banner(endpoints, settings.endpoints_file, python_command(), sandbox.state_report)
        print(text, file=out, flush=True)
        # A timed wait: the signal handler runs between waits even if the wait is not interrupted.
        while not stopping.wait(0.2):
            pass
        print("Stopping the sandbox...", file=out, flush=True)
    finally:
        sandbox.stop()
        if freeze_after_full_collection in gc.callbacks:
            gc.callbacks.remove(freeze_after_full_collection)
        sys.setswitchinterval(DEFAULT_SWITCH_INTERVAL)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(
        f"Sandbox stopped. Its state is saved in {settings.directory / STATE_DIR} "
        "(`make run` restores it, `make run FRESH=1` starts empty).",
        file=out,
        flush=True,
    )
    return 0
