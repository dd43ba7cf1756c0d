"""The `local` stage (`chalice local --stage local`) follows the running sandbox: its AWS endpoint,
region, site URL and cursor secret come from the sandbox's endpoints.json, so that `chalice
local` finds the sandbox wherever SANDBOX_AWS_PORT, SANDBOX_HOST or SANDBOX_DIR put it (without
an edit to .chalice/config.json) and reads the cursors and sync tokens the sandbox's API issued.
With no sandbox running it refuses to start, saying what to do."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

LOCAL_STAGE: Final = "local"
ENDPOINTS_FILE: Final = "endpoints.json"
# What the local stage takes from the app environment the sandbox gives its own API: the key
# its cursors are signed with, and where its mails' links point.
SHARED: Final = ("CURSOR_SECRET", "SITE_URL")


def follow_sandbox(environ: MutableMapping[str, str] | None = None) -> None:
    """On the local stage only (APP_STAGE=local): point this process at the running sandbox.

    Runs when app.py is imported (through `chalicelib.follow_local_sandbox`, which imports this
    module on the local stage alone), before any AWS client exists. Raises SystemExit, which
    `chalice local` shows as is, when no sandbox runs where SANDBOX_DIR (or .sandbox) says.
    """
    environ = os.environ if environ is None else environ
    if environ.get("APP_STAGE") != LOCAL_STAGE:
        return
    endpoints = _running_sandbox(environ)
    url = endpoints.get("aws_endpoint_url")
    if not isinstance(url, str) or not url.startswith("http://"):
        raise SystemExit(f"{endpoints_path(environ)} names no sandbox AWS endpoint: {_START}")
    # Per-service endpoints from the shell would send calls past the sandbox.
    for name in [n for n in environ if n.startswith("AWS_ENDPOINT_URL_")]:
        del environ[name]
    environ["AWS_ENDPOINT_URL"] = url
    region = str(endpoints.get("region") or environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    environ["AWS_DEFAULT_REGION"] = environ["AWS_REGION"] = region
    environ.update(_shared(endpoints))


def _shared(endpoints: Mapping[str, Any]) -> dict[str, str]:
    given = endpoints.get("app_environment")
    given = given if isinstance(given, dict) else {}
    return {name: str(given[name]) for name in SHARED if given.get(name)}


_START = (
    "start the sandbox with `make run` first; if it runs with SANDBOX_DIR set, set the same "
    "SANDBOX_DIR for `chalice local`"
)


def endpoints_path(environ: Mapping[str, str]) -> str:
    from pathlib import Path  # noqa: PLC0415 - the local stage only

    value = environ.get("SANDBOX_DIR", "").strip()
    # The sandbox's own default (sandbox/settings.py): .sandbox in the project.
    directory = Path(value).expanduser() if value else Path(__file__).parents[1] / ".sandbox"
    return str(directory.resolve() / ENDPOINTS_FILE)


def _running_sandbox(environ: Mapping[str, str]) -> dict[str, Any]:
    """The running sandbox's endpoints.json; SystemExit when there is none, or it is stale."""
    import json  # noqa: PLC0415 - the local stage only

    path = endpoints_path(environ)
    try:
        with open(path, encoding="utf-8") as file:
            endpoints = json.load(file)
    except FileNotFoundError as e:
        raise SystemExit(f"chalice local --stage local: no sandbox found ({path}): {_START}") from e
    except (OSError, ValueError) as e:
        raise SystemExit(f"chalice local --stage local: {path} cannot be read ({e})") from e
    if not isinstance(endpoints, dict):
        raise SystemExit(f"chalice local --stage local: {path} is not the sandbox's")
    pid = endpoints.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        raise SystemExit(
            f"chalice local --stage local: the sandbox that wrote {path} is no longer running: "
            + _START
        )
    return endpoints


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
