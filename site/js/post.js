// One post: title, date and summary as text; body_html (sanitised by the API) as HTML.
//
// The API's sanitiser is the first defence; the page's Content-Security-Policy (scripts only
// from this site, no inline script or handlers) is the second, should the first ever fail.

import { ApiError, getPost } from "./api.js";
import { readerMessage, setStatus, timeElement } from "./ui.js";

const SITE_NAME = "MyTodoList blog";

const status = document.getElementById("post-status");
const article = document.getElementById("post");

/**
 * The post's own Markdown headings sit below its title: when the body uses # (h1), every
 * heading moves one level down (h6 stays h6), so the page has one h1 and skips no level.
 */
function shiftHeadings(container) {
  if (!container.querySelector("h1")) {
    return;
  }
  for (const heading of container.querySelectorAll("h1, h2, h3, h4, h5")) {
    const lower = document.createElement(`h${Number(heading.tagName[1]) + 1}`);
    for (const attribute of heading.attributes) {
      lower.setAttribute(attribute.name, attribute.value);
    }
    lower.append(...heading.childNodes);
    heading.replaceWith(lower);
  }
}

function setMeta(selector, value) {
  const meta = document.head.querySelector(selector);
  if (meta) {
    meta.setAttribute("content", value);
  }
}

/** What link previews and search results show for this post. */
function describe(post) {
  const description = post.summary || `${post.title}, on the ${SITE_NAME}.`;
  setMeta('meta[name="description"]', description);
  setMeta('meta[property="og:title"]', post.title);
  setMeta('meta[property="og:description"]', description);
  setMeta('meta[property="og:url"]', window.location.href.split("#")[0]);
  setMeta('meta[property="article:published_time"]', post.published_at || "");
}

function show(post) {
  document.getElementById("post-title").textContent = post.title;
  timeElement(post.published_at, document.getElementById("post-date"));
  const summary = document.getElementById("post-summary");
  summary.textContent = post.summary || "";
  summary.hidden = !post.summary;
  const body = document.getElementById("post-body");
  body.innerHTML = post.body_html || "";
  shiftHeadings(body);
  document.title = `${post.title} · ${SITE_NAME}`;
  describe(post);
  article.hidden = false;
  setStatus(status, "");
}

function fail(heading, text) {
  document.title = `${heading} · ${SITE_NAME}`;
  const title = document.createElement("h1");
  title.textContent = heading;
  status.before(title);
  setStatus(status, text, "error");
}

async function main() {
  const slug = new URLSearchParams(window.location.search).get("slug");
  if (!slug) {
    fail("No post chosen", "This link names no post. Pick one from the list of posts.");
    return;
  }
  try {
    show(await getPost(slug));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      fail("Post not found", "This post does not exist or is no longer published.");
    } else {
      fail("The post could not be loaded", readerMessage(error));
    }
  }
}

main();
