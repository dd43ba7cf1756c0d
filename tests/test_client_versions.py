"""X-Client-Version against the stage's MIN_CLIENT_VERSION: 426 UpgradeRequired for an older
client on every route before any work, 400 for a malformed version, no header always served."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from chalice.test import Client

from chalicelib.core import config
from chalicelib.core.errors import UpgradeRequired, ValidationError
from chalicelib.core.versions import ClientVersion, older_than, parse, require
from tests.conftest import headers_for
from tests.helpers import assert_error

ALICE = headers_for("alice")


@pytest.fixture
def minimum(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("MIN_CLIENT_VERSION", "2.4.0")
    config.reset()
    yield "2.4.0"
    config.reset()


# -- parsing and ordering ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.4.1", ClientVersion((2, 4, 1), prerelease=False)),
        ("0.0.0", ClientVersion((0, 0, 0), prerelease=False)),
        ("10.20.30", ClientVersion((10, 20, 30), prerelease=False)),
        ("2.4.0-beta.1", ClientVersion((2, 4, 0), prerelease=True)),
        ("2.4.0+build.77", ClientVersion((2, 4, 0), prerelease=False)),
        ("2.4.0-rc.1+exp.sha.5114f85", ClientVersion((2, 4, 0), prerelease=True)),
    ],
)
def test_parse_reads_semver(text: str, expected: ClientVersion) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2", "2.4", "v2.4.1", "2.4.1.0", "02.4.1", "2.04.1", "2.4.-1", " 2.4.1", "2.4.1-",
     "2.4.1+", "2.4.1-be ta", "2.4.1-\u00e9", "1" * 61 + ".0.0", "٢.4.1"],
)  # fmt: skip
def test_parse_refuses_what_is_not_semver(text: str) -> None:
    with pytest.raises(ValidationError, match="X-Client-Version"):
        parse(text)


@pytest.mark.parametrize(
    ("client", "older"),
    [
        ("2.3.9", True),
        ("1.99.99", True),
        ("2.4.0-rc.2", True),  # a pre-release comes before its release (SemVer 11.3)
        ("2.4.0", False),
        ("2.4.0+build.1", False),
        ("2.4.1-beta", False),
        ("2.10.0", False),  # numbers, not text: 10 > 4
        ("10.0.0", False),
    ],
)
def test_older_than_compares_as_semver(client: str, older: bool) -> None:
    assert older_than(parse(client), parse("2.4.0")) is older


def test_require_names_the_minimum() -> None:
    with pytest.raises(UpgradeRequired, match=r"2\.3\.9 is older than 2\.4\.0"):
        require("2.3.9", "2.4.0")


def test_require_accepts_no_header_and_no_minimum() -> None:
    require(None, "2.4.0")
    require("0.0.1", "")


def test_require_refuses_a_malformed_header_without_a_minimum() -> None:
    with pytest.raises(ValidationError):
        require("latest", "")


@pytest.mark.parametrize("value", ["2.4", "2.4.0-beta", "latest"])
def test_a_malformed_minimum_stops_the_function(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A typo in the stage setting must not silently serve every client (or none)."""
    monkeypatch.setenv("MIN_CLIENT_VERSION", value)
    config.reset()
    try:
        with pytest.raises(RuntimeError, match="MIN_CLIENT_VERSION"):
            config.settings()
    finally:
        monkeypatch.delenv("MIN_CLIENT_VERSION")
        config.reset()


# -- over HTTP ----------------------------------------------------------------------------------


ROUTES = [
    ("GET", "/health", None),
    ("GET", "/todos", None),
    ("POST", "/todos", {"title": "t"}),
    ("PUT", "/todos/t1", {"title": "t"}),
    ("POST", "/todos/batch", {"requests": [{"id": "1", "method": "DELETE", "url": "/todos/x"}]}),
    ("GET", "/posts", None),
    ("POST", "/subscriptions", {"email": "ann@example.com"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_an_older_client_is_426_on_every_route(
    client: Client, minimum: str, method: str, path: str, body: object
) -> None:
    headers = {**ALICE, "X-Client-Version": "2.3.9", "If-None-Match": "*"}
    raw = b"" if body is None else json.dumps(body).encode()

    answer = client.http.request(method, path, headers=headers, body=raw)

    envelope = assert_error(answer, 426, "UpgradeRequired", minimum)
    assert "2.3.9" in envelope["Message"]
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_an_older_client_changes_nothing(client: Client, minimum: str) -> None:
    old = {**ALICE, "X-Client-Version": "1.0.0"}
    client.http.post("/todos", headers=old, body=b'{"title": "t"}')
    assert client.http.get("/todos", headers=ALICE).json_body["items"] == []


@pytest.mark.parametrize("version", [None, "2.4.0", "2.4.1-beta.3", "3.0.0+b"])
def test_a_current_client_or_none_is_served(
    client: Client, minimum: str, version: str | None
) -> None:
    headers = ALICE if version is None else {**ALICE, "X-Client-Version": version}
    assert client.http.post("/todos", headers=headers, body=b'{"title": "t"}').status_code == 201
    assert client.http.get("/health", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/todos"])
def test_a_malformed_version_is_400_even_without_a_minimum(client: Client, path: str) -> None:
    answer = client.http.get(path, headers={**ALICE, "X-Client-Version": "v2"})
    assert_error(answer, 400, "BadRequestError", "X-Client-Version")


def test_without_a_minimum_any_version_is_served(client: Client) -> None:
    answer = client.http.get("/todos", headers={**ALICE, "X-Client-Version": "0.0.1"})
    assert answer.status_code == 200
