"""HTTP behaviour of /posts through chalice.test.Client: who may do what, caching, envelopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.web.http import groups
from tests.conftest import OTHER_KEY, make_token
from tests.helpers import assert_error

JSON = {"Content-Type": "application/json"}
EDITOR = {"Authorization": make_token("ed", groups=["editors"]), **JSON}
READER = {"Authorization": make_token("reader", groups=["readers"]), **JSON}
NO_GROUPS = {"Authorization": make_token("plain"), **JSON}
FORGED = {"Authorization": make_token("ed", groups=["editors"], key=OTHER_KEY), **JSON}
PUBLIC_CACHE = "public, max-age=60, stale-while-revalidate=300"


def _create(client: Client, **fields: Any) -> Any:
    body = {"title": "Hello", "body": "*hi*", **fields}
    response = client.http.post("/posts", headers=EDITOR, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response


# -- who may do what ------------------------------------------------------------------------

WRITES = [
    ("post", "/posts", '{"title": "New"}'),
    ("patch", "/posts/hello", '{"title": "Changed"}'),
    ("delete", "/posts/hello", None),
    ("get", "/posts/hello/preview", None),
]


def _call(client: Client, method: str, path: str, body: str | None, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["body"] = body
    return getattr(client.http, method)(path, **kwargs)


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_post_editor_routes_without_token_are_401(
    client: Client, method: str, path: str, body: str | None
) -> None:
    _create(client)
    assert_error(_call(client, method, path, body, JSON), 401, "UnauthorizedError")


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_post_editor_routes_with_forged_token_are_401(
    client: Client, method: str, path: str, body: str | None
) -> None:
    _create(client)
    assert_error(_call(client, method, path, body, FORGED), 401, "UnauthorizedError")


@pytest.mark.parametrize("headers", [READER, NO_GROUPS], ids=["other-group", "no-group"])
@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_post_editor_routes_for_non_editor_are_403(
    client: Client, method: str, path: str, body: str | None, headers: dict[str, str]
) -> None:
    _create(client)
    response = _call(client, method, path, body, headers)
    assert_error(response, 403, "ForbiddenError", "only editors")
    assert client.http.get("/posts/hello/preview", headers=EDITOR).json_body["title"] == "Hello"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [*((m, p, b, s) for (m, p, b), s in zip(WRITES, (201, 200, 204, 200), strict=True))],
)
def test_post_editor_routes_for_editor_succeed(
    client: Client, method: str, path: str, body: str | None, status: int
) -> None:
    _create(client)
    assert _call(client, method, path, body, EDITOR).status_code == status


@pytest.mark.parametrize("headers", [JSON, READER, EDITOR], ids=["anonymous", "reader", "editor"])
@pytest.mark.parametrize("path", ["/posts", "/posts/hello"])
def test_post_public_reads_are_open_to_everyone(
    client: Client, headers: dict[str, str], path: str
) -> None:
    _create(client, status="published")
    response = client.http.get(path, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "claim",
    [["editors"], ["a", "editors"], "editors", "a,editors", "[a editors]", "[a, editors]"],
)
def test_groups_claim_forms_are_all_understood(claim: object) -> None:
    request: Any = type("R", (), {"context": {"authorizer": {"claims": {"cognito:groups": claim}}}})
    assert "editors" in groups(request)


@pytest.mark.parametrize("claim", [None, "", "[]", "editorsx", ["editor"], 5])
def test_groups_claim_without_editors(claim: object) -> None:
    request: Any = type("R", (), {"context": {"authorizer": {"claims": {"cognito:groups": claim}}}})
    assert "editors" not in groups(request)


# -- public reads ---------------------------------------------------------------------------


def test_get_post_draft_is_404_publicly(client: Client) -> None:
    _create(client)
    assert_error(client.http.get("/posts/hello"), 404, "NotFoundError", "post hello not found")


def test_get_post_draft_is_readable_in_editor_preview(client: Client) -> None:
    _create(client)
    response = client.http.get("/posts/hello/preview", headers=EDITOR)
    assert response.status_code == 200
    assert response.json_body["status"] == "draft"
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("slug", ["missing", "Not-A-Slug", "x" * 200])
def test_get_post_unknown_slug_is_404(client: Client, slug: str) -> None:
    assert_error(client.http.get(f"/posts/{slug}"), 404, "NotFoundError")


def test_get_post_sends_cache_headers_and_etag(client: Client) -> None:
    etag = _create(client, status="published").headers["ETag"]
    response = client.http.get("/posts/hello")
    assert response.headers["Cache-Control"] == PUBLIC_CACHE
    assert response.headers["ETag"] == etag
    assert response.json_body["body_html"] == "<p><em>hi</em></p>\n"


def test_get_post_if_none_match_is_304(client: Client) -> None:
    _create(client, status="published")
    etag = client.http.get("/posts/hello").headers["ETag"]
    response = client.http.get("/posts/hello", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.body == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == PUBLIC_CACHE


def test_get_post_stale_if_none_match_is_200(client: Client) -> None:
    _create(client, status="published")
    etag = client.http.get("/posts/hello").headers["ETag"]
    client.http.patch("/posts/hello", headers=EDITOR, body='{"summary": "new"}')
    response = client.http.get("/posts/hello", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag


def test_list_posts_sends_cache_headers_and_etag(client: Client) -> None:
    _create(client, status="published")
    response = client.http.get("/posts")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC_CACHE
    assert response.headers["ETag"].startswith('"')
    assert [p["slug"] for p in response.json_body["items"]] == ["hello"]
    assert response.json_body["next_cursor"] is None


def test_list_posts_if_none_match_is_304(client: Client) -> None:
    _create(client, status="published")
    etag = client.http.get("/posts").headers["ETag"]
    response = client.http.get("/posts", headers={"If-None-Match": f'W/"x", {etag}'})
    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == PUBLIC_CACHE


def test_list_posts_etag_changes_when_a_listed_post_changes(client: Client) -> None:
    _create(client, status="published")
    etag = client.http.get("/posts").headers["ETag"]
    client.http.patch("/posts/hello", headers=EDITOR, body='{"summary": "changed"}')
    response = client.http.get("/posts", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag


def test_list_posts_pages(client: Client) -> None:
    for n in range(3):
        _create(client, title=f"Post {n}", status="published")
    page = client.http.get("/posts?limit=2").json_body
    rest = client.http.get(f"/posts?limit=2&cursor={page['next_cursor']}").json_body
    slugs = [p["slug"] for p in page["items"] + rest["items"]]
    assert slugs == ["post-2", "post-1", "post-0"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "limit=01", "limit=0001", "cursor=forged"]
)
def test_list_posts_bad_query_is_400(client: Client, query: str) -> None:
    assert_error(client.http.get(f"/posts?{query}"), 400, "BadRequestError")


def test_post_routes_allow_cross_origin_reads(client: Client) -> None:
    assert client.http.get("/posts").headers["Access-Control-Allow-Origin"] == "*"


# -- writes ---------------------------------------------------------------------------------


def test_create_post_is_201_with_location_and_etag(client: Client) -> None:
    response = _create(client, title="Ünïcode Day")
    post = response.json_body
    assert post["slug"] == "unicode-day"
    assert post["author"] == "ed"
    assert response.headers["Location"] == "/posts/unicode-day"
    assert response.headers["ETag"].startswith('"1-')


def test_create_post_taken_slug_is_409(client: Client) -> None:
    _create(client)
    response = client.http.post("/posts", headers=EDITOR, body='{"title": "Hello!"}')
    assert_error(response, 409, "ConflictError", "'hello' is taken")


def test_create_post_titled_without_ascii_gets_a_slug_from_its_title(client: Client) -> None:
    response = client.http.post("/posts", headers=EDITOR, body='{"title": "日本語"}')
    assert response.status_code == 201
    slug = response.json_body["slug"]
    assert response.headers["Location"] == f"/posts/{slug}"
    assert client.http.get(f"/posts/{slug}/preview", headers=EDITOR).json_body["title"] == "日本語"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"title": "t", "extra": 1}', "unknown field(s): extra"),
        ('{"title": "t", "slug": "Bad_Slug"}', "slug must be lowercase"),
        ('{"title": "t", "status": "live"}', "status must be"),
        ('{"title": "t", "cover_photo_id": "nope"}', "cover_photo_id 'nope'"),
    ],
)
def test_create_post_bad_input_is_400(client: Client, body: str, text: str) -> None:
    response = client.http.post("/posts", headers=EDITOR, body=body)
    assert_error(response, 400, "BadRequestError", text)


def test_patch_post_slug_is_400(client: Client) -> None:
    _create(client)
    response = client.http.patch("/posts/hello", headers=EDITOR, body='{"slug": "bye"}')
    assert_error(response, 400, "BadRequestError", "slug cannot be changed")


def test_patch_post_with_current_if_match_is_200(client: Client) -> None:
    etag = _create(client).headers["ETag"]
    headers = {**EDITOR, "If-Match": etag}
    response = client.http.patch("/posts/hello", headers=headers, body='{"summary": "s"}')
    assert response.status_code == 200
    assert response.json_body["version"] == 2
    assert response.headers["ETag"] != etag


def test_patch_post_stale_if_match_is_412(client: Client) -> None:
    etag = _create(client).headers["ETag"]
    client.http.patch("/posts/hello", headers=EDITOR, body='{"summary": "s"}')
    headers = {**EDITOR, "If-Match": etag}
    response = client.http.patch("/posts/hello", headers=headers, body='{"summary": "x"}')
    body = assert_error(response, 412, "PreconditionFailedError", "current version (2)")
    assert (body["Current"]["summary"], body["Current"]["version"]) == ("s", 2)


def test_delete_post_stale_if_match_is_412(client: Client) -> None:
    etag = _create(client).headers["ETag"]
    client.http.patch("/posts/hello", headers=EDITOR, body='{"summary": "s"}')
    response = client.http.delete("/posts/hello", headers={**EDITOR, "If-Match": etag})
    body = assert_error(response, 412, "PreconditionFailedError")
    assert (body["Current"]["slug"], body["Current"]["version"]) == ("hello", 2)


def test_delete_post_is_204_then_404(client: Client) -> None:
    _create(client, status="published")
    assert client.http.delete("/posts/hello", headers=EDITOR).status_code == 204
    assert_error(client.http.get("/posts/hello"), 404, "NotFoundError")
    assert_error(client.http.delete("/posts/hello", headers=EDITOR), 404, "NotFoundError")


def test_patch_missing_post_is_404(client: Client) -> None:
    response = client.http.patch("/posts/nope", headers=EDITOR, body='{"title": "x"}')
    assert_error(response, 404, "NotFoundError")


def test_publish_through_patch_shows_post_publicly(client: Client) -> None:
    _create(client)
    assert client.http.get("/posts/hello").status_code == 404
    client.http.patch("/posts/hello", headers=EDITOR, body='{"status": "published"}')
    response = client.http.get("/posts/hello")
    assert response.status_code == 200
    assert response.json_body["published_at"]


def test_blog_cors_lets_the_site_use_conditional_requests(client: Client) -> None:
    # The test client cannot read a preflight's empty body; the gateway it wraps can.
    gateway = client.http._local_gateway  # noqa: SLF001
    preflight = gateway.handle_request("OPTIONS", "/posts/x", {"Origin": "https://site"}, b"")
    assert preflight["statusCode"] == 200
    assert "If-Match" in preflight["headers"]["Access-Control-Allow-Headers"]
    response = client.http.get("/posts")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
