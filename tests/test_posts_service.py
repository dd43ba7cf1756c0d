"""PostService apart from HTTP: slugs, validation, rendering and sanitising, publishing, paging."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from chalicelib.blog.posts.fields import MAX_BODY_BYTES, check_slug, derive_slug
from chalicelib.blog.posts.service import PostService, post_tag
from chalicelib.core.errors import Conflict, NotFound, PreconditionFailed, ValidationError
from chalicelib.store.models import POST_LISTING_ATTRIBUTES, PhotoModel, PostModel
from sandbox.resources import table_definitions
from tests.conftest import ROOT
from tests.helpers import FakeClock

SECRET = b"x" * 32


@pytest.fixture
def service(aws: None) -> PostService:
    # No caching here: these tests are about storage; test_posts_cache covers the cache.
    return PostService(cursor_secret=SECRET, clock=FakeClock(), cache_ttl=0)


def _photo(user: str, photo_id: str, status: str = "ready") -> None:
    PhotoModel(
        user,
        photo_id,
        status=status,
        content_type="image/jpeg",
        size=1,
        created_at="t",
        created_key=f"t#{photo_id}",
        updated_at="t",
    ).save()


# -- slugs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Ünïcode Day", "unicode-day"),
        ("Hello, World!", "hello-world"),
        ("  --Leading and trailing--  ", "leading-and-trailing"),
        ("Crème brûlée: 10 tips", "creme-brulee-10-tips"),
        ("multiple   spaces\tand_underscores", "multiple-spaces-and-underscores"),
        ("ﬁne ligatures", "fine-ligatures"),
        ("Straße", "strae"),
        ("Ω 2026 — a year", "2026-a-year"),
        ("x" * 100, "x" * 80),
        ("a" * 79 + " b", "a" * 79),
        # Cut at a word boundary, never inside a word.
        ("word " * 20, "-".join(["word"] * 16)),
        ("a" * 78 + " bcd", "a" * 78),
        ("a" * 75 + " bcd efgh", "a" * 75 + "-bcd"),
        ("a" * 80 + " b", "a" * 80),
    ],
)
def test_derive_slug_from_title(title: str, slug: str) -> None:
    assert derive_slug(title) == slug


@pytest.mark.parametrize("title", ["日本語", "!!!", "—", "Ωμέγα"])
def test_derive_slug_without_ascii_is_stable_and_distinct(title: str) -> None:
    slug = derive_slug(title)
    assert re.fullmatch(r"post-[0-9a-f]{12}", slug)
    assert check_slug(slug) == slug
    assert derive_slug(title) == slug
    assert derive_slug(title + "?") != slug


def test_create_twice_with_a_title_without_ascii_is_409(service: PostService) -> None:
    first, _ = service.create("ed", {"title": "日本語"})
    assert first["slug"].startswith("post-")
    with pytest.raises(Conflict):
        service.create("ed", {"title": "日本語"})


@pytest.mark.parametrize("slug", ["a", "my-first-post", "2026", "a1-b2-c3"])
def test_check_slug_accepts_valid(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    "slug", ["", "My-Post", "my_post", "-a", "a-", "a--b", "ünï", "a b", "a/b", "a" * 81, 5]
)
def test_check_slug_rejects_invalid(slug: object) -> None:
    with pytest.raises(ValidationError, match="slug"):
        check_slug(slug)


def test_create_derives_slug_from_title(service: PostService) -> None:
    post, _ = service.create("ed", {"title": "Ünïcode Day"})
    assert post["slug"] == "unicode-day"


def test_create_uses_explicit_slug(service: PostService) -> None:
    post, _ = service.create("ed", {"title": "Whatever", "slug": "my-choice"})
    assert post["slug"] == "my-choice"


def test_create_taken_slug_is_conflict(service: PostService) -> None:
    service.create("ed", {"title": "Hello"})
    with pytest.raises(Conflict, match="'hello' is taken"):
        service.create("other", {"title": "Hello!"})
    assert PostModel.get("hello").author == "ed"


def test_update_slug_is_refused(service: PostService) -> None:
    service.create("ed", {"title": "Hello"})
    with pytest.raises(ValidationError, match="slug cannot be changed"):
        service.update("hello", {"slug": "bye"})


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "title is required"),
        ({"title": "  "}, "title must not be blank"),
        ({"title": 3}, "title must be a string"),
        ({"title": "x" * 201}, "the limit is 200"),
        ({"title": "a\nb"}, "one line"),
        ({"title": "t", "colour": "red"}, "unknown field(s): colour"),
        ({"title": "t", "status": "live"}, "status must be 'draft' or 'published'"),
        ({"title": "t", "summary": 1}, "summary must be a string"),
        ({"title": "t", "summary": "s" * 1001}, "the limit is 1000"),
        ({"title": "t", "body": ["x"]}, "body must be a string"),
        ({"title": "t", "body": "x" * (MAX_BODY_BYTES + 1)}, "the limit is"),
        ({"title": "t", "body": "é" * (MAX_BODY_BYTES // 2 + 1)}, "bytes of UTF-8"),
        ({"title": "t", "cover_photo_id": 7}, "cover_photo_id must be a string"),
        ({"title": "t", "cover_photo_id": "p" * 65}, "cover_photo_id"),
        ({"title": "t", "cover_photo_id": ""}, "cover_photo_id"),
        ({"title": "Hello\u0007"}, "title"),
        ({"title": "t", "slug": "a--b"}, "slug"),
        ({"title": "t", "slug": "Bad Slug"}, "slug must be lowercase"),
        ({"title": "t", "body": "<" * (MAX_BODY_BYTES - 1)}, "renders to"),
    ],
)
def test_create_invalid_input_is_rejected(service: PostService, body: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as raised:
        service.create("ed", body)
    assert message in str(raised.value)


def test_create_body_at_the_limit_is_accepted(service: PostService) -> None:
    post, _ = service.create("ed", {"title": "t", "body": "a" * MAX_BODY_BYTES})
    assert len(post["body"]) == MAX_BODY_BYTES


def test_create_returns_full_post(service: PostService) -> None:
    post, tag = service.create(
        "ed", {"title": " Hello ", "summary": "Hi", "body": "**bold**", "status": "draft"}
    )
    assert post == {
        "slug": "hello",
        "title": "Hello",
        "summary": "Hi",
        "body": "**bold**",
        "body_html": "<p><strong>bold</strong></p>\n",
        "status": "draft",
        "author": "ed",
        "cover_photo_id": None,
        "created_at": "2026-11-23T10:00:00.000000Z",
        "updated_at": "2026-11-23T10:00:00.000000Z",
        "published_at": None,
        "version": 1,
    }
    assert re.fullmatch(r"1-[0-9a-f]{8}", tag)


# -- rendering and sanitising ---------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<img src=x OnError=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;vascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "![img](javascript:alert(1))",
    '![img](x" onerror="alert(1))',
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="position:fixed;top:0">overlay</div>',
    "<style>body { display: none }</style>",
    '<form action="https://evil.example"><input name="password"></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--><script>alert(1)</script>-->",
    '<details open ontoggle="alert(1)">x</details>',
    '<video><source onerror="alert(1)"></video>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    '<img src="https://ok.example/x.png" onmouseover="alert(1)">',
    "```\n</code><script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
]

ALLOWED_TAGS = {
    *("a", "abbr", "b", "blockquote", "br", "code", "del", "em", "hr", "i", "img", "kbd"),
    *("li", "ol", "p", "pre", "s", "strong", "sub", "sup", "ul"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"),
}
SAFE_URL = re.compile(r"(https?:|mailto:|[^:]*$)", re.IGNORECASE)


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer would see them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


@pytest.mark.parametrize("body", XSS)
def test_body_html_contains_nothing_that_runs(service: PostService, body: str) -> None:
    post, _ = service.create("ed", {"title": "t", "body": f"before\n\n{body}\n\nafter"})
    for tag, attrs in Elements(post["body_html"]).found:
        assert tag in ALLOWED_TAGS, post["body_html"]
        for name, value in attrs:
            assert not name.startswith("on"), post["body_html"]
            assert name in {"href", "src", "alt", "title", "rel", "start"}, post["body_html"]
            if name in ("href", "src"):
                # The parser has decoded entities: what is checked is what a browser follows.
                url = "".join((value or "").split())
                assert SAFE_URL.match(url), post["body_html"]


def test_body_html_links_get_rel_noopener_nofollow(service: PostService) -> None:
    post, _ = service.create("ed", {"title": "t", "body": '<a href="https://x.example">x</a>'})
    ((tag, attrs),) = Elements(post["body_html"]).found[1:]
    assert tag == "a"
    assert dict(attrs)["rel"] == "noopener noreferrer nofollow"


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("# Title", "<h1>Title</h1>\n"),
        ("*em* **strong** ~~gone~~", "<p><em>em</em> <strong>strong</strong> <s>gone</s></p>\n"),
        ("`a < b`", "<p><code>a &lt; b</code></p>\n"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
        (
            "[site](https://example.com)",
            '<p><a href="https://example.com" rel="noopener noreferrer nofollow">site</a></p>\n',
        ),
        (
            "[mail](mailto:a@example.com)",
            '<p><a href="mailto:a@example.com" rel="noopener noreferrer nofollow">mail</a></p>\n',
        ),
        (
            '<a href="https://example.com" rel="opener" target="_blank">x</a>',
            '<p><a href="https://example.com" rel="noopener noreferrer nofollow">x</a></p>\n',
        ),
        (
            "![cat](https://example.com/cat.png)",
            '<p><img src="https://example.com/cat.png" alt="cat"></p>\n',
        ),
        ("<kbd>Ctrl</kbd>+<sup>2</sup>", "<p><kbd>Ctrl</kbd>+<sup>2</sup></p>\n"),
        (
            "| a |\n|---|\n| 1 |",
            "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n</tr>\n</tbody>\n</table>\n",
        ),
    ],
)
def test_body_html_keeps_ordinary_markdown(service: PostService, body: str, html: str) -> None:
    post, _ = service.create("ed", {"title": "t", "body": body})
    assert post["body_html"] == html


def test_body_html_is_stored_not_rendered_on_read(service: PostService) -> None:
    service.create("ed", {"title": "t", "body": "*x*", "status": "published"})
    item = PostModel.get("t")
    item.body_html = "<p>stored</p>"
    item.save()
    assert service.get_published("t")[0]["body_html"] == "<p>stored</p>"


def test_update_body_rerenders_html(service: PostService) -> None:
    service.create("ed", {"title": "t", "body": "*x*"})
    post, _ = service.update("t", {"body": "**y**"})
    assert post["body_html"] == "<p><strong>y</strong></p>\n"


# -- publishing -----------------------------------------------------------------------------


def test_published_at_set_on_first_publication_only(service: PostService) -> None:
    service.create("ed", {"title": "t"})
    first, _ = service.update("t", {"status": "published"})
    assert first["published_at"] == first["updated_at"]
    service.update("t", {"status": "draft"})
    again, _ = service.update("t", {"status": "published"})
    assert again["published_at"] == first["published_at"]
    assert again["updated_at"] > first["updated_at"]


def test_create_published_sets_published_at(service: PostService) -> None:
    post, _ = service.create("ed", {"title": "t", "status": "published"})
    assert post["published_at"] == post["created_at"]


def test_draft_is_not_found_publicly(service: PostService) -> None:
    service.create("ed", {"title": "t"})
    with pytest.raises(NotFound):
        service.get_published("t")


def test_draft_is_readable_by_slug_for_editors(service: PostService) -> None:
    service.create("ed", {"title": "t"})
    assert service.get("t")[0]["status"] == "draft"


def test_unpublished_post_leaves_the_index(service: PostService) -> None:
    service.create("ed", {"title": "t", "status": "published"})
    service.update("t", {"status": "draft"})
    item = PostModel.get("t")
    assert item.feed is None
    assert item.published_key is None


# -- listing --------------------------------------------------------------------------------


def test_list_shows_published_newest_first_without_bodies(service: PostService) -> None:
    service.create("ed", {"title": "old", "status": "published", "body": "b"})
    service.create("ed", {"title": "draft"})
    service.create("ed", {"title": "new", "status": "published"})
    page, _ = service.list_published(limit=20)
    assert [p["slug"] for p in page["items"]] == ["new", "old"]
    assert "body" not in page["items"][0]
    assert "body_html" not in page["items"][0]
    assert page["next_cursor"] is None


def test_list_orders_by_publication_not_creation(service: PostService) -> None:
    service.create("ed", {"title": "first"})
    service.create("ed", {"title": "second", "status": "published"})
    service.update("first", {"status": "published"})
    page, _ = service.list_published(limit=20)
    assert [p["slug"] for p in page["items"]] == ["first", "second"]


def test_list_pages_with_cursor(service: PostService) -> None:
    for n in range(5):
        service.create("ed", {"title": f"p{n}", "status": "published"})
    first, _ = service.list_published(limit=2)
    second, _ = service.list_published(limit=2, cursor=first["next_cursor"])
    third, _ = service.list_published(limit=2, cursor=second["next_cursor"])
    slugs = [p["slug"] for page in (first, second, third) for p in page["items"]]
    assert slugs == ["p4", "p3", "p2", "p1", "p0"]
    assert third["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["junk", "a.b", "eyJrIjp7fX0.AAAA"])
def test_list_forged_cursor_is_400(service: PostService, cursor: str) -> None:
    with pytest.raises(ValidationError, match="cursor"):
        service.list_published(limit=2, cursor=cursor)


def test_list_tag_changes_when_a_listed_post_changes(service: PostService) -> None:
    service.create("ed", {"title": "a", "status": "published"})
    service.create("ed", {"title": "b", "status": "published"})
    _, before = service.list_published(limit=20)
    _, same = service.list_published(limit=20)
    service.update("a", {"summary": "new"})
    _, after = service.list_published(limit=20)
    assert before == same
    assert after != before


def test_list_tag_changes_when_a_post_is_recreated(service: PostService) -> None:
    service.create("ed", {"title": "a", "status": "published"})
    _, before = service.list_published(limit=20)
    service.delete("a")
    service.create("ed", {"title": "a", "status": "published"})
    _, after = service.list_published(limit=20)
    assert after != before


# -- concurrency and deletion ---------------------------------------------------------------


def test_update_with_stale_if_match_is_412(service: PostService) -> None:
    _, tag = service.create("ed", {"title": "t"})
    service.update("t", {"summary": "s"}, frozenset({tag}))
    with pytest.raises(PreconditionFailed, match="current version \\(2\\)"):
        service.update("t", {"summary": "x"}, frozenset({tag}))


@pytest.mark.parametrize("if_match", ["tag", "version", "*"])
def test_update_with_current_if_match_succeeds(service: PostService, if_match: str) -> None:
    _, tag = service.create("ed", {"title": "t"})
    choices: dict[str, frozenset[str] | str] = {
        "tag": frozenset({tag}),
        "version": frozenset({"1"}),
        "*": "*",
    }
    wanted = choices[if_match]
    post, _ = service.update("t", {"summary": "s"}, wanted)
    assert post["version"] == 2


def test_tag_of_recreated_post_differs(service: PostService) -> None:
    _, first = service.create("ed", {"title": "t"})
    service.delete("t")
    _, second = service.create("ed", {"title": "t"})
    assert first != second
    with pytest.raises(PreconditionFailed):
        service.update("t", {"summary": "s"}, frozenset({first}))


def test_delete_with_stale_if_match_is_412(service: PostService) -> None:
    _, tag = service.create("ed", {"title": "t"})
    service.update("t", {"summary": "s"})
    with pytest.raises(PreconditionFailed):
        service.delete("t", frozenset({tag}))
    assert PostModel.get("t").version == 2


def test_delete_then_get_is_404(service: PostService) -> None:
    service.create("ed", {"title": "t", "status": "published"})
    service.delete("t")
    with pytest.raises(NotFound):
        service.get("t")


@pytest.mark.parametrize("call", ["update", "delete", "get"])
def test_missing_post_is_404(service: PostService, call: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "update": lambda: service.update("nope", {"title": "x"}),
        "delete": lambda: service.delete("nope"),
        "get": lambda: service.get("nope"),
    }
    with pytest.raises(NotFound, match="post nope not found"):
        calls[call]()


def test_update_retries_after_a_concurrent_write(
    service: PostService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.create("ed", {"title": "t"})
    real_get = PostModel.get
    raced = False

    def get_then_race(*args: Any, **kwargs: Any) -> PostModel:
        nonlocal raced
        item = real_get(*args, **kwargs)
        if not raced:  # another editor's write lands between our read and our write
            raced = True
            other = real_get(*args, **kwargs)
            other.summary = "theirs"
            other.save()
        return item

    monkeypatch.setattr(PostModel, "get", get_then_race)
    post, _ = service.update("t", {"title": "mine"})
    assert post["version"] == 3
    assert (post["title"], post["summary"]) == ("mine", "theirs")


# -- cover photos ---------------------------------------------------------------------------


def test_cover_photo_of_the_author_is_accepted(service: PostService) -> None:
    _photo("ed", "p1")
    post, _ = service.create("ed", {"title": "t", "cover_photo_id": "p1"})
    assert post["cover_photo_id"] == "p1"


@pytest.mark.parametrize(
    ("owner", "status"),
    [("someone-else", "ready"), ("ed", "pending"), ("ed", "failed"), (None, None)],
    ids=["other-users-photo", "pending", "failed", "missing"],
)
def test_cover_photo_must_be_a_ready_photo_of_the_author(
    service: PostService, owner: str | None, status: str | None
) -> None:
    if owner and status:
        _photo(owner, "p1", status)
    with pytest.raises(ValidationError, match="cover_photo_id 'p1' must be one of the author's"):
        service.create("ed", {"title": "t", "cover_photo_id": "p1"})


def test_cover_photo_checked_against_post_author_on_update(service: PostService) -> None:
    _photo("ed", "p1")
    service.create("ed", {"title": "t"})
    post, _ = service.update("t", {"cover_photo_id": "p1"})
    assert post["cover_photo_id"] == "p1"
    cleared, _ = service.update("t", {"cover_photo_id": None})
    assert cleared["cover_photo_id"] is None


def test_post_tag_depends_on_version_and_creation() -> None:
    a = PostModel("s", version=1, created_at="2026-01-01T00:00:00Z")
    b = PostModel("s", version=2, created_at="2026-01-01T00:00:00Z")
    c = PostModel("s", version=1, created_at="2026-01-02T00:00:00Z")
    assert len({post_tag(a), post_tag(b), post_tag(c)}) == 3


def test_reading_posts_loads_no_markdown_library() -> None:
    code = (
        "import json, sys; import chalicelib.blog.posts.service; "
        "print(json.dumps(sorted(m for m in ('markdown_it', 'nh3') if m in sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_listing_index_projects_what_listings_show() -> None:
    (table,) = [t for t in table_definitions("test").values() if t["TableName"].endswith("-posts")]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["Projection"]["NonKeyAttributes"] == list(POST_LISTING_ATTRIBUTES)
