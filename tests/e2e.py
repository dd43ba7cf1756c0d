"""End-to-end helpers: a `python -m sandbox run` subprocess on ports it picks, and calls to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Passw0rd!!"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 10.0


def listening_url(process: subprocess.Popen[bytes], host: str = "127.0.0.1") -> str | None:
    """The URL of the TCP port `process` listens on, once it does: a server started on port 0
    picks its own port, and a tool that does not say which one (chalice local prints the 0 it
    was given) is asked through the system's socket table."""
    try:
        sockets = psutil.Process(process.pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return None
    ports = [c.laddr.port for c in sockets if c.status == psutil.CONN_LISTEN]
    return f"http://{host}:{ports[0]}" if ports else None


def stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM a process this test started (by its pid), then kill it if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def wait_until_healthy(
    process: subprocess.Popen[bytes], base_url: Callable[[], str | None], log: Path, what: str
) -> None:
    """Poll `base_url()`/health until it answers 200; fail with the log if the process dies."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            pytest.fail(f"{what} exited with {process.returncode}:\n{output}")
        url = base_url()
        try:
            if url is not None and requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(
        f"{what} not ready after {STARTUP_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')}"
    )


@dataclass
class Sandbox:
    process: subprocess.Popen[bytes]
    directory: Path
    env: dict[str, str]
    endpoints: dict[str, Any]

    @property
    def api(self) -> str:
        return str(self.endpoints["api_url"])

    @property
    def endpoints_file(self) -> Path:
        return self.directory / "endpoints.json"

    @property
    def log(self) -> Path:
        return self.directory / "sandbox.log"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """Stop it as Ctrl-C would; its exit status."""
        return stop_process(self.process)

    def kill(self) -> None:
        """kill -9: no chance to save or clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m sandbox ARGS` against this sandbox, whatever it answers."""
        return subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def cli(self, *args: str) -> str:
        """Run `python -m sandbox ARGS` against this sandbox; its stdout, stripped."""
        done = self.run_cli(*args)
        if done.returncode != 0:
            pytest.fail(f"`sandbox {' '.join(args)}` failed ({done.returncode}):\n{done.stderr}")
        return done.stdout.strip()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoints["aws_endpoint_url"],
            region_name=self.endpoints["region"],
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )

    def api_url_once_ready(self) -> str | None:
        # The file is written last, atomically: once it exists, every server is up.
        if not self.endpoints_file.exists():
            return None
        self.endpoints = json.loads(self.endpoints_file.read_text())
        return self.api


def start_sandbox(
    directory: Path, *args: str, host: str = "127.0.0.1", env: Mapping[str, str] | None = None
) -> Sandbox:
    """`python -m sandbox run ARGS` with its state and endpoints in `directory`, with `env` added
    to this process's environment, once its API answers /health.

    Every server binds port 0 itself and endpoints.json says which port it got: a port found free
    here and bound later by the sandbox could be taken by another process in between."""
    env = {
        **os.environ,
        **(env or {}),
        "SANDBOX_HOST": host,
        "SANDBOX_DIR": str(directory),
        "SANDBOX_API_PORT": "0",
        "SANDBOX_SITE_PORT": "0",
        "SANDBOX_AWS_PORT": "0",
        "SANDBOX_WS_PORT": "0",
    }
    # A file, not a pipe: nobody reads the log while tests run, and a full pipe blocks.
    with (directory / "sandbox.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "run", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sandbox = Sandbox(process, directory, env, {})
    try:
        wait_until_healthy(process, sandbox.api_url_once_ready, sandbox.log, "sandbox")
    except BaseException:
        sandbox.stop()
        raise
    return sandbox


@contextmanager
def running_sandbox(
    directory: Path, *args: str, host: str = "127.0.0.1", env: Mapping[str, str] | None = None
) -> Iterator[Sandbox]:
    """A sandbox for the `with` block; stopped by its pid after it, even if a test failed."""
    sandbox = start_sandbox(directory, *args, host=host, env=env)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@dataclass(frozen=True)
class User:
    email: str
    sub: str
    token: str


def create_user(sandbox: Sandbox, name: str) -> User:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    sub = sandbox.cli("user", "create", email, PASSWORD)
    return User(email, sub, sandbox.cli("token", email, PASSWORD))


def call(
    sandbox: Sandbox,
    method: str,
    path: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    **headers: str,
) -> requests.Response:
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if token is not None:
        sent["Authorization"] = token
    if body is not None:
        sent["Content-Type"] = "application/json"
    return requests.request(
        method,
        f"{sandbox.api}{path}",
        headers=sent,
        data=None if body is None else json.dumps(body),
        timeout=HTTP_TIMEOUT,
    )


def assert_envelope(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    # A 412 also carries the current representation (DESIGN: "Current"); nothing else does.
    assert set(body) == ({"Code", "Message", "Current"} if status == 412 else {"Code", "Message"})
    assert body["Code"] == code
    assert body["Message"]
    return str(body["Message"])
