"""End to end: SANDBOX_HOST moves the sandbox to another address, and every URL follows it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e import HTTP_TIMEOUT, Sandbox, call, running_sandbox
from tests.helpers import unavailable

pytestmark = pytest.mark.e2e
# Another loopback address: on Linux all of 127.0.0.0/8 is this machine, and nothing else.
HOST = "127.0.0.2"


def _can_listen_on(host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, 0))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    if not _can_listen_on(HOST):
        unavailable(
            f"this system cannot listen on {HOST}",
            safe_because="only SANDBOX_HOST's other addresses go untested; every other "
            "sandbox test runs on 127.0.0.1",
        )
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), host=HOST) as running:
        yield running


def test_every_url_in_endpoints_names_the_host(sandbox: Sandbox) -> None:
    for name in ("api_url", "site_url", "aws_endpoint_url"):
        assert sandbox.endpoints[name].startswith(f"http://{HOST}:"), name
    assert sandbox.endpoints["app_environment"]["SITE_URL"] == sandbox.endpoints["site_url"]


def test_nothing_listens_on_127_0_0_1(sandbox: Sandbox) -> None:
    port = sandbox.api.rsplit(":", 1)[1]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_the_sites_config_names_the_api_on_the_host(sandbox: Sandbox) -> None:
    script = requests.get(f"{sandbox.endpoints['site_url']}/config.js", timeout=HTTP_TIMEOUT).text
    config = json.loads(script.split("=", 1)[1].strip().rstrip(";"))
    assert config["apiUrl"] == sandbox.api


def test_mail_links_name_the_site_on_the_host(sandbox: Sandbox, tmp_path: Path) -> None:
    reader = "host-reader@example.com"
    assert call(sandbox, "POST", "/subscriptions", body={"email": reader}).status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mails = json.loads(sandbox.cli("mail", "--to", reader, "--json"))
        if mails:
            break
        time.sleep(0.2)
    else:
        pytest.fail("no mail")
    assert f"{sandbox.endpoints['site_url']}/" in mails[0]["text"]
