"""Three devices of one user converge over real HTTP against the sandbox: offline queues of
random creates, patches and deletes (client ids), pushed in batches from threads at once, 412s
resolved from Current (last writer wins), pulls with sync tokens. Seeded and bounded.

Then the same with real time: each device keeps a WebSocket open, pulls once at start and
afterwards only when poked, and still converges."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.e2e import Sandbox, call, create_user

pytestmark = pytest.mark.e2e

Json = dict[str, Any]
ROUNDS = 6
OPS_PER_ROUND = 4


class Device:
    def __init__(self, sandbox: Sandbox, token: str, seed: int) -> None:
        self.sandbox, self.token, self.rng = sandbox, token, random.Random(seed)
        self.todos: dict[str, Json] = {}
        self.versions: dict[str, int] = {}  # the highest version seen per id, tombstones too
        self.queue: list[Json] = []
        self.sync_token: str | None = None

    def work_offline(self) -> None:
        for _ in range(OPS_PER_ROUND):
            choice = self.rng.random()
            if choice < 0.4 or not self.todos:
                todo_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
                create: Json = {"method": "PUT", "id": todo_id, "create": True}
                self.queue.append(create | {"body": {"title": f"t{self.rng.randrange(1000)}"}})
            elif choice < 0.8:
                todo_id = self.rng.choice(sorted(self.todos))
                body = {"done": self.rng.random() < 0.5, "notes": f"n{self.rng.randrange(1000)}"}
                self.queue.append({"method": "PATCH", "id": todo_id, "body": body})
            else:
                todo_id = self.rng.choice(sorted(self.todos))
                self.queue.append({"method": "DELETE", "id": todo_id})

    def push(self) -> None:
        while self.queue:
            sending, self.queue = self.queue[:25], self.queue[25:]
            requests = [self._request(n, op) for n, op in enumerate(sending)]
            response = call(
                self.sandbox, "POST", "/todos/batch", self.token, {"requests": requests}
            )
            assert response.status_code == 200, response.text
            for op, answer in zip(sending, response.json()["responses"], strict=True):
                self._resolve(op, answer)

    def _request(self, number: int, op: Json) -> Json:
        headers = {"If-None-Match": "*"} if op.get("create") else {}
        if not op.get("create"):
            headers = {"If-Match": f'"{self.versions.get(op["id"], 0)}"'}
        request = {"id": str(number), "method": op["method"], "url": f"/todos/{op['id']}"}
        return request | {"headers": headers} | ({"body": op["body"]} if "body" in op else {})

    def _resolve(self, op: Json, answer: Json) -> None:
        status, body = answer["status"], answer["body"]
        if status in (200, 201):
            self._apply(body)
        elif status == 204:
            self.todos.pop(op["id"], None)
        elif status == 412:
            current = body["Current"]
            self._apply(current)
            if not current.get("deleted") and not op.get("create"):
                self.queue.append(op)  # last writer wins: again, on the current version
        else:
            assert status == 404, answer

    def _apply(self, item: Json) -> None:
        if item["version"] < self.versions.get(item["id"], 0):
            return
        self.versions[item["id"]] = item["version"]
        if item.get("deleted"):
            self.todos.pop(item["id"], None)
        else:
            self.todos[item["id"]] = item

    def pull(self) -> None:
        cursor = None
        while True:
            query = "limit=7" + (f"&token={self.sync_token}" if self.sync_token else "")
            query += f"&cursor={cursor}" if cursor else ""
            page = call(self.sandbox, "GET", f"/todos/sync?{query}", self.token).json()
            for item in page["items"]:
                self._apply(item)
            cursor = page["next_cursor"]
            if cursor is None:
                self.sync_token = page["sync_token"]
                return

    def run(self, errors: list[BaseException]) -> None:
        try:
            for _ in range(ROUNDS):
                self.work_offline()
                self.push()
                self.pull()
        except BaseException as e:
            errors.append(e)


def run_concurrently(devices: Sequence[Device]) -> None:
    """Each device's rounds on a thread of its own; every one finishes, none fails."""
    errors: list[BaseException] = []
    threads = [threading.Thread(target=d.run, args=(errors,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def assert_converged(sandbox: Sandbox, token: str, devices: Sequence[Device]) -> None:
    """A fresh pull of everything the server holds equals what each device holds."""
    server = Device(sandbox, token, 0)
    server.pull()
    assert server.todos
    for device in devices:
        assert device.todos == server.todos


def test_three_devices_converge(sandbox: Sandbox) -> None:
    user = create_user(sandbox, "devices")
    devices = [Device(sandbox, user.token, seed) for seed in (11, 22, 33)]
    run_concurrently(devices)
    for device in devices:
        device.push()
    for device in devices:
        device.pull()
    assert_converged(sandbox, user.token, devices)


class PokedDevice(Device):
    """A device that pulls once when it connects, then only when its socket says so."""

    def __init__(self, sandbox: Sandbox, token: str, seed: int, socket: ClientConnection) -> None:
        super().__init__(sandbox, token, seed)
        self.socket = socket

    def poked(self, wait: float) -> bool:
        """Whether a poke came (waiting up to `wait` for the first); drains every frame."""
        found = False
        while True:
            try:
                frame = self.socket.recv(timeout=0 if found else wait)
            except TimeoutError:
                return found
            found = found or '"todos.changed"' in str(frame)
            wait = 0

    def run(self, errors: list[BaseException]) -> None:
        try:
            self.pull()
            for _ in range(ROUNDS):
                self.work_offline()
                self.push()
                if self.poked(wait=0.1):
                    self.pull()
        except BaseException as e:
            errors.append(e)


def test_three_devices_pulling_only_when_poked_converge(sandbox: Sandbox) -> None:
    user = create_user(sandbox, "poked")
    with ExitStack() as sockets:
        url = f"{sandbox.endpoints['ws_url']}/?token={user.token}"
        devices = [
            PokedDevice(sandbox, user.token, seed, sockets.enter_context(connect(url)))
            for seed in (44, 55, 66)
        ]
        run_concurrently(devices)
        for device in devices:
            device.push()
        # Quiet for 3 s after its last poke: every write's poke has come by then (p95 < 1 s).
        for device in devices:
            while device.poked(wait=3.0):
                device.pull()
        assert_converged(sandbox, user.token, devices)
