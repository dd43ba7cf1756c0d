"""Concurrent writers through the HTTP layer never lose an update."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from chalice.test import Client

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
    todo = client.http.post("/todos", headers=ALICE, body='{"title": "race"}').json_body

    def tag(i: int) -> int:
        body = json.dumps({"notes": f"writer {i}"})
        status: int = client.http.patch(
            f"/todos/{todo['id']}", headers=ALICE, body=body
        ).status_code
        return status

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(tag, range(8)))
    final = client.http.get(f"/todos/{todo['id']}", headers=ALICE).json_body
    assert statuses.count(200) + statuses.count(409) == 8
    assert final["version"] == 1 + statuses.count(200)
