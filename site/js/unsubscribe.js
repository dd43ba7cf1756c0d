// Unsubscribe by the token in the mail's link: success, unknown link, or an error to retry.

import { ApiError, unsubscribe } from "./api.js";

const SITE_NAME = "MyTodoList blog";

const box = document.getElementById("unsubscribe");
const heading = document.getElementById("unsubscribe-heading");
const text = document.getElementById("unsubscribe-text");
const retry = document.getElementById("unsubscribe-retry");
const resubscribe = document.getElementById("unsubscribe-resubscribe");

function show(state, title, detail) {
  box.dataset.state = state;
  box.classList.toggle("error", state === "error" || state === "unknown");
  box.classList.toggle("success", state === "done");
  heading.textContent = title;
  text.textContent = detail;
  document.title = `${title} · ${SITE_NAME}`;
  retry.hidden = state !== "error";
  resubscribe.hidden = state !== "done";
  heading.focus();
}

async function run(token) {
  retry.hidden = true;
  box.dataset.state = "busy";
  heading.textContent = "Unsubscribing…";
  text.textContent = "One moment, please.";
  try {
    await unsubscribe(token);
    show("done", "You are unsubscribed", "You will get no more mails from the MyTodoList blog.");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      show(
        "unknown",
        "This unsubscribe link is not valid",
        "It may have been cut short by your mail program, or it comes from an older mail: " +
          "use the link at the bottom of your most recent mail from us.",
      );
    } else {
      show("error", "We could not unsubscribe you", error.message);
    }
  }
}

const token = new URLSearchParams(window.location.search).get("token");
if (!token) {
  show(
    "unknown",
    "This unsubscribe link is incomplete",
    "It has no token. Open the link from the bottom of one of our mails.",
  );
} else {
  retry.addEventListener("click", () => run(token));
  run(token);
}
