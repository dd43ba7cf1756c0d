"""The sandbox's saved state: moto's data on disk, written periodically and on stop, read on start.

On disk, under `<SANDBOX_DIR>/state/`: `state.json` (a format version, the tables' items, the
users with their passwords and groups, the queues' messages, the sent mails, and an index of
the buckets' objects) and `blobs/<sha256>` (the objects' bytes, written once each). Every file
is written to a temporary name, flushed to disk and renamed over the old one, and a blob is
deleted only after a `state.json` that no longer names it is in place: a crash at any moment
leaves the previous snapshot or the new one, never a mix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Bumped when the layout changes; a snapshot of another format is set aside, never half-read.
FORMAT = 1
STATE_DIR = "state"
STATE_FILE = "state.json"
CURSOR_SECRET_FILE = "cursor-secret"  # noqa: S105 - a file name
# What chalicelib.core.config.check_secret asks of a cursor key.
MIN_SECRET = 32
BLOBS = "blobs"
_BYTES = "$base64"


class StateError(Exception):
    """The saved state cannot be used (unreadable, or written by another format)."""


def to_json(value: Any) -> Any:
    """DynamoDB items as JSON: binary values become {"$base64": ...}."""
    if isinstance(value, bytes | bytearray):
        return {_BYTES: base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_BYTES}:
            return base64.b64decode(value[_BYTES])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync_directory(path: Path) -> None:
    # The rename itself reaches the disk only when its directory does.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Snapshot:
    """One capture of moto's data: JSON-ready sections and the object bytes they name."""

    tables: dict[str, list[Any]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    mails: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def sections(self) -> dict[str, Any]:
        return {
            "tables": self.tables,
            "users": self.users,
            "objects": self.objects,
            "messages": self.messages,
            "mails": self.mails,
        }

    def summary(self) -> str:
        items = sum(len(v) for v in self.tables.values())
        objects = sum(len(v) for v in self.objects.values())
        messages = sum(len(v) for v in self.messages.values())
        counts = [
            _count(len(self.users), "user"),
            _count(items, "item") + f" in {_count(len(self.tables), 'table')}",
            _count(objects, "object"),
            _count(messages, "queued message"),
            _count(len(self.mails), "mail"),
        ]
        return ", ".join(counts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class StateStore:
    """The snapshot files under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = directory / STATE_FILE
        self._blobs = directory / BLOBS

    def exists(self) -> bool:
        return self.file.exists()

    def save(self, snapshot: Snapshot) -> None:
        """Blobs first, then state.json in one rename, then blobs nothing names any more."""
        self._blobs.mkdir(parents=True, exist_ok=True)
        # Temporary files a crash left behind (one sandbox saves at a time: none is live now).
        for leftover in [*self.directory.glob(".*.tmp"), *self._blobs.glob(".*.tmp")]:
            leftover.unlink(missing_ok=True)
        for digest, data in snapshot.blobs.items():
            if not (self._blobs / digest).exists():
                _write_atomically(self._blobs / digest, data)
        _sync_directory(self._blobs)
        document = {
            "format": FORMAT,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **snapshot.sections(),
        }
        _write_atomically(self.file, json.dumps(document, sort_keys=True).encode())
        _sync_directory(self.directory)
        named = {o["blob"] for objs in snapshot.objects.values() for o in objs}
        for path in self._blobs.iterdir():
            if path.name not in named:
                path.unlink(missing_ok=True)

    def _document(self) -> dict[str, Any] | None:
        """state.json if it is there and of this format; StateError if it cannot be used."""
        try:
            document = json.loads(self.file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise StateError(f"{self.file} cannot be read ({e})") from e
        found = document.get("format") if isinstance(document, dict) else None
        if found != FORMAT:
            raise StateError(
                f"{self.file} has format {found!r}; this sandbox reads format {FORMAT}"
            )
        return dict(document)

    def load(self) -> tuple[Snapshot, str] | None:
        """The saved snapshot and when it was saved; None if there is none."""
        document = self._document()
        if document is None:
            return None
        snapshot = Snapshot(
            tables=document.get("tables") or {},
            users=document.get("users") or [],
            objects=document.get("objects") or {},
            messages=document.get("messages") or {},
            mails=document.get("mails") or [],
        )
        return snapshot, str(document.get("saved_at", "?"))

    def cursor_secret(self) -> str:
        """The key the sandbox's API signs cursors and sync tokens with: made once, then kept
        with the state (so a client's tokens outlive a restart) until the state is deleted."""
        path = self.directory / CURSOR_SECRET_FILE
        try:
            secret = path.read_text().strip()
        except FileNotFoundError:
            secret = ""
        if len(secret) < MIN_SECRET:
            secret = secrets.token_urlsafe(32)
            self.directory.mkdir(parents=True, exist_ok=True)
            # mkstemp's file is readable by its owner only, like state.json's passwords.
            _write_atomically(path, secret.encode())
            _sync_directory(self.directory)
        return secret

    def blob(self, digest: str) -> bytes:
        return (self._blobs / digest).read_bytes()

    def set_aside(self) -> Path:
        """Move an unusable state out of the way (kept for the curious, never read again)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.directory.with_name(f"{self.directory.name}.unreadable-{stamp}")
        self.directory.rename(target)
        return target

    def clear(self) -> bool:
        """Delete the saved state; whether there was one."""
        if not self.directory.exists():
            return False
        shutil.rmtree(self.directory)
        return True


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
