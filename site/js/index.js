// The post list: newest first, a page at a time through next_cursor, plus the subscribe form.

import { listPosts } from "./api.js";
import { setUpSubscribeForm } from "./subscribe.js";
import { el, readerMessage, setStatus, timeElement } from "./ui.js";

const PAGE_SIZE = 10;

const list = document.getElementById("posts");
const status = document.getElementById("posts-status");
const older = document.getElementById("older-posts");
let cursor = null;

function postItem(post) {
  const headingId = `post-${post.slug}`;
  const link = el("a", { href: `post.html?slug=${encodeURIComponent(post.slug)}` }, post.title);
  return el(
    "li",
    { class: "post-card" },
    el(
      "article",
      { "aria-labelledby": headingId },
      el("h2", { id: headingId }, link),
      el("p", { class: "meta" }, timeElement(post.published_at)),
      post.summary ? el("p", { class: "summary" }, post.summary) : null,
    ),
  );
}

async function loadPage({ more }) {
  older.disabled = true;
  list.setAttribute("aria-busy", "true");
  if (more) {
    older.textContent = "Loading older posts…";
  }
  try {
    const page = await listPosts({ limit: PAGE_SIZE, cursor: more ? cursor : null });
    const items = Array.isArray(page && page.items) ? page.items : [];
    const added = items.map(postItem);
    list.append(...added);
    cursor = page && page.next_cursor ? page.next_cursor : null;
    older.hidden = !cursor;
    if (!more && items.length === 0) {
      setStatus(status, "No posts yet. Subscribe below to hear about the first one.");
    } else if (more) {
      const count = items.length;
      setStatus(status, `Loaded ${count} older post${count === 1 ? "" : "s"}.`);
      // Keyboard and screen reader users continue where the new posts begin.
      const first = added[0] && added[0].querySelector("a");
      if (first) {
        first.focus();
      }
    } else {
      setStatus(status, "");
    }
  } catch (error) {
    setStatus(status, `The posts could not be loaded. ${readerMessage(error)}`, "error");
    older.hidden = !more;
  } finally {
    list.removeAttribute("aria-busy");
    older.disabled = false;
    older.textContent = "Older posts";
  }
}

older.addEventListener("click", () => loadPage({ more: true }));
setUpSubscribeForm();
loadPage({ more: false });
