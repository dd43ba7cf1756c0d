"""The in-process TTL cache, and how much DynamoDB work it saves the public blog reads."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest
from chalice.test import Client
from pynamodb.connection.base import Connection

from chalicelib import blog
from chalicelib.blog.posts.service import PostService
from chalicelib.core.cache import TTLCache
from chalicelib.core.errors import NotFound
from tests.conftest import make_token

SECRET = b"x" * 32
EDITOR = {"Authorization": make_token("ed", groups=["editors"]), "Content-Type": "application/json"}


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Calls:
    """Counts DynamoDB API calls made through PynamoDB."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    @property
    def count(self) -> int:
        return len(self.operations)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    counter = Calls()
    original = Connection._make_api_call  # noqa: SLF001 - the one door every PynamoDB call takes

    def counting(self: Connection, operation_name: str, operation_kwargs: Any) -> Any:
        counter.operations.append(operation_name)
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return counter


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def service(aws: None, ticker: Ticker) -> PostService:
    return PostService(cursor_secret=SECRET, cache_clock=ticker)


# -- TTLCache -------------------------------------------------------------------------------


def test_cache_returns_value_within_ttl(ticker: Ticker) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=30, max_entries=4, clock=ticker)
    cache.put("a", 1)
    ticker.now += 29.9
    assert cache.get("a") == (True, 1)


def test_cache_forgets_value_after_ttl(ticker: Ticker) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=30, max_entries=4, clock=ticker)
    cache.put("a", 1)
    ticker.now += 30
    assert cache.get("a") == (False, None)
    assert len(cache) == 0


def test_cache_evicts_least_recently_used_beyond_bound(ticker: Ticker) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=30, max_entries=2, clock=ticker)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert cache.get("b") == (False, None)
    assert cache.get("a") == (True, 1)
    assert len(cache) == 2


def test_cache_get_or_load_loads_once(ticker: Ticker) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=30, max_entries=4, clock=ticker)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    for _ in range(5):
        assert cache.get_or_load("a", load) == 1
    assert loads == [1]
    assert (cache.hits, cache.misses) == (4, 1)


def test_cache_does_not_keep_exceptions(ticker: Ticker) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=30, max_entries=4, clock=ticker)

    def fail() -> int:
        raise NotFound("no")

    with pytest.raises(NotFound):
        cache.get_or_load("a", fail)
    assert cache.get_or_load("a", lambda: 7) == 7


def test_cache_clear_discards_loads_that_started_before_it(ticker: Ticker) -> None:
    cache: TTLCache[str, str] = TTLCache(ttl=30, max_entries=4, clock=ticker)

    def stale_load() -> str:
        cache.clear()  # a write lands while this read is in flight
        return "stale"

    assert cache.get_or_load("a", stale_load) == "stale"
    assert cache.get("a") == (False, None)


def test_cache_with_zero_ttl_stores_nothing(ticker: Ticker) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=0, max_entries=4, clock=ticker)
    cache.put("a", 1)
    assert cache.get("a") == (False, None)


def test_cache_is_safe_under_threads() -> None:
    cache: TTLCache[int, int] = TTLCache(ttl=60, max_entries=50)

    def work(offset: int) -> None:
        for i in range(2000):
            key = (i + offset) % 200
            assert cache.get_or_load(key, partial(int, key)) == key
            if i % 500 == 0:
                cache.clear()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 50


def test_cache_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        TTLCache(ttl=1, max_entries=0)


# -- PostService's cached reads --------------------------------------------------------------


def test_posts_list_cache_hits_cost_no_dynamodb_calls(service: PostService, calls: Calls) -> None:
    service.create("ed", {"title": "One", "status": "published"})
    before = calls.count
    for _ in range(1000):
        service.list_published(limit=20)
    assert calls.count - before == 1


def test_posts_get_cache_hits_cost_no_dynamodb_calls(service: PostService, calls: Calls) -> None:
    service.create("ed", {"title": "One", "status": "published"})
    before = calls.count
    for _ in range(100):
        service.get_published("one")
    assert calls.count - before == 1


def test_posts_unknown_slug_is_cached_as_missing(service: PostService, calls: Calls) -> None:
    before = calls.count
    for _ in range(10):
        with pytest.raises(NotFound):
            service.get_published("nope")
    assert calls.count - before == 1


def test_posts_malformed_slug_costs_no_call(service: PostService, calls: Calls) -> None:
    with pytest.raises(NotFound):
        service.get_published("Not A Slug")
    assert calls.count == 0


def test_posts_cache_expires_after_ttl(service: PostService, calls: Calls, ticker: Ticker) -> None:
    service.list_published(limit=20)
    before = calls.count
    ticker.now += 60
    service.list_published(limit=20)
    assert calls.count - before == 1


@pytest.mark.parametrize(
    ("write", "expected_titles"),
    [
        (lambda s: s.create("ed", {"title": "Two", "status": "published"}), ["Two", "One"]),
        (lambda s: s.update("one", {"title": "Uno"}), ["Uno"]),
        (lambda s: s.update("one", {"status": "draft"}), []),
        (lambda s: s.delete("one"), []),
    ],
    ids=["create", "update", "unpublish", "delete"],
)
def test_posts_write_invalidates_cached_list(
    service: PostService, write: Any, expected_titles: list[str]
) -> None:
    service.create("ed", {"title": "One", "status": "published"})
    service.list_published(limit=20)
    write(service)
    page, _ = service.list_published(limit=20)
    assert [p["title"] for p in page["items"]] == expected_titles


def test_posts_write_invalidates_cached_post(service: PostService) -> None:
    service.create("ed", {"title": "One", "status": "published"})
    service.get_published("one")
    service.update("one", {"body": "*new*"})
    post, _ = service.get_published("one")
    assert post["body_html"] == "<p><em>new</em></p>\n"


def test_posts_publishing_a_cached_missing_post_shows_it(service: PostService) -> None:
    service.create("ed", {"title": "One"})
    with pytest.raises(NotFound):
        service.get_published("one")
    service.update("one", {"status": "published"})
    assert service.get_published("one")[0]["status"] == "published"


def test_posts_http_1000_warm_list_reads_cost_at_most_20_calls(
    client: Client, calls: Calls
) -> None:
    body = '{"title": "Hello", "status": "published"}'
    assert client.http.post("/posts", headers=EDITOR, body=body).status_code == 201
    assert client.http.get("/posts").status_code == 200  # warms the container's cache
    before = calls.count
    for _ in range(1000):
        assert client.http.get("/posts").status_code == 200
    assert calls.count - before <= 20
    assert blog.post_service()._lists.hits >= 1000  # noqa: SLF001


def test_posts_http_write_invalidates_the_containers_cache(client: Client) -> None:
    body = '{"title": "Hello", "status": "published"}'
    client.http.post("/posts", headers=EDITOR, body=body)
    first = client.http.get("/posts")
    client.http.patch("/posts/hello", headers=EDITOR, body='{"title": "Hello again"}')
    second = client.http.get("/posts")
    assert second.json_body["items"][0]["title"] == "Hello again"
    assert second.headers["ETag"] != first.headers["ETag"]
