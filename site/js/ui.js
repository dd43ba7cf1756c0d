// Small DOM helpers shared by the pages. Text from the API only ever goes in as text.

import { ApiError, NetworkError } from "./api.js";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeZone: "UTC" });

/** An element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

/** A <time> for an RFC 3339 timestamp, shown as a readable date. */
export function timeElement(iso, node = document.createElement("time")) {
  const date = iso ? new Date(iso) : null;
  if (date && !Number.isNaN(date.getTime())) {
    node.dateTime = iso;
    node.textContent = dateFormat.format(date);
  } else {
    node.removeAttribute("datetime");
    node.textContent = "";
  }
  return node;
}

/** Set a live status line's text and kind ("", "error", "success"); "" empties it. */
export function setStatus(node, text, kind = "") {
  node.textContent = text;
  node.classList.toggle("error", kind === "error");
  node.classList.toggle("success", kind === "success");
}

/**
 * What went wrong, in words for a reader (the API's own messages are for developers).
 * `badInput` is what to say when the API refused what the reader typed (a 400).
 */
export function readerMessage(error, badInput = "") {
  if (error instanceof NetworkError) {
    return "We could not reach the blog. Check your connection and try again.";
  }
  if (error instanceof ApiError) {
    if (error.status === 400 && badInput) {
      return badInput;
    }
    if (error.status === 429) {
      return "Many people are asking at once. Please wait a minute and try again.";
    }
  }
  if (error && error.name === "ConfigError") {
    return "This blog is not set up completely yet. Please come back later.";
  }
  return "Something went wrong on our side. Please try again in a few minutes.";
}
