"""GET /feed.xml: an Atom feed (RFC 4287) of the latest published posts, read by feedparser as a
feed reader would, cached like the post list."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import feedparser
import pytest
from chalice.test import Client
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.blog.posts.feed import FeedService
from chalicelib.blog.posts.fields import clean_fields
from chalicelib.core.errors import ValidationError
from chalicelib.core.validation import parse_json_object
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


# -- the feed is always well-formed XML, and its text is text --------------------------------

ATOM_NS = "{http://www.w3.org/2005/Atom}"
# Every code point, surrogates included, with the ones XML and Unicode single out mixed in.
ANY_TEXT = (
    st.text(st.characters(codec=None, categories=None), max_size=30)
    # Mostly what an editor types: the property then covers many accepted values too.
    | st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=30)
) | st.sampled_from(
    [
        "\uffff",
        "\ufffe",
        "\ufdd0",
        "\ufdef",
        "\U0001fffe",
        "\U0010ffff",
        "\x0b",
        "\x1f",
        "\ud800",
        "\x85",
        "\u2028",
        "a\r\nb",
        "\t",
        "<b>&amp;</b>",
        "]]>",
        "\ufeff",
    ]
)


class _Posts:
    """One published post, as PostService.list_published gives it to the feed."""

    def __init__(self, title: str, summary: str) -> None:
        stamp = "2026-11-23T10:00:00.000000Z"
        self.post = {
            "slug": "p",
            "title": title,
            "summary": summary,
            "published_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
        }

    def list_published(self, *, limit: int) -> tuple[dict[str, Any], str]:
        return {"items": [self.post], "next_cursor": None}, "1"


def _entry(title: str, summary: str) -> ET.Element:
    """The feed of one post, parsed by expat (a real XML parser: it refuses what XML forbids)."""
    document, _ = FeedService(_Posts(title, summary), site_url="https://s", api_url="").atom()  # type: ignore[arg-type]
    root = ET.fromstring(document.encode("utf-8"))  # noqa: S314 - our own feed, the subject
    entry = root.find(f"{ATOM_NS}entry")
    assert entry is not None
    return entry


def _accepted(title: str, summary: str) -> dict[str, Any] | None:
    """What the API stores for these fields: through the JSON body and the post fields' rules."""
    body = json.dumps({"title": title, "summary": summary}).encode("utf-8")
    try:
        return clean_fields(parse_json_object(body), partial=False)
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
@example("Nonchar \uffff \ufffe end", "x")
@example("t", "<img src=x onerror=alert(1)>")
def test_feed_of_any_text_the_api_accepts_parses_and_says_it_as_given(
    title: str, summary: str
) -> None:
    fields = _accepted(title, summary)
    if fields is None:
        return
    entry = _entry(fields["title"], fields["summary"])
    # The feed says the title as the summary when there is none.
    shown = {"title": fields["title"], "summary": fields["summary"] or fields["title"]}
    for name, text in shown.items():
        element = entry.find(f"{ATOM_NS}{name}")
        assert element is not None
        assert element.get("type") == "text"
        assert list(element) == []  # no markup became an element
        # XML reads every line break as \n (XML 1.0, section 2.11).
        assert (element.text or "") == re.sub("\r\n?", "\n", text)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_feed_writer_never_emits_what_xml_forbids(title: str, summary: str) -> None:
    # Whatever a stored post holds (one older than the input rules, one an operator wrote).
    entry = _entry(title, summary)
    assert entry.find(f"{ATOM_NS}title") is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Nonchar \uffff \ufffe end", "U+FFFF"),
        ("form\x0cfeed", "U+000C"),
        ("\ufdd5 reserved", "U+FDD5"),
        ("plane 16 \U0010fffe", "U+10FFFE"),
    ],
)
@pytest.mark.parametrize("field", ["title", "summary", "body"])
def test_post_field_that_xml_cannot_hold_is_400_naming_the_character(
    client: Client, field: str, text: str, code: str
) -> None:
    body = {"title": "Fine", "status": "published", field: text}
    response = client.http.post("/posts", headers=EDITOR, body=json.dumps(body))
    assert response.status_code == 400
    assert response.json_body["Code"] == "BadRequestError"
    message = response.json_body["Message"]
    assert message.startswith(f"{field} contains a character that text cannot hold")
    assert f"({code}, " in message
    assert _feed(client).entries == []


def test_feed_summary_and_title_markup_stays_text_for_a_feed_reader(client: Client) -> None:
    markup = '<img src=x onerror="alert(1)"> & <a href="https://evil.example">win</a>'
    _publish(client, "<b>Bold</b> claims", summary=markup)
    entry = _feed(client).entries[0]
    assert entry.summary_detail.type == entry.title_detail.type == "text/plain"
    assert entry.summary == markup
    assert entry.title == "<b>Bold</b> claims"
    parsed = ET.fromstring(client.http.get("/feed.xml").body)  # noqa: S314 - our own feed
    for element in parsed.iter():
        assert element.tag.removeprefix(ATOM_NS) not in {"img", "a", "b"}
