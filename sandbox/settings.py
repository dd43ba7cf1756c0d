"""The sandbox's settings (ports, host, directory, periods) read from SANDBOX_* variables."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
DEFAULT_WS_PORT = 8002
# Schedules (the warmer) fire this often in the sandbox, not at their production rate.
DEFAULT_SCHEDULE_SECONDS = 60
DEFAULT_WARM_CONCURRENCY = 2
# The state is saved this often (when it changed) and when the sandbox stops.
DEFAULT_SNAPSHOT_SECONDS = 5.0
# The sandbox's own verified SES sender.
SENDER = "blog@sandbox.example.com"
ENDPOINTS_FILE = "endpoints.json"


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
    # SANDBOX_FAULTS and SANDBOX_FAULT_SEED (sandbox.faults); checked when the sandbox starts.
    faults: str = ""
    fault_seed: str = ""
    ws_port: int = DEFAULT_WS_PORT

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
            faults=environ.get("SANDBOX_FAULTS", "").strip(),
            fault_seed=environ.get("SANDBOX_FAULT_SEED", "").strip(),
            ws_port=port_from(environ, "SANDBOX_WS_PORT", DEFAULT_WS_PORT),
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
