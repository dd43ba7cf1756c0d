"""endpoints.json, by which the CLI and tests find the running sandbox, and its control call."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.aws_faults import own_session
from sandbox.env import point_at_sandbox
from sandbox.settings import ENDPOINTS_FILE, SandboxError, sandbox_dir

if TYPE_CHECKING:
    import boto3

NOT_RUNNING = "no sandbox is running (start it with `make run`)"


def write_endpoints(path: Path, endpoints: Mapping[str, Any]) -> None:
    """Write atomically: readers polling for the file never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(endpoints, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_endpoints(path: Path) -> dict[str, Any]:
    """The running sandbox's endpoints, or SandboxError saying how to start one."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise SandboxError(
            f"{NOT_RUNNING}; no {path} (set SANDBOX_DIR if it uses another directory)"
        ) from e
    except json.JSONDecodeError as e:
        raise SandboxError(f"{path} is not valid JSON: {e}") from e
    pid = data.get("pid")
    if isinstance(pid, int) and not pid_alive(pid):
        # Left by a sandbox that was killed: it only misleads the next reader.
        path.unlink(missing_ok=True)
        raise SandboxError(NOT_RUNNING)
    return data


def remove_endpoints(path: Path, pid: int) -> None:
    """Remove the file only if this process wrote it (another sandbox may have replaced it)."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return
    if data.get("pid") == pid:
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        # Signal 0 checks that the process exists without touching it.
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def call_sandbox(
    aws_endpoint_url: str,
    action: str,
    method: str = "GET",
    timeout: float = 30.0,
    data: str | None = None,
) -> Any:
    """Call a control route of the running sandbox (sandbox.control) and return its JSON; a
    refusal is a SandboxError with the sandbox's own words."""
    address = f"{aws_endpoint_url.rstrip('/')}/_sandbox/{action}"
    if not address.startswith(("http://", "https://")):
        raise SandboxError(f"the AWS endpoint {aws_endpoint_url!r} is not an http(s) URL")
    # Never through a proxy: the sandbox is on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    body = data.encode() if data is not None else b"" if method == "POST" else None
    request = urllib.request.Request(address, method=method, data=body)  # noqa: S310 - http(s)
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        said = _refusal(e) or f"the sandbox answered {e.code} for {method} {address}"
        raise SandboxError(said) from e
    except (urllib.error.URLError, OSError) as e:
        raise SandboxError(f"{NOT_RUNNING}: nothing answers at {aws_endpoint_url} ({e})") from e
    except ValueError as e:
        raise SandboxError(f"the sandbox's {address} is not JSON: {e}") from e


def _refusal(error: urllib.error.HTTPError) -> str | None:
    """The message of a control route's 400 `{"error": ...}`, if it sent one."""
    try:
        said = json.load(error)
    except ValueError:
        return None
    message = said.get("error") if isinstance(said, dict) else None
    return message if isinstance(message, str) and error.code == 400 else None


def connect() -> tuple[dict[str, Any], boto3.Session]:
    """The running sandbox's endpoints and a session that can only reach its moto (the CLI is
    the developer's tool: the fault rules spare it)."""
    endpoints = read_endpoints(sandbox_dir(os.environ) / ENDPOINTS_FILE)
    point_at_sandbox(os.environ, endpoints["aws_endpoint_url"], endpoints["region"])
    return endpoints, own_session(endpoints["region"])
