"""The invariants of DESIGN.md, checked after a load run against what the server holds.

Each check returns the failures it found, one line each naming the item; an empty list is a
pass. `drained()` says whether the event pump has nothing left to deliver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.load_clients import Ledger, Write
from benchmarks.load_http import S3_RETRY_STATUSES, S3_ROUTE_PREFIX, Caller, Json, Recorder


@dataclass(frozen=True)
class Aws:
    """The sandbox's S3 and SQS, and where they keep what the checks look at."""

    s3: Any
    sqs: Any
    bucket: str


def server_todos(
    callers: dict[str, Caller], origins: dict[str, str]
) -> dict[tuple[str, str], Json]:
    """Every todo each user has changed since the run began, tombstones included."""
    held: dict[tuple[str, str], Json] = {}
    for sub, caller in callers.items():
        cursor = None
        while True:
            query = f"limit=100&token={origins[sub]}" + (f"&cursor={cursor}" if cursor else "")
            answer = caller.call("check", "GET", f"/todos/sync?{query}")
            if answer is None or answer.status != 200:
                raise RuntimeError(f"cannot read user {sub}'s todos: {answer}")
            for item in answer.body["items"]:
                current = held.get((sub, item["id"]))
                if current is None or item["version"] >= current["version"]:
                    held[(sub, item["id"])] = item
            cursor = answer.body["next_cursor"]
            if cursor is None:
                break
    return held


def _live(name: str, top: Write, unsure: bool, held: Json) -> str | None:
    """A live todo against its highest acknowledged write."""
    assert top.version is not None
    if held["version"] < top.version:
        return f"{name}: version {top.version} acknowledged, the server holds {held['version']}"
    if held["version"] > top.version:
        if unsure:
            return None
        return (
            f"{name}: the server holds version {held['version']}, the highest acknowledged is "
            f"{top.version}, and no other write went unanswered"
        )
    if held != top.todo:
        todo = top.todo or {}
        differ = sorted(k for k in {*held, *todo} if held.get(k) != todo.get(k))
        return f"{name}: version {top.version} differs from its acknowledgement in {differ}"
    return None


def _one_todo(
    key: tuple[str, str], writes: list[Write], unsure: bool, held: Json | None
) -> str | None:
    name = f"todo {key[1]} of user {key[0]}"
    if held is None:
        return f"{name}: acknowledged, but the server does not have it" if writes else None
    if any(w.version is None for w in writes):
        return _deleted(name, held)
    top = _highest(writes)
    if held.get("deleted") or top is None:
        return None if unsure else f"{name}: the server holds {held} that no write acknowledged"
    return _live(name, top, unsure, held)


def _highest(writes: list[Write]) -> Write | None:
    """The acknowledged write with the highest version."""
    return max(writes, key=lambda w: w.version or 0, default=None)


def _deleted(name: str, held: Json) -> str | None:
    """A todo whose DELETE was acknowledged: only its tombstone may remain."""
    if held.get("deleted"):
        return None
    return f"{name}: DELETE acknowledged, but the server holds version {held['version']}"


def check_todos(ledger: Ledger, held: dict[tuple[str, str], Json]) -> list[str]:
    """Every acknowledged write is what the server holds."""
    failures = []
    for key in sorted({*ledger.acked, *ledger.unsure}):
        failure = _one_todo(key, ledger.acked.get(key, []), key in ledger.unsure, held.get(key))
        if failure:
            failures.append(failure)
    return failures


def check_keys(ledger: Ledger, held: dict[tuple[str, str], Json]) -> list[str]:
    """One effect per Idempotency-Key of POST /todos (its key is in the notes it created)."""
    made: Counter[str] = Counter()
    ids: dict[str, str] = {}
    for (_, todo_id), item in held.items():
        notes = item.get("notes") or ""
        if notes.startswith("key="):
            made[notes[4:]] += 1
            ids[notes[4:]] = todo_id
    failures = []
    for key, (user, answered) in sorted(ledger.keyed.items()):
        if made[key] > 1 or (answered is not None and made[key] != 1):
            failures.append(f"Idempotency-Key {key} of user {user}: {made[key]} todos created")
        elif answered is not None and ids[key] != answered:
            failures.append(f"Idempotency-Key {key}: answered {answered}, created {ids[key]}")
    return failures


def check_photos(ledger: Ledger, callers: dict[str, Caller], aws: Aws) -> list[str]:
    """Every valid upload is a `ready` photo with one set of thumbnails."""
    failures = [_one_photo(callers[sub], aws, sub, photo_id) for sub, photo_id in ledger.photos]
    return [failure for failure in failures if failure]


def _one_photo(caller: Caller, aws: Aws, sub: str, photo_id: str) -> str | None:
    answer = caller.call("check", "GET", f"/photos/{photo_id}")
    photo = answer.body if answer and isinstance(answer.body, dict) else {}
    if photo.get("status") != "ready":
        return f"photo {photo_id} of user {sub}: {photo or answer}, not ready"
    # One object per size the API names, and nothing else under the photo's prefix.
    sizes = photo.get("thumbnails") or {}
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"thumbnails/{sub}/{photo_id}/")
    keys = sorted(o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", []))
    if len(sizes) != 3 or keys != sorted(f"{s}.jpg" for s in sizes):
        return f"photo {photo_id} of user {sub}: thumbnails {keys}"
    return None


def check_mails(ledger: Ledger, mails: list[Any]) -> list[str]:
    """One confirmation per sign-up, one welcome per confirmed subscriber and none for the
    others, one mail per (post, subscriber active when it was published), never two."""
    sent: Counter[tuple[str, str]] = Counter(
        (mail.subject, address)
        for mail in mails
        for address in mail.to
        if address in ledger.signups
    )
    failures = []
    for address in sorted(ledger.signups):
        failures += _subscriber_mails(ledger, sent, address)
        failures += _post_mails(ledger, sent, address)
    return failures


def _subscriber_mails(ledger: Ledger, sent: Counter[tuple[str, str]], address: str) -> list[str]:
    """One confirmation, and one welcome if (and only if) the address was confirmed."""
    confirms = sum(n for (s, a), n in sent.items() if a == address and s.startswith("Confirm"))
    welcomes = sum(n for (s, a), n in sent.items() if a == address and s.startswith("Welcome"))
    failures = []
    if confirms != 1:
        failures.append(f"subscriber {address}: {confirms} confirmation mails")
    if welcomes != (1 if address in ledger.confirmed else 0):
        failures.append(f"subscriber {address}: {welcomes} welcome mails")
    return failures


def _post_mails(ledger: Ledger, sent: Counter[tuple[str, str]], address: str) -> list[str]:
    """One mail per post published after the address was confirmed; never two."""
    confirmed = ledger.confirmed.get(address)
    failures = []
    for title, published in sorted(ledger.posts.items()):
        count = sent[(f"New post: {title}", address)]
        expected = confirmed is not None and confirmed < published
        if count > 1 or (expected and count != 1):
            failures.append(f"post {title!r}, subscriber {address}: {count} mails")
    return failures


def _queues(sqs: Any) -> tuple[list[str], list[str]]:
    """The queues the app reads and their dead-letter queues, by URL."""
    urls = sqs.list_queues().get("QueueUrls", [])
    arns = {}
    dead: set[str] = set()
    for url in urls:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"]
        )["Attributes"]
        arns[attributes["QueueArn"]] = url
        if "RedrivePolicy" in attributes:
            import json  # noqa: PLC0415

            dead.add(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"])
    dead_urls = [arns[a] for a in dead if a in arns]
    return [u for u in urls if u not in dead_urls], dead_urls


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def drained(aws: Aws) -> bool:
    """No message waits or is in flight in the queues the app reads."""
    live, _ = _queues(aws.sqs)
    return all(_depth(aws.sqs, url) == 0 for url in live)


def check_dead_letters(aws: Aws) -> list[str]:
    _, dead = _queues(aws.sqs)
    return [
        f"dead-letter queue {url.rsplit('/', 1)[-1]}: {depth} messages"
        for url in sorted(dead)
        if (depth := _depth(aws.sqs, url))
    ]


@dataclass(frozen=True)
class Checks:
    """Everything the checks read: the clients' ledger and figures, and the server's side."""

    ledger: Ledger
    recorder: Recorder
    callers: dict[str, Caller]  # by user sub, not recording
    origins: dict[str, str]  # sync tokens from before the run, by user sub
    aws: Aws
    outbox: Callable[[], list[Any]]

    def failures(self) -> list[str]:
        held = server_todos(self.callers, self.origins)
        return [
            *check_errors(self.recorder),
            *check_todos(self.ledger, held),
            *check_keys(self.ledger, held),
            *check_photos(self.ledger, self.callers, self.aws),
            *check_mails(self.ledger, self.outbox()),
            *check_dead_letters(self.aws),
        ]


def check_errors(recorder: Recorder) -> list[str]:
    """No 500 from the API (nor any 5xx but a 503), no request left unanswered, and no 400 (in
    a batch either): the load sends only valid requests, so a 400 is a bug in it or a regression
    in the API. S3's own 500 and 503 are AWS's answers, retried by the client as AWS asks (the
    photo checks see whether each upload that S3 took became a ready photo)."""
    answers = [*recorder.statuses.items(), *recorder.items.items()]
    return [
        f"{route}: {count} answers {status}"
        for (route, status), count in sorted(answers)
        if status in ("timeout", "error", "400")
        or (
            status.startswith("5")
            and status != "503"
            and not (route.startswith(S3_ROUTE_PREFIX) and int(status) in S3_RETRY_STATUSES)
        )
    ]
