"""GET /feed.xml: an Atom feed (RFC 4287) of the latest published posts, read by feedparser as a
feed reader would, cached like the post list."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import feedparser
from chalice.test import Client

from tests.conftest import make_token

JSON = {"Content-Type": "application/json"}
EDITOR = {"Authorization": make_token("ed", groups=["editors"]), **JSON}
PUBLIC_CACHE = "public, max-age=60, stale-while-revalidate=300"
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$"


def _publish(client: Client, title: str, **fields: Any) -> dict[str, Any]:
    body = {"title": title, "summary": f"About {title}", "body": "*hi*", "status": "published"}
    response = client.http.post("/posts", headers=EDITOR, body=json.dumps({**body, **fields}))
    assert response.status_code == 201, response.body
    created: dict[str, Any] = response.json_body
    return created


def _feed(client: Client) -> Any:
    response = client.http.get("/feed.xml")
    assert response.status_code == 200
    parsed = feedparser.parse(response.body)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def test_feed_is_atom_with_cache_headers(client: Client) -> None:
    _publish(client, "First")
    response = client.http.get("/feed.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["Cache-Control"] == PUBLIC_CACHE
    assert response.headers["ETag"].startswith('"')
    parsed = feedparser.parse(response.body)
    assert parsed.version == "atom10"
    assert not parsed.bozo, parsed.bozo_exception


def test_feed_lists_published_posts_newest_first_with_links_to_the_site(client: Client) -> None:
    for title in ("One", "Two", "Three"):
        _publish(client, title)
    _publish(client, "Draft", status="draft")
    parsed = _feed(client)
    assert parsed.feed.title == "MyTodoList blog"
    assert [e.title for e in parsed.entries] == ["Three", "Two", "One"]
    entry = parsed.entries[0]
    assert entry.link == "https://blog.example.com/post.html?slug=three"
    assert entry.summary == "About Three"
    assert parsed.feed.author == "The MyTodoList team"


def test_feed_ids_are_stable_and_dates_rfc3339(client: Client) -> None:
    post = _publish(client, "Stable")
    first = _feed(client)
    client.http.patch("/posts/stable", headers=EDITOR, body='{"summary": "edited"}')
    second = _feed(client)
    assert first.entries[0].id == second.entries[0].id == first.entries[0].link
    assert second.entries[0].summary == "edited"
    text = client.http.get("/feed.xml").body.decode()
    for name in ("published", "updated"):
        stamps = re.findall(rf"<{name}>([^<]+)</{name}>", text)
        assert stamps, name
        assert all(re.match(RFC3339, s) for s in stamps), stamps
    assert first.entries[0].published_parsed[:6] == _parsed(post["published_at"])


def _parsed(stamp: str) -> tuple[int, ...]:
    moment = datetime.fromisoformat(stamp)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def test_feed_holds_the_latest_twenty(client: Client) -> None:
    for number in range(22):
        _publish(client, f"Post {number:02d}")
    parsed = _feed(client)
    assert len(parsed.entries) == 20
    assert parsed.entries[0].title == "Post 21"
    assert parsed.entries[-1].title == "Post 02"


def test_feed_without_posts_is_valid_and_empty(client: Client) -> None:
    parsed = _feed(client)
    assert parsed.entries == []
    assert parsed.feed.title == "MyTodoList blog"


def test_feed_if_none_match_is_304_until_a_post_changes(client: Client) -> None:
    _publish(client, "Cached")
    tag = client.http.get("/feed.xml").headers["ETag"]
    again = client.http.get("/feed.xml", headers={"If-None-Match": tag})
    assert again.status_code == 304
    _publish(client, "Newer")
    changed = client.http.get("/feed.xml", headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag


def test_feed_escapes_titles_and_summaries(client: Client) -> None:
    _publish(client, "Tags <b> & co", summary="<script>alert(1)</script> is text")
    entry = _feed(client).entries[0]
    assert entry.title == "Tags <b> & co"
    assert "<script>" not in client.http.get("/feed.xml").body.decode()
