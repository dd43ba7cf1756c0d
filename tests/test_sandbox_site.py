"""Unit tests of the sandbox's site server, and static checks of the site's pages and scripts."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from sandbox.settings import SandboxError
from sandbox.site import SITE_DIR, SiteServer, config_script

API_URL = "http://127.0.0.1:8000"
PAGES = sorted(SITE_DIR.glob("*.html"))
SCRIPTS = sorted((SITE_DIR / "js").glob("*.js"))


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = SiteServer("127.0.0.1", 0, API_URL + "/")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def get(site: str, path: str) -> requests.Response:
    return requests.get(f"{site}{path}", timeout=5, allow_redirects=False)


# -- the server -------------------------------------------------------------------------------


def test_site_server_serves_index_at_the_root(site: str) -> None:
    response = get(site, "/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>MyTodoList blog</title>" in response.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/index.html", "text/html; charset=utf-8"),
        ("/post.html", "text/html; charset=utf-8"),
        ("/unsubscribe.html", "text/html; charset=utf-8"),
        ("/css/site.css", "text/css; charset=utf-8"),
        ("/js/index.js", "text/javascript; charset=utf-8"),
        ("/favicon.svg", "image/svg+xml"),
        ("/config.js", "text/javascript; charset=utf-8"),
    ],
)
def test_site_server_sends_the_right_content_type(site: str, path: str, content_type: str) -> None:
    response = get(site, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/index.html", "/config.js", "/js/api.js", "/nope"])
def test_site_server_says_no_cache(site: str, path: str) -> None:
    assert get(site, path).headers["Cache-Control"] == "no-cache"


def test_site_server_generates_config_js_with_the_api_url(site: str) -> None:
    assert get(site, "/config.js").text == (
        'window.MYTODOLIST_CONFIG = {"apiUrl": "http://127.0.0.1:8000"};\n'
    )


def test_site_server_serves_config_js_with_a_query_string(site: str) -> None:
    assert "MYTODOLIST_CONFIG" in get(site, "/config.js?v=2").text


def test_config_script_is_json_in_an_assignment() -> None:
    script = config_script('http://x/"quoted"/').decode()
    assert script == 'window.MYTODOLIST_CONFIG = {"apiUrl": "http://x/\\"quoted\\""};\n'


@pytest.mark.parametrize("path", ["/js/", "/css/", "/js"])
def test_site_server_lists_no_directory(site: str, path: str) -> None:
    response = get(site, path)
    if response.status_code == 301:  # "/js" → "/js/", which is then refused
        response = get(site, response.headers["Location"].removeprefix(site))
    assert response.status_code == 404
    assert "api.js" not in response.text


@pytest.mark.parametrize(
    "path",
    ["/../sandbox/site.py", "/%2e%2e/sandbox/site.py", "/..%2f..%2fetc/passwd", "/.gitignore"],
)
def test_site_server_serves_nothing_outside_the_site(site: str, path: str) -> None:
    response = get(site, path)
    assert response.status_code == 404
    assert "SiteServer" not in response.text


def test_site_server_answers_head_without_a_body(site: str) -> None:
    response = requests.head(f"{site}/index.html", timeout=5)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) > 0
    assert response.content == b""


def test_site_server_listens_on_loopback_only(site: str) -> None:
    assert site.startswith("http://127.0.0.1:")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_site_server_on_a_busy_port_names_the_setting(busy_port: int) -> None:
    with pytest.raises(SandboxError, match="SANDBOX_SITE_PORT"):
        SiteServer("127.0.0.1", busy_port, API_URL).start()


def test_site_server_without_a_site_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match=r"index\.html"):
        SiteServer("127.0.0.1", 0, API_URL, directory=tmp_path).start()


def test_site_server_stop_closes_the_port() -> None:
    server = SiteServer("127.0.0.1", 0, API_URL)
    server.start()
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


# -- the pages and scripts ------------------------------------------------------------------


class _Page(HTMLParser):
    """What the static checks need to know about one page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(page: Path) -> _Page:
    parser = _Page()
    parser.feed(page.read_text())
    return parser


def csp(page: _Page) -> dict[str, list[str]]:
    (meta,) = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = str(meta["content"])
    return {name: values for name, *values in (d.split() for d in policy.split(";") if d.strip())}


def test_site_has_the_pages_it_promises() -> None:
    assert {p.name for p in PAGES} >= {"index.html", "post.html", "unsubscribe.html"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_site_page_has_a_strict_content_security_policy(page: Path) -> None:
    policy = csp(parse(page))
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in v or v == "*" for values in policy.values() for v in values)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_site_page_has_no_inline_script_style_or_handlers(page: Path) -> None:
    parsed = parse(page)
    assert not parsed.inline_script
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> has an event handler"
        assert "style" not in attrs, f"<{tag}> has a style attribute"
        assert not str(attrs.get("href", "")).strip().lower().startswith("javascript:")
    assert "<style" not in page.read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_site_page_loads_only_local_scripts_and_styles(page: Path) -> None:
    parsed = parse(page)
    scripts = [str(s.get("src")) for s in parsed.all("script")]
    # config.js is a classic script, so it has run before any (deferred) module starts.
    assert scripts[0] == "config.js"
    assert scripts[1:]
    assert all(s.startswith("js/") for s in scripts[1:])
    links = [str(link.get("href")) for link in parsed.all("link")]
    assert not [s for s in scripts + links if re.match(r"^([a-z]+:)?//", s)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_site_page_has_landmarks_language_and_labels(page: Path) -> None:
    parsed = parse(page)
    assert parsed.all("html")[0].get("lang") == "en"
    assert len(parsed.all("main")) == 1
    assert parsed.all("header")
    assert parsed.all("footer")
    assert parsed.all("nav")
    labelled = {label.get("for") for label in parsed.all("label")}
    for field in parsed.all("input"):
        assert field.get("id") in labelled, f"input {field.get('id')} has no label"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_site_page_announces_status_in_a_live_region(page: Path) -> None:
    assert [attrs for _, attrs in parse(page).tags if attrs.get("aria-live") == "polite"]


def test_site_scripts_insert_html_only_for_the_post_body() -> None:
    uses = {
        script.name: len(re.findall(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML", text))
        for script in SCRIPTS
        if (text := script.read_text())
    }
    assert {name: n for name, n in uses.items() if n} == {"post.js": 1}
    assert "body_html" in (SITE_DIR / "js" / "post.js").read_text()


def test_site_scripts_never_evaluate_strings() -> None:
    for script in SCRIPTS:
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|document\.write", text), script.name


def test_site_example_config_shows_the_shape() -> None:
    text = (SITE_DIR / "config.example.js").read_text()
    assert re.search(r"window\.MYTODOLIST_CONFIG = \{ apiUrl: \"https://[^\"]+\" \};", text)
    assert "config.js" in (SITE_DIR / ".gitignore").read_text()
