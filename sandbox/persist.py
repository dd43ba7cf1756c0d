"""The component that saves the sandbox's state: a snapshot every few seconds when it changed."""

from __future__ import annotations

import logging
import threading
from typing import Any

import boto3

from sandbox.capture import (
    ObjectReader,
    capture_mails,
    capture_messages,
    capture_tables,
    capture_users,
)
from sandbox.state import Snapshot, StateStore, same_content

log = logging.getLogger("sandbox.state")


class Snapshotter:
    """A sandbox component: saves a snapshot every `period` seconds when something changed,
    and once more when it stops."""

    name = "snapshots"

    def __init__(
        self,
        store: StateStore,
        session: boto3.Session,
        region: str,
        pool_id: str,
        period: float,
    ) -> None:
        self.store = store
        self._session = session
        self._region = region
        self._pool_id = pool_id
        self._period = period
        self._objects = ObjectReader(session)
        self._last: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def capture(self) -> Snapshot:
        snapshot = Snapshot(
            tables=capture_tables(self._region),
            users=capture_users(self._region, self._pool_id),
            messages=capture_messages(self._region),
            mails=capture_mails(self._region),
        )
        self._objects.capture(snapshot)
        return snapshot

    def save(self) -> bool:
        """Take a snapshot and write it if it differs from the last one; whether it wrote."""
        with self._lock:
            snapshot = self.capture()
            sections = snapshot.sections()
            if self._last is not None and same_content(sections, self._last):
                return False
            self.store.save(snapshot)
            self._last = sections
            return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sandbox-snapshots", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.save()
            except Exception:
                # A failed snapshot keeps the previous one; the next period tries again.
                log.exception("saving the sandbox's state failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.save()
