"""Client versions: X-Client-Version read as SemVer and held against the stage's minimum
(standard library only: the API checks it on every request, the WebSocket connect too)."""

import re
from typing import NamedTuple

from chalicelib.core.errors import UpgradeRequired, ValidationError
from chalicelib.core.patterns import lazy

HEADER = "X-Client-Version"
MAX_LENGTH = 64
# semver.org's grammar (2.0.0): numbers without leading zeros, an optional pre-release and
# build metadata. [0-9], not \d: \d also takes other scripts' digits.
_NUMBER = r"(0|[1-9][0-9]*)"
_IDENTIFIER = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = lazy(
    rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
    rf"(-{_IDENTIFIER}(?:\.{_IDENTIFIER})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?",
    re.ASCII,
)
_RELEASE = lazy(rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}", re.ASCII)


class ClientVersion(NamedTuple):
    """What ordering needs of a version: its release numbers and whether it is a pre-release
    (2.4.0-beta comes before 2.4.0; build metadata does not count)."""

    release: tuple[int, int, int]
    prerelease: bool


def parse(text: str) -> ClientVersion:
    """A client's version; 400 unless it is SemVer."""
    match = _SEMVER.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if match is None:
        raise ValidationError(
            f"{HEADER} must be a version such as 2.4.1 (<major>.<minor>.<patch>, SemVer), "
            f"at most {MAX_LENGTH} characters"
        )
    major, minor, patch, prerelease = match.groups()
    return ClientVersion((int(major), int(minor), int(patch)), prerelease is not None)


def parse_minimum(text: str) -> str:
    """The stage's MIN_CLIENT_VERSION: empty (no minimum) or a release, such as 2.4.0."""
    if text and not _RELEASE.fullmatch(text):
        raise RuntimeError(
            f"MIN_CLIENT_VERSION must be empty or a release such as 2.4.0, not {text!r}"
        )
    return text


def older_than(version: ClientVersion, minimum: ClientVersion) -> bool:
    """SemVer precedence against a release: only the numbers count, and a pre-release of the
    minimum's own numbers comes before it."""
    if version.release != minimum.release:
        return version.release < minimum.release
    return version.prerelease and not minimum.prerelease


def require(header: str | None, minimum: str) -> None:
    """Accept no header (web pages, scripts) or a version at least `minimum` (empty: none);
    426 for an older client, 400 for a malformed version."""
    if header is None:
        return
    version = parse(header)
    if minimum and older_than(version, parse(minimum)):
        raise UpgradeRequired(
            f"{HEADER} {header} is older than {minimum}, the oldest version this service "
            "accepts: update the app",
            minimum,
        )
