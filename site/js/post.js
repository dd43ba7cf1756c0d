// One post: title, date and summary as text; body_html (sanitised by the API) as HTML.
//
// The API's sanitiser is the first defence; the page's Content-Security-Policy (scripts only
// from this site, no inline script or handlers) is the second, should the first ever fail.

import { ApiError, getPost } from "./api.js";
import { setStatus, timeElement } from "./ui.js";

const SITE_NAME = "MyTodoList blog";

const status = document.getElementById("post-status");
const article = document.getElementById("post");

function show(post) {
  document.getElementById("post-title").textContent = post.title;
  timeElement(post.published_at, document.getElementById("post-date"));
  const summary = document.getElementById("post-summary");
  summary.textContent = post.summary || "";
  summary.hidden = !post.summary;
  document.getElementById("post-body").innerHTML = post.body_html || "";
  document.title = `${post.title} · ${SITE_NAME}`;
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
      fail("The post could not be loaded", error.message);
    }
  }
}

main();
