"""The load's clients: devices of a user (offline-sync writes, pulls, photos), a reader who
signs up and confirms, an editor who publishes. Each notes in the ledger what it was answered,
so that the invariants can be checked against what the server holds afterwards."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.load_http import Answer, Caller, Json

BATCH_MAX = 25


@dataclass(frozen=True)
class User:
    email: str
    sub: str
    token: str


@dataclass(frozen=True)
class Write:
    """An acknowledged write: the todo it answered with, or None for a delete."""

    version: int | None
    todo: Json | None


@dataclass
class Ledger:
    """What every client was answered (thread-safe)."""

    acked: dict[tuple[str, str], list[Write]] = field(default_factory=dict)
    unsure: set[tuple[str, str]] = field(default_factory=set)
    # POST /todos: Idempotency-Key -> (user, the todo id it answered with, or None if unanswered)
    keyed: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    photos: list[tuple[str, str]] = field(default_factory=list)
    signups: set[str] = field(default_factory=set)
    confirmed: dict[str, float] = field(default_factory=dict)
    # title -> when its publish was sent (monotonic)
    posts: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(
        self, user: str, todo_id: str, status: int | None, body: Any, unsure: bool
    ) -> None:
        with self.lock:
            if status is None or unsure:
                self.unsure.add((user, todo_id))
            if status in (200, 201) and isinstance(body, dict):
                write = Write(body["version"], body)
                self.acked.setdefault((user, todo_id), []).append(write)
            elif status == 204:
                self.acked.setdefault((user, todo_id), []).append(Write(None, None))


@dataclass(frozen=True)
class Run:
    """What every client of one run shares."""

    ledger: Ledger
    stop: threading.Event
    deadline: float
    think: float
    photo: bytes
    tag: str

    def pause(self, rng: random.Random) -> bool:
        """Think between actions; False once the run is over."""
        self.stop.wait(rng.uniform(0.5, 1.5) * self.think)
        return not self.stop.is_set() and time.monotonic() < self.deadline


class Device:
    """One phone or tablet of a user: offline-sync writes, pulls, reads and photo uploads."""

    def __init__(self, run: Run, user: User, caller: Caller, rng: random.Random, token: str):
        self.run, self.user, self.caller, self.rng = run, user, caller, rng
        self.sync_token = token
        self.todos: dict[str, Json] = {}
        self.versions: dict[str, int] = {}
        self.actions: list[tuple[Callable[[], None], int]] = [
            (self.create, 22),
            (self.create_keyed, 8),
            (self.patch, 22),
            (self.delete, 6),
            (self.batch, 10),
            (self.pull, 20),
            (self.read, 7),
            (self.upload, 5),
        ]

    def loop(self) -> None:
        actions, weights = zip(*self.actions, strict=True)
        while self.run.pause(self.rng):
            self.rng.choices(actions, weights)[0]()

    # -- what the device knows ----------------------------------------------------------------

    def apply(self, item: Json) -> None:
        if item["version"] < self.versions.get(item["id"], 0):
            return
        self.versions[item["id"]] = item["version"]
        if item.get("deleted"):
            self.todos.pop(item["id"], None)
        else:
            self.todos[item["id"]] = item

    def _note(self, todo_id: str, answer: Answer | None) -> None:
        status = answer.status if answer else None
        body = answer.body if answer else None
        self.run.ledger.answered(
            self.user.sub, todo_id, status, body, bool(answer and answer.unsure)
        )
        self._learn(todo_id, status, body)

    def _learn(self, todo_id: str, status: int | None, body: Any) -> None:
        if status in (200, 201) and isinstance(body, dict):
            self.apply(body)
        elif status == 204:
            self.todos.pop(todo_id, None)
        elif status == 412 and isinstance(body, dict) and "Current" in body:
            self.apply(body["Current"])
        elif status == 404:
            self.todos.pop(todo_id, None)

    def _pick(self, *, deletable: bool = False) -> str | None:
        # A todo created through POST /todos keeps its key in its notes: never deleted, so
        # that the server's todos show how many each key made.
        ids = sorted(
            i
            for i, todo in self.todos.items()
            if not (deletable and str(todo.get("notes") or "").startswith("key="))
        )
        return self.rng.choice(ids) if ids else None

    def _title(self) -> str:
        verb = self.rng.choice(("buy", "call", "fix", "read"))
        return f"{self.run.tag} {verb} {self.rng.randrange(10**6)}"

    # -- actions ------------------------------------------------------------------------------

    def create(self) -> None:
        todo_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        body = {"title": self._title(), "tags": [self.rng.choice(("home", "work"))]}
        answer = self.caller.call(
            "PUT /todos/{id}",
            "PUT",
            f"/todos/{todo_id}",
            body,
            {"If-None-Match": "*"},
            key=self.caller.new_key(),
        )
        self._note(todo_id, answer)

    def create_keyed(self) -> None:
        key = self.caller.new_key()
        # The key in the notes (never patched): the server's todos show how many it made.
        body = {"title": self._title(), "notes": f"key={key}"}
        answer = self.caller.call("POST /todos", "POST", "/todos", body, key=key)
        made = answer.body["id"] if answer and answer.status == 201 else None
        with self.run.ledger.lock:
            self.run.ledger.keyed[key] = (self.user.sub, made)
        if made is not None:
            self._note(made, answer)

    def _change(self) -> Json:
        if self.rng.random() < 0.5:
            return {"done": self.rng.random() < 0.5}
        return {"title": self._title()}

    def patch(self) -> None:
        todo_id = self._pick()
        if todo_id is None:
            return self.create()
        answer = self.caller.call(
            "PATCH /todos/{id}",
            "PATCH",
            f"/todos/{todo_id}",
            self._change(),
            {"If-Match": f'"{self.versions[todo_id]}"'},
            key=self.caller.new_key(),
        )
        self._note(todo_id, answer)
        return None

    def delete(self) -> None:
        todo_id = self._pick(deletable=True)
        if todo_id is None:
            return
        answer = self.caller.call(
            "DELETE /todos/{id}",
            "DELETE",
            f"/todos/{todo_id}",
            headers={"If-Match": f'"{self.versions[todo_id]}"'},
            key=self.caller.new_key(),
        )
        self._note(todo_id, answer)

    def _queued(self, count: int) -> list[tuple[str, Json]]:
        """What a device queued offline: creates, changes and deletes, one per todo."""
        queued: list[tuple[str, Json]] = []
        seen: set[str] = set()
        for _ in range(count):
            todo_id = self._pick(deletable=True)
            roll = self.rng.random()
            key = self.caller.new_key()
            if todo_id is None or todo_id in seen or roll < 0.5:
                todo_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
                headers = {"If-None-Match": "*", "Idempotency-Key": key}
                request = {"method": "PUT", "headers": headers, "body": {"title": self._title()}}
            elif roll < 0.9:
                headers = {"If-Match": f'"{self.versions[todo_id]}"', "Idempotency-Key": key}
                request = {"method": "PATCH", "headers": headers, "body": self._change()}
            else:
                headers = {"If-Match": f'"{self.versions[todo_id]}"', "Idempotency-Key": key}
                request = {"method": "DELETE", "headers": headers}
            seen.add(todo_id)
            queued.append((todo_id, request | {"url": f"/todos/{todo_id}"}))
        return queued

    def batch(self) -> None:
        queued = self._queued(self.rng.randint(5, BATCH_MAX))
        requests = [{"id": str(n)} | request for n, (_, request) in enumerate(queued)]
        # No key of its own (the API refuses one): each request carries its own, so a retried
        # batch replays what was applied.
        answer = self.caller.call(
            "POST /todos/batch", "POST", "/todos/batch", {"requests": requests}
        )
        if answer is None or answer.status != 200:
            for todo_id, _ in queued:
                self._note(todo_id, None if answer is None else answer)
            return
        for (todo_id, request), inner in zip(queued, answer.body["responses"], strict=True):
            self.caller.record_item(f"batch {request['method']}", inner["status"])
            self._note(todo_id, Answer(inner["status"], inner["body"], {}, answer.unsure))

    def pull(self) -> None:
        cursor = None
        while True:
            query = f"limit=50&token={self.sync_token}" + (f"&cursor={cursor}" if cursor else "")
            answer = self.caller.call("GET /todos/sync", "GET", f"/todos/sync?{query}")
            if answer is None or answer.status != 200:
                return
            for item in answer.body["items"]:
                self.apply(item)
            cursor = answer.body["next_cursor"]
            if cursor is None:
                self.sync_token = answer.body["sync_token"]
                return

    def read(self) -> None:
        todo_id = self._pick()
        if todo_id is None:
            return
        answer = self.caller.call("GET /todos/{id}", "GET", f"/todos/{todo_id}")
        if answer is not None:
            self._learn(todo_id, answer.status, answer.body)

    def upload(self) -> None:
        photo = self.run.photo
        body = {"content_type": "image/jpeg", "size": len(photo), "filename": "load.jpg"}
        answer = self.caller.call(
            "POST /photos", "POST", "/photos", body, key=self.caller.new_key()
        )
        if answer is None or answer.status != 201:
            return
        upload = answer.body["upload"]
        status = self.caller.upload(
            "POST S3 upload", upload["url"], upload["fields"], "load.jpg", photo
        )
        if status == 204:
            with self.run.ledger.lock:
                self.run.ledger.photos.append((self.user.sub, answer.body["photo"]["id"]))


class Reader:
    """Signs up new addresses now and then, and confirms each from its confirmation mail."""

    def __init__(
        self,
        run: Run,
        caller: Caller,
        rng: random.Random,
        outbox: Callable[[], list[Any]],
        period: float,
    ) -> None:
        self.run, self.caller, self.rng, self.outbox = run, caller, rng, outbox
        self.period = period
        self.pending: list[str] = []
        self.count = 0

    def loop(self) -> None:
        next_signup = time.monotonic()
        while not self.run.stop.wait(0.5) and time.monotonic() < self.run.deadline:
            if time.monotonic() >= next_signup:
                self.sign_up()
                next_signup += self.period
            if self.pending:
                self.confirm()

    def sign_up(self) -> None:
        self.count += 1
        address = f"reader-{self.run.tag}-{self.count}@example.com"
        answer = self.caller.call(
            "POST /subscriptions", "POST", "/subscriptions", {"email": address}
        )
        if answer is not None and answer.status == 202:
            with self.run.ledger.lock:
                self.run.ledger.signups.add(address)
            self.pending.append(address)

    def confirm(self) -> None:
        tokens = confirmation_tokens(self.outbox(), set(self.pending))
        for address, token in tokens.items():
            answer = self.caller.call(
                "POST /subscriptions/confirm", "POST", "/subscriptions/confirm", {"token": token}
            )
            if answer is not None and answer.status == 200:
                with self.run.ledger.lock:
                    self.run.ledger.confirmed[address] = time.monotonic()
                self.pending.remove(address)


def confirmation_tokens(mails: list[Any], addresses: set[str]) -> dict[str, str]:
    """The confirmation link's token for each address that has its mail."""
    import re  # noqa: PLC0415

    found: dict[str, str] = {}
    for mail in mails:
        if not mail.subject.startswith("Confirm"):
            continue
        match = re.search(r"confirm\.html\?token=([\w-]+)", mail.text)
        for address in mail.to:
            if address in addresses and match:
                found[address] = match[1]
    return found


class Editor:
    """Publishes a post every `period` seconds."""

    def __init__(self, run: Run, caller: Caller, period: float) -> None:
        self.run, self.caller, self.period = run, caller, period
        self.count = 0

    def loop(self) -> None:
        while not self.run.stop.wait(self.period) and time.monotonic() < self.run.deadline:
            self.publish()

    def publish(self) -> None:
        self.count += 1
        title = f"Load {self.run.tag} post {self.count}"
        sent = time.monotonic()
        body = {
            "title": title,
            "summary": "A post of the load run",
            "body": "# Hello\n\nload.",
            "status": "published",
        }
        answer = self.caller.call("POST /posts", "POST", "/posts", body)
        if answer is not None and answer.status == 201:
            with self.run.ledger.lock:
                self.run.ledger.posts[title] = sent
