// A page that acts on the token in its link (confirm, unsubscribe): busy, done, an unknown or
// incomplete link, or an error to retry. Ids are `<prefix>`, `<prefix>-heading`, and so on.

import { ApiError } from "./api.js";
import { readerMessage } from "./ui.js";

const SITE_NAME = "MyTodoList blog";

export function runTokenPage(prefix, { action, busy, done, failed, unknown, incomplete }) {
  const box = document.getElementById(prefix);
  const heading = document.getElementById(`${prefix}-heading`);
  const text = document.getElementById(`${prefix}-text`);
  const retry = document.getElementById(`${prefix}-retry`);
  const next = document.getElementById(`${prefix}-next`);
  // Optional: what to offer until the token has worked (confirm: subscribe again).
  const again = document.getElementById(`${prefix}-again`);

  function show(state, [title, detail]) {
    box.dataset.state = state;
    box.classList.toggle("error", state === "error" || state === "unknown");
    box.classList.toggle("success", state === "done");
    heading.textContent = title;
    text.textContent = detail;
    document.title = `${title} · ${SITE_NAME}`;
    retry.hidden = state !== "error";
    next.hidden = state !== "done";
    if (again) {
      again.hidden = state === "done";
    }
    heading.focus();
  }

  async function run(token) {
    retry.hidden = true;
    box.dataset.state = "busy";
    heading.textContent = busy[0];
    text.textContent = busy[1];
    try {
      await action(token);
      show("done", done);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        show("unknown", unknown);
      } else {
        show("error", [failed, readerMessage(error)]);
      }
    }
  }

  const token = new URLSearchParams(window.location.search).get("token");
  if (!token) {
    show("unknown", incomplete);
  } else {
    retry.addEventListener("click", () => run(token));
    run(token);
  }
}
