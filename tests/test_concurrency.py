"""Concurrent writers through the HTTP layer never lose an update."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from chalice.test import Client

from chalicelib.store.storage import WRITE_ATTEMPTS
from tests.conftest import headers_for

ALICE = headers_for("alice")


def test_concurrent_patches_with_same_if_match_exactly_one_wins(client: Client) -> None:
    todo = client.http.post("/todos", headers=ALICE, body='{"title": "race"}').json_body
    headers = {**ALICE, "If-Match": '"1"'}

    def patch(i: int) -> int:
        body = json.dumps({"title": f"writer {i}"})
        status: int = client.http.patch(
            f"/todos/{todo['id']}", headers=headers, body=body
        ).status_code
        return status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(patch, range(20)))
    assert sorted(statuses) == [200] + [412] * 19
    final = client.http.get(f"/todos/{todo['id']}", headers=ALICE).json_body
    assert final["version"] == 2


def test_concurrent_patches_without_if_match_all_land(client: Client) -> None:
    # A write that lost the race is applied again to a fresh read, up to WRITE_ATTEMPTS times;
    # each loss needs another writer's success, so this many concurrent writers all land.
    writers = WRITE_ATTEMPTS
    todo = client.http.post("/todos", headers=ALICE, body='{"title": "race"}').json_body
    start = Barrier(writers)

    def tag(i: int) -> int:
        body = json.dumps({"notes": f"writer {i}"})
        start.wait()
        status: int = client.http.patch(
            f"/todos/{todo['id']}", headers=ALICE, body=body
        ).status_code
        return status

    with ThreadPoolExecutor(max_workers=writers) as pool:
        statuses = list(pool.map(tag, range(writers)))
    final = client.http.get(f"/todos/{todo['id']}", headers=ALICE).json_body
    assert statuses == [200] * writers
    assert final["version"] == 1 + writers
    assert final["notes"] in {f"writer {i}" for i in range(writers)}
