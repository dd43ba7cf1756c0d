"""Sandbox settings, the environment it gives the app and the CLI, and the endpoints.json file."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sandbox.resources import Mail, Media

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"

# Where the sandbox listens unless SANDBOX_HOST says otherwise: loopback, this machine only.
HOST = "127.0.0.1"
STAGE = "sandbox"
# The chalice stage whose environment variables the sandbox starts from, then overrides.
BASE_STAGE = "dev"
DEFAULT_REGION = "us-east-1"
DEFAULT_API_PORT = 8000
DEFAULT_SITE_PORT = 8001
DEFAULT_AWS_PORT = 5000
# Schedules (the warmer) fire this often in the sandbox, not at their production rate.
DEFAULT_SCHEDULE_SECONDS = 60
DEFAULT_WARM_CONCURRENCY = 2
# The state is saved this often (when it changed) and when the sandbox stops.
DEFAULT_SNAPSHOT_SECONDS = 5.0
# The sandbox's own verified SES sender.
SENDER = "blog@sandbox.example.com"
ENDPOINTS_FILE = "endpoints.json"

# Environment variables that would send boto3 somewhere other than the sandbox's moto.
_AWS_LEAKS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
_PLACEHOLDER = "set-by-"


NOT_RUNNING = "no sandbox is running (start it with `make run`)"


class SandboxError(Exception):
    """Something the developer can fix: a busy port, a bad setting, no running sandbox."""


@dataclass(frozen=True)
class SandboxSettings:
    api_port: int
    site_port: int
    aws_port: int
    region: str
    directory: Path
    schedule_seconds: float = DEFAULT_SCHEDULE_SECONDS
    warm_concurrency: int = DEFAULT_WARM_CONCURRENCY
    host: str = HOST
    snapshot_seconds: float = DEFAULT_SNAPSHOT_SECONDS
    fresh: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SandboxSettings:
        region = environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION") or DEFAULT_REGION
        return cls(
            api_port=port_from(environ, "SANDBOX_API_PORT", DEFAULT_API_PORT),
            site_port=port_from(environ, "SANDBOX_SITE_PORT", DEFAULT_SITE_PORT),
            aws_port=port_from(environ, "SANDBOX_AWS_PORT", DEFAULT_AWS_PORT),
            region=region,
            directory=sandbox_dir(environ),
            schedule_seconds=positive_from(
                environ, "SANDBOX_SCHEDULE_SECONDS", DEFAULT_SCHEDULE_SECONDS
            ),
            warm_concurrency=int(
                positive_from(environ, "SANDBOX_WARM_CONCURRENCY", DEFAULT_WARM_CONCURRENCY)
            ),
            host=host_from(environ),
            snapshot_seconds=max(
                0.5, positive_from(environ, "SANDBOX_SNAPSHOT_SECONDS", DEFAULT_SNAPSHOT_SECONDS)
            ),
        )

    @property
    def endpoints_file(self) -> Path:
        return self.directory / ENDPOINTS_FILE


def host_from(environ: Mapping[str, str]) -> str:
    """SANDBOX_HOST: one IP address of this machine to listen on (and to put in every URL)."""
    value = environ.get("SANDBOX_HOST", "").strip()
    if not value:
        return HOST
    try:
        address = ipaddress.ip_address(value)
    except ValueError as e:
        raise SandboxError(
            f"SANDBOX_HOST must be an IP address of this machine (e.g. 192.168.1.20), not {value!r}"
        ) from e
    if address.is_unspecified or address.version != 4:
        raise SandboxError(
            f"SANDBOX_HOST={value} cannot be put in a URL: name one IPv4 address of this machine "
            "(`hostname -I` lists them)"
        )
    return value


def sandbox_dir(environ: Mapping[str, str]) -> Path:
    value = environ.get("SANDBOX_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else ROOT / ".sandbox"


def port_from(environ: Mapping[str, str], name: str, default: int) -> int:
    """A port number from the environment; 0 asks the system for a free one."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) > 65535:
        raise SandboxError(f"{name} must be a port number from 0 to 65535, not {value!r}")
    return int(value)


def positive_from(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1
    if number < 0:
        raise SandboxError(f"{name} must be a number of 0 or more, not {value!r}")
    return number


def url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def aws_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Fake credentials and the moto endpoint: no call can reach a real AWS account."""
    return {
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
    }


def point_at_sandbox(environ: MutableMapping[str, str], endpoint_url: str, region: str) -> None:
    """Make boto3, botocore and PynamoDB in this process talk to the sandbox only."""
    for name in _AWS_LEAKS:
        environ.pop(name, None)
    # Per-service endpoint overrides would bypass AWS_ENDPOINT_URL.
    for name in [n for n in environ if n.startswith("AWS_ENDPOINT_URL_")]:
        environ.pop(name, None)
    environ.update(aws_environment(endpoint_url, region))
    _bypass_proxy(environ, urlsplit(endpoint_url).hostname or HOST)


def _bypass_proxy(environ: MutableMapping[str, str], host: str) -> None:
    """A proxy configured for the internet must not see calls to the sandbox on this machine."""
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in environ.get(name, "").split(",") if h.strip()]
        local = [h for h in dict.fromkeys((host, HOST, "localhost")) if h not in hosts]
        environ[name] = ",".join([*hosts, *local])


def stage_environment(
    stage: str = BASE_STAGE, config_file: Path = CHALICE_CONFIG
) -> dict[str, str]:
    """A chalice stage's environment variables from .chalice/config.json."""
    config: dict[str, Any] = json.loads(config_file.read_text())
    merged: dict[str, str] = dict(config.get("environment_variables", {}))
    merged.update(config["stages"][stage].get("environment_variables", {}))
    return merged


def table_variable(logical_id: str) -> str:
    """The environment variable naming a template table: TodosTable → TODOS_TABLE_NAME."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", logical_id).upper()
    return f"{snake}_NAME"


def app_environment(
    stage_env: Mapping[str, str],
    tables: Mapping[str, str],
    user_pool_arn: str,
    cursor_secret: str,
) -> dict[str, str]:
    """The base stage's variables with every resource value replaced by the sandbox's own."""
    env = dict(stage_env)
    for logical_id, name in tables.items():
        env[table_variable(logical_id)] = name
    missing = sorted(
        name
        for name in stage_env
        if name.endswith("_TABLE_NAME") and name not in {table_variable(t) for t in tables}
    )
    if missing:
        # Better to refuse than to serve the app against a table that does not exist.
        raise SandboxError(
            f"no table in infra/resources.yaml provides {', '.join(missing)}: name the table "
            "resource after the variable (e.g. TodosTable for TODOS_TABLE_NAME)"
        )
    env.update(
        {
            "APP_STAGE": STAGE,
            "USER_POOL_ARN": user_pool_arn,
            "CURSOR_SECRET": cursor_secret,
        }
    )
    return env


def resource_environment(
    *, media: Media, mail: Mail, streams: Mapping[str, str], warm_concurrency: int
) -> dict[str, str]:
    """The app's variables for the sandbox's bucket, queues, streams, sender and warmer."""
    env = {
        "MEDIA_BUCKET_NAME": media.bucket,
        "THUMBNAILS_QUEUE_NAME": media.queue_url.rsplit("/", 1)[-1],
        "POST_MAILS_QUEUE_NAME": mail.queue_url.rsplit("/", 1)[-1],
        "MAIL_SENDER": mail.sender,
        "API_FUNCTION_NAME": "api_handler",
        "WARM_CONCURRENCY": str(warm_concurrency),
        # The API is served in this process and moto cannot run Lambda functions.
        "WARM_INVOKER": "in-process",
        # Metrics as DEBUG log lines: embedded-metric-format JSON is for CloudWatch, not people.
        "METRICS_OUTPUT": "log",
    }
    for logical_id, arn in streams.items():
        # PostsTable → POSTS_STREAM_ARN, as app.py's decorators read them.
        env[table_variable(logical_id).replace("_TABLE_NAME", "_STREAM_ARN")] = arn
    return env


def placeholders(env: Mapping[str, str]) -> list[str]:
    """Variables still holding a config.json placeholder: the sandbox does not provide them."""
    return sorted(name for name, value in env.items() if _PLACEHOLDER in value)


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
    aws_endpoint_url: str, action: str, method: str = "GET", timeout: float = 30.0
) -> Any:
    """Call a control route of the running sandbox (sandbox.control) and return its JSON."""
    address = f"{aws_endpoint_url.rstrip('/')}/_sandbox/{action}"
    if not address.startswith(("http://", "https://")):
        raise SandboxError(f"the AWS endpoint {aws_endpoint_url!r} is not an http(s) URL")
    # Never through a proxy: the sandbox is on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    body = b"" if method == "POST" else None
    request = urllib.request.Request(address, method=method, data=body)  # noqa: S310 - http(s)
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise SandboxError(f"the sandbox answered {e.code} for {method} {address}") from e
    except (urllib.error.URLError, OSError) as e:
        raise SandboxError(f"{NOT_RUNNING}: nothing answers at {aws_endpoint_url} ({e})") from e
    except ValueError as e:
        raise SandboxError(f"the sandbox's {address} is not JSON: {e}") from e
