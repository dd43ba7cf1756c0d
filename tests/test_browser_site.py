"""The blog site in Debian's Chromium, driven by Playwright, against a sandbox subprocess."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from tests.e2e import PASSWORD, Sandbox, call
from tests.helpers import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PAGE_SIZE = 10  # the site's page of posts (site/js/index.js)
OLDER_POSTS = 11  # with the payload post, one page and two more
MAIL_TIMEOUT = 10.0
UI_TIMEOUT_MS = 10_000
# A phone-sized browser: what Playwright's iPhone 13 descriptor sets, in Chromium.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
    "timezone_id": "UTC",
}

pytestmark = pytest.mark.e2e

# Each would set window.__xss or open a dialog if it ever ran.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "<svg onload=alert(1)>",
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img'\">",
    "[click me](javascript:window.__xss='markdown-link')",
    "<svg onload=\"window.__xss = 'svg'\"></svg>",
    "<a href=\"javascript:window.__xss='html-link'\">html link</a>",
    "<details open ontoggle=\"window.__xss = 'details'\">details</details>",
    "<iframe src=\"javascript:parent.__xss = 'iframe'\"></iframe>",
]
XSS_TITLE = "Payloads <img src=x onerror=\"window.__xss = 'title'\"> stay text"
XSS_SUMMARY = "<script>window.__xss = 'summary'</script> is only words here"
# What a broken sanitiser would let through: only the Content-Security-Policy stands in the way.
UNSANITISED_HTML = (
    "<p>Unsanitised</p>"
    "<img src=x onerror=\"window.__xss = 'img'; alert(1)\">"
    "<svg><image href=x onerror=\"window.__xss = 'svg'\"></image></svg>"
    "<a id=js-link href=\"javascript:window.__xss = 'link'\">click</a>"
    "<iframe srcdoc=\"<script>parent.__xss = 'srcdoc'</script>\"></iframe>"
    "<script>window.__xss = 'script'</script>"
)
# Recorded before any page script runs; injected scripts are not subject to the page's CSP.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.effectiveDirective);
});
"""


@dataclass
class Tab:
    """A page of its own browser context, with what it reported."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def script_errors(self) -> list[str]:
        """Console errors other than failed loads (a sanitised <img src=x> is a plain 404)."""
        return [e for e in self.console_errors if not e.startswith("Failed to load resource")]

    def xss(self) -> Any:
        return self.page.evaluate("window.__xss")

    def csp_violations(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__cspViolations")
        return violations


@dataclass(frozen=True)
class Site:
    url: str
    api: str


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    # Before the sandbox starts: every test here drives the browser.
    if not CHROMIUM.exists():
        unavailable(
            f"Debian's Chromium is not installed at {CHROMIUM} "
            "(apt-get install -y chromium; `make test` does it when run as root)",
            safe_because="a developer's run; under CI a missing Chromium fails these tests",
        )


@pytest.fixture(scope="module")
def site(sandbox: Sandbox) -> Site:
    """The site the sandbox serves (endpoints.json site_url), as `make run` serves it."""
    return Site(str(sandbox.endpoints["site_url"]).rstrip("/"), sandbox.api)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    # A context per test: its own HTTP cache (GET /posts may be cached for a minute).
    context = browser.new_context(locale="en-US", timezone_id="UTC")
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    opened = Tab(page)

    def on_dialog(dialog: Dialog) -> None:
        opened.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.console_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: opened.page_errors.append(str(error)))
    yield opened
    context.close()
    # An uncaught exception in the site's scripts is a bug whatever the test looked at.
    assert not opened.page_errors, opened.page_errors


@pytest.fixture(scope="module")
def editor_token(sandbox: Sandbox) -> str:
    email = f"editor-{uuid.uuid4().hex[:8]}@example.com"
    sandbox.cli("user", "create", email, PASSWORD, "--editor")
    return sandbox.cli("token", email, PASSWORD)


def publish(sandbox: Sandbox, token: str, title: str, summary: str, body: str) -> dict[str, Any]:
    post = {"title": title, "summary": summary, "body": body, "status": "published"}
    response = call(sandbox, "POST", "/posts", token, post)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def xss_post(posts: list[dict[str, Any]]) -> dict[str, Any]:
    return posts[0]


@pytest.fixture(scope="module")
def posts(sandbox: Sandbox, editor_token: str) -> list[dict[str, Any]]:
    """The published posts, oldest first: the payload post, then OLDER_POSTS ordinary ones."""
    created = [publish(sandbox, editor_token, XSS_TITLE, XSS_SUMMARY, "\n\n".join(PAYLOADS))]
    for number in range(1, OLDER_POSTS + 1):
        body = (
            f"Post number {number}.\n\n## What is new\n\n- shorter lists\n- faster sync\n\n"
            "Run `make run` and read [the docs](https://example.com/docs)."
        )
        created.append(
            publish(sandbox, editor_token, f"Browser post {number:02d}", f"Summary {number}", body)
        )
    return created


def subscriber_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def no_sideways_scroll(page: Page) -> bool:
    width: bool = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    return width


def titles(page: Page) -> list[str]:
    return page.locator("#posts h2").all_inner_texts()


# -- the post list ----------------------------------------------------------------------------


def test_index_lists_published_posts_newest_first(
    tab: Tab, site: Site, posts: list[dict[str, Any]]
) -> None:
    tab.page.goto(f"{site.url}/")
    newest = [p["title"] for p in reversed(posts)][:PAGE_SIZE]
    expect(tab.page.locator("#posts > li")).to_have_count(PAGE_SIZE)
    assert titles(tab.page) == newest
    first = tab.page.locator("#posts h2 a").first
    expect(first).to_have_attribute("href", f"post.html?slug={posts[-1]['slug']}")
    expect(tab.page.locator("#posts .summary").first).to_have_text(posts[-1]["summary"])
    expect(tab.page.locator("#posts-status")).to_be_hidden()
    expect(tab.page.locator("#older-posts")).to_be_visible()


def test_index_older_posts_appends_the_next_page_and_moves_focus(
    tab: Tab, site: Site, posts: list[dict[str, Any]]
) -> None:
    tab.page.goto(f"{site.url}/")
    expect(tab.page.locator("#posts > li")).to_have_count(PAGE_SIZE)
    tab.page.locator("#older-posts").focus()
    tab.page.keyboard.press("Enter")
    expect(tab.page.locator("#posts > li")).to_have_count(len(posts))
    assert titles(tab.page) == [p["title"] for p in reversed(posts)]
    expect(tab.page.locator("#posts h2 a").nth(PAGE_SIZE)).to_be_focused()
    expect(tab.page.locator("#older-posts")).to_be_hidden()
    expect(tab.page.locator("#posts-status")).to_have_text("Loaded 2 older posts.")


def test_index_without_posts_says_so(tab: Tab, site: Site) -> None:
    empty = json.dumps({"items": [], "next_cursor": None})
    tab.page.route(f"{site.api}/posts?*", lambda route: fulfil_json(route, 200, empty))
    tab.page.goto(f"{site.url}/")
    expect(tab.page.locator("#posts-status")).to_have_text(re.compile("^No posts yet"))
    expect(tab.page.locator("#posts > li")).to_have_count(0)
    expect(tab.page.locator("#older-posts")).to_be_hidden()


def test_index_says_what_went_wrong_in_plain_words(tab: Tab, site: Site) -> None:
    envelope = json.dumps({"Code": "TooManyRequestsError", "Message": "slow down, please"})
    tab.page.route(f"{site.api}/posts?*", lambda route: fulfil_json(route, 429, envelope))
    tab.page.goto(f"{site.url}/")
    expect(tab.page.locator("#posts-status")).to_have_text(
        "The posts could not be loaded. Many people are asking at once. "
        "Please wait a minute and try again."
    )


def test_index_head_links_the_atom_feed_and_it_is_served(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.url}/")
    link = tab.page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    expect(link).to_have_attribute("href", f"{site.api}/feed.xml")
    response = tab.page.request.get(f"{site.api}/feed.xml")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/atom+xml")


def test_index_pages_by_ten_on_a_phone(
    browser: Browser, site: Site, posts: list[dict[str, Any]]
) -> None:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/")
        expect(page.locator("#posts > li")).to_have_count(PAGE_SIZE)
        older = page.get_by_role("button", name="Older posts")
        older.scroll_into_view_if_needed()
        older.tap()
        expect(page.locator("#posts > li")).to_have_count(len(posts))
        assert no_sideways_scroll(page)
    finally:
        context.close()


def test_index_says_when_the_api_cannot_be_reached(tab: Tab, site: Site) -> None:
    tab.page.route(f"{site.api}/posts?*", lambda route: route.abort())
    tab.page.goto(f"{site.url}/")
    expect(tab.page.locator("#posts-status")).to_contain_text("could not reach")


def fulfil_json(route: Route, status: int, body: str) -> None:
    # Cross-origin, so the browser wants the API's CORS header on a faked answer too.
    route.fulfill(
        status=status,
        body=body,
        content_type="application/json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


# -- one post -----------------------------------------------------------------------------------


def test_post_page_shows_title_date_summary_and_body(
    tab: Tab, site: Site, posts: list[dict[str, Any]]
) -> None:
    post = posts[3]
    tab.page.goto(f"{site.url}/post.html?slug={post['slug']}")
    expect(tab.page.locator("h1#post-title")).to_have_text(post["title"])
    expect(tab.page.locator("#post-summary")).to_have_text(post["summary"])
    date = tab.page.locator("#post-date")
    expect(date).to_have_attribute("datetime", post["published_at"])
    expect(date).to_have_text(re.compile(r"^[A-Z][a-z]+ \d{1,2}, \d{4}$"))
    body = tab.page.locator("#post-body")
    expect(body.locator("h2")).to_have_text("What is new")
    expect(body.locator("li")).to_have_count(2)
    expect(body.locator("code")).to_have_text("make run")
    expect(body.locator("a")).to_have_attribute("href", "https://example.com/docs")
    assert tab.page.title() == f"{post['title']} · MyTodoList blog"
    assert not tab.script_errors()


def test_post_page_has_one_h1_and_describes_the_post(
    tab: Tab, site: Site, posts: list[dict[str, Any]]
) -> None:
    post = posts[3]
    tab.page.goto(f"{site.url}/post.html?slug={post['slug']}")
    expect(tab.page.locator("h1#post-title")).to_have_text(post["title"])
    expect(tab.page.locator("h1")).to_have_count(1)
    expect(tab.page).to_have_title(f"{post['title']} · MyTodoList blog")
    head = tab.page.locator("head")
    for selector, content in [
        ('meta[name="description"]', post["summary"]),
        ('meta[property="og:title"]', post["title"]),
        ('meta[property="og:description"]', post["summary"]),
        ('meta[property="og:url"]', f"{site.url}/post.html?slug={post['slug']}"),
        ('meta[property="article:published_time"]', post["published_at"]),
    ]:
        expect(head.locator(selector)).to_have_attribute("content", content)


def test_post_page_moves_a_bodys_h1_below_the_title(
    tab: Tab, site: Site, posts: list[dict[str, Any]]
) -> None:
    body_html = "<h1>Big</h1><p>Text.</p><h2>Part</h2><h6>Small</h6>"
    faked = json.dumps({**posts[1], "body_html": body_html})
    tab.page.route(
        f"{site.api}/posts/{posts[1]['slug']}", lambda route: fulfil_json(route, 200, faked)
    )
    tab.page.goto(f"{site.url}/post.html?slug={posts[1]['slug']}")
    expect(tab.page.locator("h1")).to_have_count(1)
    expect(tab.page.locator("h1")).to_have_text(posts[1]["title"])
    body = tab.page.locator("#post-body")
    expect(body.locator("h2")).to_have_text("Big")
    expect(body.locator("h3")).to_have_text("Part")
    expect(body.locator("h6")).to_have_text("Small")


def test_post_page_runs_no_script_from_the_post(
    tab: Tab, site: Site, xss_post: dict[str, Any]
) -> None:
    tab.page.goto(f"{site.url}/post.html?slug={xss_post['slug']}")
    expect(tab.page.locator("#post-title")).to_have_text(XSS_TITLE)
    expect(tab.page.locator("#post-summary")).to_have_text(XSS_SUMMARY)
    # Every image has been tried (and failed) by now: an onerror would have run.
    tab.page.wait_for_load_state("networkidle")
    body = tab.page.locator("#post-body")
    for link in body.locator("a").all():
        link.click()
    assert tab.page.url.startswith(f"{site.url}/post.html")
    assert tab.xss() is None
    assert tab.dialogs == []
    assert tab.script_errors() == []
    # Nothing was even tried: the API's sanitiser removed it all before the CSP was needed.
    assert tab.csp_violations() == []
    assert tab.page.locator("#post-title img, #post-summary script").count() == 0
    handlers = body.evaluate(
        "b => [...b.querySelectorAll('*')].flatMap(e => [...e.attributes])"
        ".map(a => a.name + '=' + a.value)"
        ".filter(a => a.startsWith('on') || a.toLowerCase().includes('javascript:'))"
    )
    assert handlers == []


def test_post_page_blocks_script_even_if_the_api_let_it_through(
    tab: Tab, site: Site, xss_post: dict[str, Any]
) -> None:
    forged = json.dumps({**xss_post, "body_html": UNSANITISED_HTML})
    tab.page.route(
        f"{site.api}/posts/{xss_post['slug']}", lambda route: fulfil_json(route, 200, forged)
    )
    tab.page.goto(f"{site.url}/post.html?slug={xss_post['slug']}")
    expect(tab.page.locator("#post-body p")).to_have_text("Unsanitised")
    tab.page.wait_for_load_state("networkidle")
    tab.page.locator("#js-link").click()
    assert tab.xss() is None
    assert tab.dialogs == []
    # The Content-Security-Policy is what stopped them.
    violations = tab.csp_violations()
    assert "script-src-attr" in violations or "script-src-elem" in violations, violations


def test_post_page_for_an_unknown_slug_says_not_found(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.url}/post.html?slug=no-such-post")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Post not found")
    expect(tab.page.locator("#post-status")).to_have_text(
        "This post does not exist or is no longer published."
    )
    expect(tab.page.locator("#post")).to_be_hidden()


# -- subscribing --------------------------------------------------------------------------------


def subscribe_in_browser(tab: Tab, site: Site, email: str) -> None:
    tab.page.goto(f"{site.url}/")
    field = tab.page.get_by_label("E-mail address")
    field.fill(email)
    field.press("Enter")


def test_subscribe_form_confirms_and_moves_focus_to_the_confirmation(tab: Tab, site: Site) -> None:
    email = subscriber_email("confirm")
    subscribe_in_browser(tab, site, email)
    done = tab.page.locator("#subscribe-done")
    expect(done).to_be_visible()
    expect(done).to_be_focused()
    expect(done.locator("h3")).to_have_text("Check your inbox")
    expect(done).to_contain_text(email)
    expect(tab.page.locator("#subscribe-form")).to_be_hidden()


def test_subscribe_form_says_in_plain_words_that_an_address_is_malformed(
    tab: Tab, site: Site, sandbox: Sandbox
) -> None:
    malformed = "not-an-address"
    answer = call(sandbox, "POST", "/subscriptions", body={"email": malformed})
    assert answer.status_code == 400
    subscribe_in_browser(tab, site, malformed)
    message = tab.page.locator("#subscribe-message")
    expect(message).to_have_text(
        "That does not look like an e-mail address. Check it and try again."
    )
    field = tab.page.get_by_label("E-mail address")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(tab.page.locator("#subscribe-done")).to_be_hidden()


def test_subscribe_form_asks_for_an_address_when_empty(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.url}/")
    tab.page.get_by_role("button", name="Subscribe").click()
    expect(tab.page.locator("#subscribe-message")).to_have_text("Enter your e-mail address.")
    expect(tab.page.get_by_label("E-mail address")).to_be_focused()


def test_subscribe_form_says_when_the_api_cannot_be_reached(tab: Tab, site: Site) -> None:
    tab.page.route(f"{site.api}/subscriptions", lambda route: route.abort())
    subscribe_in_browser(tab, site, subscriber_email("offline"))
    expect(tab.page.locator("#subscribe-message")).to_contain_text("could not reach")
    expect(tab.page.get_by_role("button", name="Subscribe")).to_be_enabled()


# -- unsubscribing ------------------------------------------------------------------------------


def unsubscribe_link(mail: dict[str, Any]) -> str:
    found = re.search(r"https?://[^\s<>]+/unsubscribe\.html\?[^\s<>]+", mail["text"])
    assert found, f"no unsubscribe link in the mail's text:\n{mail['text']}"
    return found.group(0)


def wait_for_mail(sandbox: Sandbox, to: str, subject: str) -> dict[str, Any]:
    """The one mail to `to` whose subject starts with `subject`, once the pump has sent it."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while True:
        mails: list[dict[str, Any]] = json.loads(sandbox.cli("mail", "--json", "--to", to))
        # New-post mails may reach a brand-new subscriber too.
        wanted = [m for m in mails if m["subject"].lower().startswith(subject.lower())]
        if wanted:
            assert len(wanted) == 1, wanted
            return wanted[0]
        if time.monotonic() > deadline:
            pytest.fail(f"no {subject!r} mail to {to} within {MAIL_TIMEOUT:.0f} s: {mails}")
        time.sleep(0.25)


def page_link(site: Site, mail: dict[str, Any], page: str) -> str:
    """The link to one of the site's pages in a mail's text, on the site under test."""
    found = re.search(rf"https?://[^\s<>]+/{page}\?[^\s<>]+", mail["text"])
    assert found, f"no {page} link in the mail's text:\n{mail['text']}"
    link = found.group(0)
    assert link.startswith(f"{site.url}/{page}?"), link
    return link


def expect_unsubscribed(tab: Tab, link: str) -> None:
    tab.page.goto(link)
    heading = tab.page.locator("#unsubscribe-heading")
    expect(heading).to_have_text("You are unsubscribed")
    expect(heading).to_be_focused()
    expect(tab.page.locator("#unsubscribe")).to_have_attribute("data-state", "done")


def assert_pump_runs(sandbox: Sandbox) -> None:
    # The mail tests wait on the event pump (no stream record reaches send_welcome_mails
    # without it): a sandbox without one is a broken sandbox, not a reason to skip.
    assert "pump" in sandbox.endpoints, "the sandbox runs no event pump: no mail can be sent"


def expect_confirmed(page: Page, link: str) -> None:
    page.goto(link)
    heading = page.locator("#confirm-heading")
    expect(heading).to_have_text("You are subscribed")
    expect(heading).to_be_focused()
    expect(page.locator("#confirm")).to_have_attribute("data-state", "done")


def test_confirmation_mail_link_confirms_then_welcome_link_unsubscribes(
    tab: Tab, site: Site, sandbox: Sandbox
) -> None:
    assert_pump_runs(sandbox)
    email = subscriber_email("welcome")
    subscribe_in_browser(tab, site, email)
    expect(tab.page.locator("#subscribe-done")).to_be_visible()
    confirmation = wait_for_mail(sandbox, email, "Confirm")
    assert not json.loads(sandbox.cli("mail", "--json", "--to", email))[1:], "only one mail yet"
    expect_confirmed(tab.page, page_link(site, confirmation, "confirm.html"))
    welcome = wait_for_mail(sandbox, email, "Welcome")
    link = page_link(site, welcome, "unsubscribe.html")
    token = parse_qs(urlsplit(link).query)["token"][0]
    expect_unsubscribed(tab, link)
    again = call(sandbox, "POST", "/subscriptions/unsubscribe", body={"token": token})
    assert again.status_code == 200, again.text


def test_confirm_page_on_a_phone(browser: Browser, site: Site, sandbox: Sandbox) -> None:
    email = subscriber_email("phone")
    assert call(sandbox, "POST", "/subscriptions", body={"email": email}).status_code == 202
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        expect_confirmed(page, f"{site.url}/confirm.html?token={stored_token(sandbox, email)}")
        expect(page.get_by_role("link", name="Read the latest posts")).to_be_in_viewport()
        assert no_sideways_scroll(page)
    finally:
        context.close()
    again = call(
        sandbox, "POST", "/subscriptions/confirm", body={"token": stored_token(sandbox, email)}
    )
    assert (again.status_code, again.json()) == (200, {"status": "active"})


def test_confirm_page_with_an_unknown_token_says_the_link_expired_or_is_not_valid(
    tab: Tab, site: Site
) -> None:
    tab.page.goto(f"{site.url}/confirm.html?token={'x' * 43}")
    expect(tab.page.locator("#confirm-heading")).to_have_text(
        "This confirmation link has expired or is not valid"
    )
    expect(tab.page.locator("#confirm-retry")).to_be_hidden()


def test_confirm_page_without_a_token_says_the_link_is_incomplete(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.url}/confirm.html")
    expect(tab.page.locator("#confirm-heading")).to_have_text(
        "This confirmation link is incomplete"
    )


def stored_token(sandbox: Sandbox, email: str) -> str:
    item = sandbox.client("dynamodb").get_item(
        TableName=sandbox.endpoints["tables"]["SubscribersTable"],
        Key={"email": {"S": email.lower()}},
        ConsistentRead=True,
    )
    return str(item["Item"]["token"]["S"])


def test_unsubscribe_page_confirms_with_a_subscribers_token(
    tab: Tab, site: Site, sandbox: Sandbox
) -> None:
    # The same page as the mail's link, with the token read from the table: no pump needed.
    email = subscriber_email("token")
    assert call(sandbox, "POST", "/subscriptions", body={"email": email}).status_code == 202
    token = stored_token(sandbox, email)
    expect_unsubscribed(tab, f"{site.url}/unsubscribe.html?token={token}")
    again = call(sandbox, "POST", "/subscriptions/unsubscribe", body={"token": token})
    assert again.status_code == 200, again.text


def test_unsubscribe_page_with_an_unknown_token_says_the_link_is_not_valid(
    tab: Tab, site: Site
) -> None:
    tab.page.goto(f"{site.url}/unsubscribe.html?token={'x' * 43}")
    expect(tab.page.locator("#unsubscribe-heading")).to_have_text(
        "This unsubscribe link is not valid"
    )
    expect(tab.page.locator("#unsubscribe-retry")).to_be_hidden()


def test_unsubscribe_page_without_a_token_says_the_link_is_incomplete(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.url}/unsubscribe.html")
    expect(tab.page.locator("#unsubscribe-heading")).to_have_text(
        "This unsubscribe link is incomplete"
    )


def test_unsubscribe_page_offers_a_retry_when_the_api_fails(tab: Tab, site: Site) -> None:
    failures: list[Callable[[Route], None]] = [lambda route: route.abort()]

    def flaky(route: Route) -> None:
        if failures:
            failures.pop()(route)
        else:
            fulfil_json(route, 200, json.dumps({"status": "unsubscribed"}))

    tab.page.route(f"{site.api}/subscriptions/unsubscribe", flaky)
    tab.page.goto(f"{site.url}/unsubscribe.html?token=abc")
    expect(tab.page.locator("#unsubscribe-heading")).to_have_text("We could not unsubscribe you")
    expect(tab.page.locator("#unsubscribe-text")).to_contain_text("could not reach")
    tab.page.get_by_role("button", name="Try again").click()
    expect(tab.page.locator("#unsubscribe-heading")).to_have_text("You are unsubscribed")


# -- keyboard -------------------------------------------------------------------------------------


def test_site_skip_link_is_the_first_stop_and_jumps_to_main(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.url}/")
    tab.page.keyboard.press("Tab")
    skip = tab.page.get_by_role("link", name="Skip to the posts")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    tab.page.keyboard.press("Enter")
    expect(tab.page.locator("main")).to_be_focused()
