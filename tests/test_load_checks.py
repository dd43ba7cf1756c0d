"""The load's invariant checks (benchmarks/load_checks.py) on made-up ledgers: each names the item
that breaks an invariant, and passes what holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from benchmarks.load_checks import check_errors, check_keys, check_mails, check_todos
from benchmarks.load_clients import Ledger, Write, confirmation_tokens
from benchmarks.load_http import Recorder, percentile

Json = dict[str, Any]
KEY = ("alice", "t1")


def _todo(version: int, title: str = "t", **extra: Any) -> Json:
    return {"id": "t1", "title": title, "version": version, **extra}


def _ledger(*writes: Write, unsure: bool = False) -> Ledger:
    ledger = Ledger()
    ledger.acked[KEY] = list(writes)
    if unsure:
        ledger.unsure.add(KEY)
    return ledger


def test_check_todos_passes_the_highest_acknowledged_version() -> None:
    ledger = _ledger(Write(1, _todo(1)), Write(2, _todo(2, "b")))
    assert check_todos(ledger, {KEY: _todo(2, "b")}) == []


@pytest.mark.parametrize(
    ("held", "unsure", "says"),
    [
        (None, False, "the server does not have it"),
        (_todo(1), False, "version 2 acknowledged, the server holds 1"),
        (_todo(3), False, "no other write went unanswered"),
        (_todo(2, "other"), False, "differs from its acknowledgement in ['title']"),
        ({"id": "t1", "deleted": True, "version": 3}, False, "that no write acknowledged"),
    ],
)
def test_check_todos_names_the_todo_that_breaks(held: Json | None, unsure: bool, says: str) -> None:
    ledger = _ledger(Write(1, _todo(1)), Write(2, _todo(2, "b")), unsure=unsure)
    failures = check_todos(ledger, {} if held is None else {KEY: held})
    assert len(failures) == 1
    assert "todo t1 of user alice" in failures[0]
    assert says in failures[0]


def test_check_todos_allows_a_later_version_after_an_unanswered_write() -> None:
    ledger = _ledger(Write(1, _todo(1)), unsure=True)
    assert check_todos(ledger, {KEY: _todo(2, "b")}) == []


def test_check_todos_wants_a_tombstone_after_an_acknowledged_delete() -> None:
    ledger = _ledger(Write(1, _todo(1)), Write(None, None))
    assert check_todos(ledger, {KEY: {"id": "t1", "deleted": True, "version": 2}}) == []
    assert "DELETE acknowledged" in check_todos(ledger, {KEY: _todo(1)})[0]


def test_check_keys_counts_the_todos_each_key_made() -> None:
    ledger = Ledger()
    ledger.keyed = {"k1": ("alice", "t1"), "k2": ("alice", "t2"), "k3": ("alice", None)}
    held = {
        ("alice", "t1"): _todo(1, notes="key=k1"),
        ("alice", "t2"): _todo(1, notes="key=k2"),
        ("alice", "t9"): _todo(1, notes="key=k2"),
    }
    assert check_keys(ledger, held) == ["Idempotency-Key k2 of user alice: 2 todos created"]
    del held[("alice", "t9")]
    del held[("alice", "t1")]
    assert check_keys(ledger, held) == ["Idempotency-Key k1 of user alice: 0 todos created"]


@dataclass(frozen=True)
class Mail:
    subject: str
    to: tuple[str, ...]
    text: str = ""


def test_check_mails_wants_one_of_each_and_names_the_subscriber() -> None:
    ledger = Ledger()
    ledger.signups = {"a@x.example", "b@x.example"}
    ledger.confirmed = {"a@x.example": 1.0}
    ledger.posts = {"Post": 2.0, "Early": 0.5}
    one_each = [
        Mail("Confirm your subscription", ("a@x.example",)),
        Mail("Confirm your subscription", ("b@x.example",)),
        Mail("Welcome to the blog", ("a@x.example",)),
        Mail("New post: Post", ("a@x.example",)),
    ]
    assert check_mails(ledger, one_each) == []
    twice = [*one_each, Mail("New post: Post", ("a@x.example",))]
    assert check_mails(ledger, twice) == ["post 'Post', subscriber a@x.example: 2 mails"]
    unconfirmed = [*one_each, Mail("Welcome to the blog", ("b@x.example",))]
    assert check_mails(ledger, unconfirmed) == ["subscriber b@x.example: 1 welcome mails"]
    assert check_mails(ledger, one_each[:2]) == [
        "subscriber a@x.example: 0 welcome mails",
        "post 'Post', subscriber a@x.example: 0 mails",
    ]


def test_check_errors_names_5xx_400_and_unanswered_but_not_503() -> None:
    recorder = Recorder()
    for status in ("200", "503", "429", "500", "timeout", "412"):
        recorder.add("PATCH /todos/{id}", status, 0.1)
    for status in ("201", "400", "412"):
        recorder.add_item("batch PUT", status)
    assert check_errors(recorder) == [
        "PATCH /todos/{id}: 1 answers 500",
        "PATCH /todos/{id}: 1 answers timeout",
        "batch PUT: 1 answers 400",
    ]
    assert recorder.statuses == Counter(
        {("PATCH /todos/{id}", s): 1 for s in ("200", "503", "429", "500", "timeout", "412")}
    )


def test_confirmation_tokens_come_from_each_address_own_mail() -> None:
    link = "https://site/confirm.html?token=abc-1_2"
    mails = [
        Mail("Confirm your subscription", ("a@x.example",), f"open {link}"),
        Mail("Welcome", ("b@x.example",), "https://site/confirm.html?token=nope"),
    ]
    assert confirmation_tokens(mails, {"a@x.example", "b@x.example"}) == {"a@x.example": "abc-1_2"}


@pytest.mark.parametrize(
    ("share", "expected"), [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0), (1.0, 100.0)]
)
def test_percentile_is_the_nearest_rank(share: float, expected: float) -> None:
    assert percentile([float(n) for n in range(1, 101)], share) == expected
